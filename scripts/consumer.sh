#!/usr/bin/env bash
# What a module that imports mw gets (BENCHMARKS.md, "What a module that
# imports mw gets"). In throwaway modules that use this checkout through
# replace github.com/lambda-mw/mw => <here>, after go mod tidy:
#
#   1. a module that imports only mw: prints its `go list -m all` and its
#      size, and fails if any heavy module is in it (pgx, gRPC, protobuf,
#      genproto, the OTel SDK, the OTLP exporters, opentelemetry-go-contrib
#      (otellambda, the Lambda detector), golang.org/x/net);
#   2. fails unless that list is exactly mw plus the list of a module that
#      imports only mw's own dependencies (aws-lambda-go, backoff/v4, the
#      OTel API) at the versions mw requires: mw adds no module and raises
#      no version beyond them;
#   3. a module pinned to older versions (pgx v5.5.0, golang.org/x/net
#      v0.30.0) keeps them once it imports mw.
#
# Needs Go and the module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

heavy='^(github\.com/jackc/|google\.golang\.org/(grpc|protobuf|genproto)|github\.com/grpc-ecosystem/|go\.opentelemetry\.io/(otel/sdk|otel/exporters/|proto/|contrib/)|golang\.org/x/net)( |$)'
deps=(github.com/aws/aws-lambda-go github.com/cenkalti/backoff/v4 go.opentelemetry.io/otel go.opentelemetry.io/otel/trace go.opentelemetry.io/otel/metric)

# consumer <dir> <go.mod requires...> -- <imports...>: a module whose main
# package imports the given packages, tidied.
consumer() {
	local dir=$work/$1; shift
	mkdir -p "$dir"
	{
		printf 'module example.com/consumer\n\ngo 1.26.0\n\n'
		while [ "$1" != -- ]; do printf 'require %s\n' "$1"; shift; done
		printf 'replace github.com/lambda-mw/mw => %s\n' "$root"
	} >"$dir/go.mod"
	shift
	{
		printf 'package main\n\nimport (\n'
		local p
		for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
		printf ')\n\nfunc main() {}\n'
	} >"$dir/main.go"
	(cd "$dir" && go mod tidy 2>"$dir/tidy.log") || { cat "$dir/tidy.log"; exit 1; }
}

fail=0

# 1. A module that imports only mw.
consumer lean -- github.com/lambda-mw/mw
(cd "$work/lean" && go list -m all) | sed 1d >"$work/lean.txt" # without the consumer itself
echo "a module that imports only mw: $(($(wc -l <"$work/lean.txt") + 1)) modules in go list -m all (itself included):"
sed 's/^/  /' "$work/lean.txt"
if grep -E "$heavy" "$work/lean.txt"; then
	echo "consumer: FAIL: the module graph of a module that imports mw holds the modules above"
	fail=1
fi

# 2. The same as a module that imports only mw's dependencies.
reqs=()
for d in "${deps[@]}"; do reqs+=("$(go list -m -f '{{.Path}} {{.Version}}' "$d")"); done
consumer base "${reqs[@]}" -- github.com/aws/aws-lambda-go/lambda github.com/cenkalti/backoff/v4 \
	go.opentelemetry.io/otel go.opentelemetry.io/otel/trace go.opentelemetry.io/otel/metric
(cd "$work/base" && go list -m all) | sed 1d >"$work/base.txt"
echo "a module that imports only aws-lambda-go, backoff/v4 and the OTel API at mw's versions: $(($(wc -l <"$work/base.txt") + 1)) modules"
if ! diff <(grep -v '^github.com/lambda-mw/mw ' "$work/lean.txt") "$work/base.txt" >"$work/diff.txt"; then
	echo "consumer: FAIL: mw adds modules or versions beyond its own dependencies' (< with mw, > without):"
	cat "$work/diff.txt"
	fail=1
fi

# 3. Older versions stay.
consumer pinned 'github.com/jackc/pgx/v5 v5.5.0' 'golang.org/x/net v0.30.0' -- \
	github.com/lambda-mw/mw github.com/jackc/pgx/v5 golang.org/x/net/http2
for want in 'github.com/jackc/pgx/v5 v5.5.0' 'golang.org/x/net v0.30.0'; do
	got=$(cd "$work/pinned" && go list -m "${want% *}")
	if [ "$got" = "$want" ]; then
		echo "a module pinned to ${want/ /@} keeps it after importing mw and go mod tidy"
	else
		echo "consumer: FAIL: a module pinned to ${want/ /@} has $got after importing mw and go mod tidy"
		fail=1
	fi
done
exit "$fail"
