#!/usr/bin/env bash
# The size mw adds to a Lambda bootstrap (BENCHMARKS.md, "Binary size").
#
# Builds examples/binsize/without (lambda.Start(handler)),
# examples/binsize/with (lambda.Start(mw.Wrap(handler, mw.WithSecrets("x"))),
# the same handler otherwise) and examples/binsize/sdk (the same with
# mw.WithSource(awssdk.New(cfg)) and config.LoadDefaultConfig) the way a
# provided.al2023 bootstrap is built, and prints their sizes and what mw and
# its SDK source add, in bytes, MB (10^6) and MiB.
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
sdk=$(build sdk)

go version
echo "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -tags lambda.norpc -ldflags='-s -w'"
awk -v w="$without" -v m="$with" -v s="$sdk" 'BEGIN {
	row("bootstrap without mw", w)
	row("bootstrap with mw", m)
	row("... and the SDK source", s)
	row("added by mw", m - w)
	row("added by the SDK source", s - m)
	row("mw + SDK source", s - w)
}
function row(what, n) { printf "%-24s %10d bytes  %6.2f MB  %6.2f MiB\n", what, n, n/1e6, n/1048576 }'
