#!/usr/bin/env bash
# The size mw adds to a Lambda bootstrap (BENCHMARKS.md, "Binary size").
#
# Builds examples/binsize/without (lambda.Start(handler)) and
# examples/binsize/with (lambda.Start(mw.Wrap(handler, mw.WithSecrets("x"))),
# the same handler otherwise) the way a provided.al2023 bootstrap is built,
# and prints both sizes and the difference in bytes, MB (10^6) and MiB.
# Needs only Go. examples/ is a module of its own: go runs there (go -C).
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

build() {
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
		go -C examples build -tags lambda.norpc -ldflags='-s -w' -o "$out/$1" "./binsize/$1"
	wc -c <"$out/$1" | tr -d ' '
}

without=$(build without)
with=$(build with)
diff=$((with - without))

go version
echo "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags lambda.norpc -ldflags='-s -w'"
awk -v w="$without" -v m="$with" -v d="$diff" 'BEGIN {
	printf "%-22s %10d bytes  %6.2f MB  %6.2f MiB\n", "bootstrap without mw", w, w/1e6, w/1048576
	printf "%-22s %10d bytes  %6.2f MB  %6.2f MiB\n", "bootstrap with mw", m, m/1e6, m/1048576
	printf "%-22s %10d bytes  %6.2f MB  %6.2f MiB\n", "added by mw", d, d/1e6, d/1048576
}'
