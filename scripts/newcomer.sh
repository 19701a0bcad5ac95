#!/usr/bin/env bash
# The newcomer's path, as CI runs it: the README followed from a temporary
# directory, with no knowledge of the repository beyond what the README and
# the guides it links to say.
#
#   1. install: a new module beside "the clone" (this checkout), with the
#      README's commands (go mod edit -require and -replace);
#   2. the README's function and its unit test, written from the README's
#      code blocks: each is marked with an HTML comment, <!-- newcomer: NAME -->,
#      on the line before it, so that the README cannot drift from what is
#      tested;
#   3. the README's build commands: go mod tidy, go test, and a linux/arm64
#      bootstrap built with -tags lambda.norpc (checked to be an arm64 ELF);
#   4. the unit test's failure path (a missing secret) must take milliseconds:
#      under a second, where mw's startup window alone would be 2 s;
#   5. the function under AWS's Runtime Interface Emulator with mw's
#      emulator, as docs/running-locally.md says (mw-local as a tool of the
#      module, its values file, its command), and its response;
#   6. with MW_JAEGER=1 (CI sets it): the function traced as
#      docs/telemetry.md says, run with docs/running-locally.md's command, and
#      its trace read back from Jaeger by e2e/jaeger's TestNewcomerTrace,
#      which reuses the Jaeger binary e2e/jaeger's tests build and cache.
#
# Fails loudly at the first step that does not work as written.
# MW_NEWCOMER_KEEP=1 keeps the temporary directory. Needs Go and the module
# proxy (and, for step 6, Jaeger built once: minutes).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d)
cleanup() {
	if [ "${MW_NEWCOMER_KEEP:-}" = 1 ]; then
		echo "newcomer: kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

start=$SECONDS
last=$SECONDS
step() {
	printf 'newcomer: %s (at %d s)\n' "$*" "$((SECONDS - start))"
	last=$SECONDS
}
done_step() { printf 'newcomer:   ok, %d s\n' "$((SECONDS - last))"; }
fail() {
	echo "newcomer: FAIL: $*" >&2
	exit 1
}

# block DOC NAME prints the fenced code block that follows the line
# "<!-- newcomer: NAME -->" in DOC (relative to the repository).
block() {
	local out
	out=$(awk -v marker="<!-- newcomer: $2 -->" '
		$0 == marker { armed = 1; next }
		armed && !inside && /^```/ { inside = 1; next }
		inside && /^```/ { found = 1; exit }
		inside { print; next }
		armed && NF { exit }
		END { if (!found) exit 1 }
	' "$repo/$1") || fail "$1 has no code block after <!-- newcomer: $2 -->"
	[ -n "$out" ] || fail "$1: the code block after <!-- newcomer: $2 --> is empty"
	printf '%s\n' "$out"
}

# run DOC NAME DIR runs the shell block NAME of DOC in DIR, echoing it.
run() {
	local script
	script=$(block "$1" "$2")
	echo "$script" | sed 's/^/    $ /'
	(cd "$3" && bash -euo pipefail -c "$script") || fail "$1, block \"$2\", failed (above)"
}

step "install, as README.md says: a new module beside the clone (mw/, this checkout)"
ln -s "$repo" "$work/mw"
run README.md install "$work"
fn=$work/orders
[ -f "$fn/go.mod" ] || fail "README.md's install commands made no module in orders/"
done_step

step "the README's function and its unit test"
for f in main.go handler.go handler_test.go; do
	block README.md "$f" >"$fn/$f"
	echo "    $f: $(wc -l <"$fn/$f") lines"
done
unformatted=$(gofmt -l "$fn")
[ -z "$unformatted" ] || fail "README.md's Go code is not gofmt-formatted: $unformatted"
done_step

step "tidy, test, and build for linux/arm64, as README.md says"
run README.md build "$fn"
[ -f "$fn/bootstrap" ] || fail "README.md's build commands made no bootstrap"
# An ELF file (7f 45 4c 46) for aarch64 (e_machine 0xb7, little-endian, at byte 18).
elf=$(od -An -tx1 -N4 "$fn/bootstrap" | tr -d ' \n')
machine=$(od -An -tx1 -j18 -N2 "$fn/bootstrap" | tr -d ' \n')
[ "$elf" = 7f454c46 ] && [ "$machine" = b700 ] || fail "bootstrap is not a linux/arm64 executable (magic $elf, machine $machine)"
echo "    bootstrap: an arm64 ELF executable, $(($(wc -c <"$fn/bootstrap") / 1000)) kB"
done_step

step "the unit test's failure path runs in milliseconds"
out=$(cd "$fn" && go test -count=1 -v -run '^TestMissingSecret$' .) || fail "TestMissingSecret: $out"
elapsed=$(printf '%s\n' "$out" | sed -n 's/^--- PASS: TestMissingSecret (\([0-9.]*\)s)$/\1/p')
[ -n "$elapsed" ] || fail "TestMissingSecret did not pass:
$out"
# mw's startup window is 2 s: a test that waited it out would take 2 s or more.
awk -v s="$elapsed" 'BEGIN { exit !(s < 1) }' || fail "TestMissingSecret took ${elapsed}s: a missing item should fail at once against mwtest's fake"
echo "    TestMissingSecret: ${elapsed}s"
done_step

step "run it locally, as docs/running-locally.md says"
run docs/running-locally.md tool "$fn"
block docs/running-locally.md values.json >"$fn/values.json"
script=$(block docs/running-locally.md run)
echo "$script" | sed 's/^/    $ /'
response=$(cd "$fn" && bash -euo pipefail -c "$script" 2>"$work/mw-local.err") || {
	cat "$work/mw-local.err" >&2
	fail "docs/running-locally.md's command failed (its standard error above)"
}
want='{"id":"42","table":"orders-local"}'
[ "$response" = "$want" ] || {
	cat "$work/mw-local.err" >&2
	fail "the function answered $response, want $want"
}
echo "    response: $response"
done_step

if [ "${MW_JAEGER:-}" != 1 ]; then
	echo "newcomer: its trace in Jaeger: skipped (MW_JAEGER=1 runs it; the first run builds Jaeger, minutes)"
else
	step "trace it, as docs/telemetry.md says"
	run docs/telemetry.md "traced deps" "$fn"
	block docs/telemetry.md "main.go (traced)" >"$fn/main.go"
	[ -z "$(gofmt -l "$fn/main.go")" ] || fail "docs/telemetry.md's main.go is not gofmt-formatted"
	(cd "$fn" && go mod tidy && go vet ./...) || fail "the traced function does not build"
	done_step

	step "its trace from Jaeger, with docs/running-locally.md's command (e2e/jaeger: TestNewcomerTrace)"
	block docs/running-locally.md "run (traced)" >"$work/run-traced.sh"
	sed 's/^/    $ /' "$work/run-traced.sh"
	out=$(MW_NEWCOMER_DIR=$fn MW_NEWCOMER_RUN=$work/run-traced.sh \
		MW_NEWCOMER_ITEMS=parameter:/orders/table,secret:orders/db \
		MW_NEWCOMER_CANARIES=orders-local,local-password \
		go -C "$repo/e2e/jaeger" test -count=1 -timeout 30m -run '^TestNewcomerTrace$' -v . 2>&1) || {
		printf '%s\n' "$out" >&2
		fail "TestNewcomerTrace (above)"
	}
	printf '%s\n' "$out" | grep -q -- '^--- PASS: TestNewcomerTrace' || {
		printf '%s\n' "$out" >&2
		fail "TestNewcomerTrace did not pass (skipped?)"
	}
	printf '%s\n' "$out" | sed -n 's/^ *newcomer_test.go:[0-9]*: /    /p'
	done_step
fi

echo "newcomer: passed in $((SECONDS - start)) s"
