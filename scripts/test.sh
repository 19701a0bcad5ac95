#!/usr/bin/env bash
# The tests (README: Two commands): go test -race ./... in every module of
# the repository (scripts/modules.sh finds them: the library, examples, e2e,
# test, and any module added later). Arguments go to go test, e.g.
#
#	scripts/test.sh -count=1 -run TestSecret
#
# Every module is tested even after a failure; the exit status is non-zero
# if any failed. GOTOOLCHAIN=go1.N.M scripts/test.sh tests under that Go.
set -euo pipefail
cd "$(dirname "$0")/.."

failed=()
for m in $(scripts/modules.sh); do
	echo "== $m: go test -race${*:+ $*} ./..."
	(cd "$m" && go test -race "$@" ./...) || failed+=("$m")
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "test: FAIL in ${failed[*]}"
	exit 1
fi
