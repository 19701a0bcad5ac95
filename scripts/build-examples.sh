#!/usr/bin/env bash
# Builds every example that is a Lambda function (a main package with a
# template.yaml beside it) as a provided.al2023 bootstrap for linux/amd64 and
# linux/arm64, the way its README and `sam build` do, and checks that the
# other examples (quickstart, binsize/*: programs run on your machine or by
# scripts/binsize.sh, never deployed) compile for linux too. Then lints the
# SAM templates (scripts/lint-templates.sh). Needs only Go (and cfn-lint for
# the lint, see that script). examples/ is a module of its own (its go.mod
# replaces github.com/lambda-mw/mw with this checkout), so go runs there.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

n=0
for main in $(go -C examples list -f '{{if eq .Name "main"}}{{.Dir}}{{end}}' ./...); do
	rel=${main#"$PWD"/}
	name=${rel#examples/}
	for arch in amd64 arm64; do
		if [ -f "$main/template.yaml" ]; then
			dst=$out/${name//\//-}-$arch/bootstrap
			CGO_ENABLED=0 GOOS=linux GOARCH=$arch go -C examples build -tags lambda.norpc -trimpath -o "$dst" "./$name"
			printf '%-40s %-6s bootstrap %5.1f MB\n' "$rel" "$arch" "$(($(wc -c <"$dst") / 100000))e-1"
		else
			CGO_ENABLED=0 GOOS=linux GOARCH=$arch go -C examples build -trimpath -o /dev/null "./$name"
			printf '%-40s %-6s compiles (not a Lambda function)\n' "$rel" "$arch"
		fi
		n=$((n + 1))
	done
done
[ "$n" -gt 0 ] || { echo "build-examples: no example found"; exit 1; }

# A template with no main.go beside it is said so, loudly.
for tpl in examples/*/template.yaml; do
	dir=$(dirname "$tpl")
	[ -f "$dir/main.go" ] || echo "build-examples: WARNING: $dir has a template.yaml but no main.go: nothing built"
done

scripts/lint-templates.sh
