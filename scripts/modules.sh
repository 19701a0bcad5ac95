#!/usr/bin/env bash
# Prints the directory of every Go module in this repository, one a line,
# relative to its root: "." (the library) first, then every directory below
# it that holds a go.mod, except in .git, testdata and directories whose
# names start with "." or "_" (which go ignores too). scripts/test.sh and
# .ci/run loop over this list, so a new module is tested without any edit.
set -euo pipefail
cd "$(dirname "$0")/.."

find . \( -name testdata -o -name node_modules -o -name '[._]?*' \) -prune -o -name go.mod -print |
	sed -e 's|/go.mod$||' | LC_ALL=C sort
