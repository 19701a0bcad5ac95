#!/usr/bin/env bash
# Every link of the documentation resolves (tools/mdlinks): a relative link
# names a file or directory of the repository, and its #fragment a heading
# of the Markdown file it names; any other link is https. README.md and
# docs/ may link outside the repository only to the hosts below (AWS's and
# Go's documentation, and that of the tools the guides use); the other
# Markdown files of the repository are checked for their relative links and
# https. Needs only Go; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

hosts=docs.aws.amazon.com,aws.amazon.com,github.com/aws/,go.dev,pkg.go.dev,opentelemetry.io,www.jaegertracing.io

go -C tools run ./mdlinks -root "$PWD" -hosts "$hosts" README.md docs
others=$(git ls-files '*.md' | grep -v -E '^(README\.md|docs/)' || true)
if [ -n "$others" ]; then
	# shellcheck disable=SC2086 # one path a word
	go -C tools run ./mdlinks -root "$PWD" $others
fi
