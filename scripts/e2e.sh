#!/usr/bin/env bash
# End-to-end suite: mw and cmd/mw-extension under AWS's Lambda Runtime
# Interface Emulator (RIE). See docs/contributing.md, "The end-to-end suites".
#
# Builds the e2e functions as bootstrap binaries, installs the pinned RIE,
# puts mw-extension into /opt/extensions inside a private mount and pid
# namespace (the host's /opt and /var are never touched; every process dies
# with the namespace), and checks:
#   - the seed's failure: init-time calls (package var, config package) get 400;
#   - mw.Wrap: first invoke succeeds, warm invokes make no extension request,
#     and startup 400s after the INVOKE are retried;
#   - every fetch count counts the answers that carried the item's value
#     (the emulator's stats "served", by name), never requests: a startup 400
#     that mw rightly retried is a request, not a second fetch;
#   - Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY=4): parallel
#     invokes get the values, each item is fetched once;
#   - SHUTDOWN reaches the extension, which exits 0; nothing is left running;
#   - examples/basic and examples/json-credentials, built as they deploy, give
#     their answers (json-credentials against a fake PostgreSQL, and with a
#     stale password it refreshes the secret exactly once and fails cleanly);
#   - AppConfig: mw-extension again, as a second extension in the appconfig
#     dialect (a script in /opt/extensions runs it under the name
#     mw-appconfig): functions/appconfig reads a feature flag and a JSON
#     profile beside a secret, each fetched once, warm invokes make no request
#     to either extension, and a first fetch the AppConfig extension holds
#     for a second is waited for, not retried; examples/appconfig-flags gives
#     its answer.
#   - Cloud Extensions: mw-extension again, as a third extension in the
#     cloudext dialect (the Cloud Extensions runtime on 127.0.0.1:5333, a
#     script in /opt/extensions runs it under the name mw-cloudext):
#     functions/cloudext reads a secret, a parameter and two AppConfig
#     profiles through mw's cloudext source, signing with the function's
#     credentials; its cold invoke meets 503 PROFILE_LOADING, then gets every
#     value, each fetched once; warm invokes make no request; a runtime that
#     holds other credentials refuses the signatures, and the function's
#     error names the failure and its fix, and no value or key;
#     examples/cloud-extensions gives its answer.
#
# Needs root (or an unprivileged user namespace) for unshare/mount. Where
# that is missing it prints one "e2e: skipped" line; under CI=true that is a
# failure unless MW_E2E_ALLOW_SKIP=1.
#
# Environment: MW_E2E_PORT_BASE (default 27830: RIE on it, the extension on
# +1, the fake PostgreSQL on +2, the AppConfig extension on +3; the Cloud
# Extensions runtime is on 5333, where the cloudext source calls it),
# MW_E2E_CACHE (where RIE is installed; default ~/.cache/mw-e2e),
# MW_E2E_KEEP=1 keeps the work directory (logs) for inspection.
set -euo pipefail

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d # what @latest resolved to on 2026-11-24
GENERIC_400='an unexpected error occurred while executing request'
TOKEN=e2e-session-token
ACCESS_KEY_ID=ASIAE2EFUNCTION00001 # the function's credentials (with TOKEN), which Lambda gives the runtime too
SECRET_ACCESS_KEY=e2e-secret-access-key-of-the-function
WRONG_SECRET_KEY=e2e-secret-access-key-the-runtime-holds
CLOUDEXT_PORT=5333 # cloudext.New's default endpoint, http://localhost:5333
SECRET_VALUE=e2e-db-password # e2e/testdata/values.json
PARAM_VALUE=beta,dark-mode
EXAMPLE_API_KEY=e2e-api-key-0123456789 # examples/basic's secret
PG_PASSWORD=e2e-pg-password            # examples/json-credentials' database

# ---------------------------------------------------------------- inside
# Runs as pid 1 of a private pid+mount namespace: $0 --inner <work>.
inner() {
	work=$1
	rie=$work/bin/aws-lambda-rie
	rie_port=${MW_E2E_PORT_BASE:-27830}
	ext_port=$((rie_port + 1))
	pg_port=$((rie_port + 2))
	appconfig_port=$((rie_port + 3))
	results=$work/results
	mkdir -p "$work/logs"

	mount --bind "$work/opt" /opt
	if [ ! -d /var/task ]; then
		# No /var/task on this host: a private tmpfs over /var (in this
		# namespace only) gives a place for the bind mount.
		mount -t tmpfs -o size=1m,mode=755 mw-e2e /var
		mkdir /var/task
	fi
	mount --bind "$work/task" /var/task

	export AWS_SESSION_TOKEN=$TOKEN
	export AWS_ACCESS_KEY_ID=$ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$SECRET_ACCESS_KEY
	export PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=$ext_port
	export AWS_APPCONFIG_EXTENSION_HTTP_PORT=$appconfig_port # the AppConfig scenarios' extension, and mw, read it
	export MW_EXT_VALUES=$work/values.json
	export AWS_LAMBDA_FUNCTION_TIMEOUT=10
	unset AWS_LAMBDA_MAX_CONCURRENCY

	scenario_seed seed-var "a package-level variable"
	scenario_seed seed-config "an imported config package"
	scenario_wrapped
	scenario_slow_start
	scenario_lmi
	scenario_example_basic
	start_fakepg
	scenario_example_json_credentials
	scenario_example_json_credentials_stale
	stop_fakepg
	with_appconfig scenario_appconfig
	with_appconfig scenario_appconfig_first_fetch
	with_appconfig scenario_example_appconfig
	with_cloudext mw-cloudext scenario_cloudext
	with_cloudext mw-cloudext-other-key scenario_cloudext_bad_signature
	with_cloudext mw-cloudext scenario_example_cloudext
}

check() { # check <description> <command...>
	local what=$1; shift
	if "$@"; then
		echo "PASS $what" | tee -a "$results"
	else
		echo "FAIL $what" | tee -a "$results"
	fi
}
eq() { [ "$1" = "$2" ] || { echo "    got: $1"; echo "   want: $2"; return 1; }; }
ge() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] || { echo "    got: $1"; echo "   want: at least $2"; return 1; }; }
unchanged() { # unchanged <count before> <count after>
	[[ $1 =~ ^[0-9]+$ ]] || { echo "    no count to compare: \"$1\""; return 1; }
	eq "$2" "$1"
}

start_rie() { # start_rie <log name> <bootstrap path>
	log=$work/logs/$1.log
	"$rie" --runtime-interface-emulator-address "127.0.0.1:$rie_port" "$2" >"$log" 2>&1 &
	rie_pid=$!
	local i
	for i in $(seq 100); do # 10 s
		if curl -s -o /dev/null -m 1 "http://127.0.0.1:$rie_port/"; then return 0; fi
		kill -0 "$rie_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "RIE did not come up on 127.0.0.1:$rie_port; its log:" >&2
	cat "$log" >&2
	return 1
}

# invoke, stats and jqr never fail: a failed call shows up in the checks.
invoke() {
	curl -s -m 15 -XPOST "http://127.0.0.1:$rie_port/2015-03-31/functions/function/invocations" -d '{}' || true
}

stats() { curl -s -m 5 "http://127.0.0.1:$ext_port/_mw/stats" || true; }
appconfig_stats() { curl -s -m 5 "http://127.0.0.1:$appconfig_port/_mw/stats" || true; }
cloudext_stats() { curl -s -m 5 "http://127.0.0.1:$CLOUDEXT_PORT/_mw/stats" || true; }

# served <stats JSON> <name>...: how many answers carried each item's value,
# as a JSON array such as [1,1]. Every fetch count in this suite is one of
# these: a request the emulator answered "not ready" (or with an error) did
# not fetch anything.
served() {
	local st=$1; shift
	jq -c '[$ARGS.positional[] as $n | .served[$n] // 0]' --args "$@" <<<"$st" 2>/dev/null || true
}

jqr() { jq -r "$@" 2>/dev/null || true; }

# stop_rie sends SIGTERM to RIE, which sends SHUTDOWN to the extension, and
# waits (bounded) for both to go; then checks the extension's last words.
stop_rie() { # stop_rie <scenario>
	kill -TERM "$rie_pid" 2>/dev/null || true
	local i
	for i in $(seq 100); do # 10 s
		kill -0 "$rie_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$rie_pid" 2>/dev/null; then
		kill -KILL "$rie_pid" 2>/dev/null || true
	fi
	wait "$rie_pid" 2>/dev/null || true
	for i in $(seq 50); do # 5 s for the extension's last words
		grep -q '^\[mw-extension\] exit ' "$log" && break
		sleep 0.1
	done
	local ext
	for ext in mw-extension ${appconfig_ext:+mw-appconfig} ${cloudext_ext:+mw-cloudext}; do
		for i in $(seq 50); do
			grep -q "^\[$ext\] exit " "$log" && break
			sleep 0.1
		done
		check "$1: $ext got SHUTDOWN" grep -q "^\[$ext\] shutdown (SHUTDOWN event" "$log"
		check "$1: $ext exited 0" grep -q "^\[$ext\] exit 0$" "$log"
	done
	check "$1: no function or extension process is left" \
		eq "$(pgrep -f "$work/|/opt/extensions/|mw-appconfig|mw-cloudext|/var/task/bootstrap|aws-lambda-rie" | wc -l)" 0
	if grep -q "^FAIL $1:" "$results"; then
		echo "   --- $1: last lines of RIE's log (function and extension included):"
		tail -n 25 "$log" | sed 's/^/   | /'
	fi
}

scenario_seed() { # scenario_seed <function> <how it calls>
	local fn=$1 how=$2 out
	echo "== $fn: the extension called from $how during INIT (no mw)"
	check "$fn: RIE is up" start_rie "$fn" "$work/fn/$fn/bootstrap"
	out=$(invoke)
	echo "   invoke: $out"
	check "$fn: the init-time call got HTTP 400" eq "$(jqr .status <<<"$out")" 400
	check "$fn: with the generic body" eq "$(jqr .body <<<"$out")" "$GENERIC_400"
	check "$fn: the extension counted it as not ready (INIT)" eq "$(stats | jqr .notReady)" 1
	stop_rie "$fn"
}

scenario_wrapped() {
	local out first i ok=0
	echo "== wrapped: the same items through mw.Wrap, classic mode"
	check "wrapped: RIE is up" start_rie wrapped "$work/fn/wrapped/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $(jq -c '.secret="<redacted>"' <<<"$out" 2>/dev/null || echo "$out")"
	check "wrapped: first invoke gets the secret" eq "$(jqr .secret <<<"$out")" "$SECRET_VALUE"
	check "wrapped: first invoke gets the parameter" eq "$(jqr .parameter <<<"$out")" "$PARAM_VALUE"
	first=$(stats)
	echo "   extension after invoke 1: $(jq -c '{total,fetches,notReady,byName,served}' <<<"$first" 2>/dev/null)"
	check "wrapped: first invoke fetched each item once (startup 400s retried: $(jqr .notReady <<<"$first"))" \
		eq "$(served "$first" prod/db /app/flags)" "[1,1]"
	for i in 2 3 4 5; do
		out=$(invoke)
		[ "$(jqr .secret <<<"$out")" = "$SECRET_VALUE" ] && [ "$(jqr .parameter <<<"$out")" = "$PARAM_VALUE" ] && ok=$((ok + 1))
	done
	check "wrapped: warm invokes 2-5 get the values" eq "$ok" 4
	check "wrapped: warm invokes 2-5 made zero extension requests" \
		unchanged "$(jqr .total <<<"$first")" "$(stats | jqr .total)"
	stop_rie wrapped
}

# The race Lambda allows: the function's INVOKE can reach it before the
# extension has seen its own. Here the extension stays not ready 300 ms after
# its first INVOKE; mw's startup retries must ride that out.
scenario_slow_start() {
	local out st
	echo "== slow-start: mw.Wrap while the extension answers 400 for 300 ms after the INVOKE"
	MW_EXT_NOT_READY_FOR=300ms check "slow-start: RIE is up" start_rie slow-start "$work/fn/wrapped/bootstrap"
	out=$(invoke)
	check "slow-start: first invoke still gets the secret" eq "$(jqr .secret <<<"$out")" "$SECRET_VALUE"
	check "slow-start: and the parameter" eq "$(jqr .parameter <<<"$out")" "$PARAM_VALUE"
	st=$(stats)
	echo "   extension after invoke 1: $(jq -c '{total,notReady,byStatus,served}' <<<"$st" 2>/dev/null)"
	check "slow-start: mw retried the startup 400s ($(jqr .notReady <<<"$st") of them)" \
		test "$(jqr .notReady <<<"$st")" -ge 1
	check "slow-start: and fetched each item once" eq "$(served "$st" prod/db /app/flags)" "[1,1]"
	stop_rie slow-start
}

scenario_lmi() {
	local i n pids=() outs
	echo "== lmi: Lambda Managed Instances, AWS_LAMBDA_MAX_CONCURRENCY=4, /var/task/bootstrap"
	cp "$work/fn/wrapped/bootstrap" "$work/task/bootstrap"
	AWS_LAMBDA_MAX_CONCURRENCY=4 check "lmi: RIE is up" start_rie lmi /var/task/bootstrap
	# RIE serves its port while INIT still runs (eagerly, in LMI mode): give
	# the runtime's four loops time to poll, so that no invoke meets "no idle
	# runtimes" and the first round really is four cold invokes at once.
	for i in $(seq 50); do # 5 s
		grep -q 'path=/var/task/bootstrap' "$log" && break
		sleep 0.1
	done
	sleep 0.5
	for round in 1 2; do
		pids=()
		for i in 1 2 3 4; do
			invoke >"$work/logs/lmi.$round.$i.out" &
			pids+=($!)
		done
		for i in "${pids[@]}"; do wait "$i" || true; done
	done
	outs=$(cat "$work/logs/lmi."*.out | jq -s -c '.' 2>/dev/null || echo '[]')
	echo "   8 invokes (2 rounds of 4 in parallel): $(jq -c 'map(.secret="<redacted>")' <<<"$outs" 2>/dev/null || echo "$outs")"
	n=$(jq 2>/dev/null --arg s "$SECRET_VALUE" --arg p "$PARAM_VALUE" '[.[] | select(.secret == $s and .parameter == $p)] | length' <<<"$outs" || true)
	check "lmi: all 8 parallel invokes get the right values" eq "$n" 8
	check "lmi: one process served them all" \
		eq "$(jq '[.[].pid | numbers] | length == 8 and (unique | length) == 1' <<<"$outs" 2>/dev/null)" true
	check "lmi: each item was fetched once for 8 invokes" eq "$(served "$(stats)" prod/db /app/flags)" "[1,1]"
	stop_rie lmi
}

# examples/basic, built as it deploys: its answer, and no request when warm.
scenario_example_basic() {
	local out first
	echo "== example-basic: examples/basic (one parameter, one secret)"
	check "example-basic: RIE is up" start_rie example-basic "$work/fn/example-basic/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $out"
	check "example-basic: the message uses the parameter" eq "$(jqr .message <<<"$out")" "hello, world"
	check "example-basic: the key is masked, not returned" eq "$(jqr .api_key <<<"$out")" "****6789"
	first=$(stats)
	check "example-basic: each item fetched once" \
		eq "$(served "$first" /mw-examples/basic/greeting mw-examples/basic/api-key)" "[1,1]"
	out=$(invoke)
	check "example-basic: warm invoke, same answer" eq "$(jqr .message <<<"$out")" "hello, world"
	check "example-basic: warm invoke made zero extension requests" \
		unchanged "$(jqr .total <<<"$first")" "$(stats | jqr .total)"
	stop_rie example-basic
}

# The fake PostgreSQL of examples/json-credentials, on RIE's port + 2. exec -a
# keeps $work out of its command line (stop_rie counts processes by it).
start_fakepg() {
	FAKEPG_PASSWORD=$PG_PASSWORD bash -c 'exec -a mw-e2e-fakepg "$0" -addr "$1"' \
		"$work/bin/fakepg" "127.0.0.1:$pg_port" >"$work/logs/fakepg.log" 2>&1 &
	fakepg_pid=$!
	local i
	for i in $(seq 50); do
		grep -q 'listening' "$work/logs/fakepg.log" && return 0
		sleep 0.1
	done
	echo "fakepg did not start:" >&2
	cat "$work/logs/fakepg.log" >&2
}

stop_fakepg() {
	kill -TERM "$fakepg_pid" 2>/dev/null || true
	wait "$fakepg_pid" 2>/dev/null || true
	echo "   $(tail -n 1 "$work/logs/fakepg.log")"
}

scenario_example_json_credentials() {
	local out first
	echo "== example-json: examples/json-credentials (credentials JSON, pgx login to a fake PostgreSQL)"
	DB_SSLMODE=disable check "example-json: RIE is up" start_rie example-json "$work/fn/example-json-credentials/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $out"
	check "example-json: cold invoke logs in with the decoded credentials" \
		eq "$(jq -c '[.user, .database, .logins, .refreshed]' <<<"$out" 2>/dev/null)" '["app","orders",1,false]'
	first=$(stats)
	check "example-json: the secret was fetched once" eq "$(served "$first" mw-examples/json-credentials/db)" "[1]"
	out=$(invoke)
	check "example-json: warm invoke reuses the session" \
		eq "$(jq -c '[.reused_session, .logins]' <<<"$out" 2>/dev/null)" '[true,0]'
	check "example-json: warm invoke made zero extension requests" \
		unchanged "$(jqr .total <<<"$first")" "$(stats | jqr .total)"
	stop_rie example-json
}

# The secret holds a password the database refuses: the handler refreshes the
# secret exactly once, logs in once more, and fails without naming it.
scenario_example_json_credentials_stale() {
	local out
	echo "== example-json-stale: the secret's password is refused"
	MW_EXT_VALUES=$work/values-stale.json DB_SSLMODE=disable \
		check "example-json-stale: RIE is up" start_rie example-json-stale "$work/fn/example-json-credentials/bootstrap"
	out=$(invoke)
	echo "   invoke: $out"
	check "example-json-stale: the invoke fails as an authentication failure" \
		grep -q 'authentication failed' <<<"$(jqr .errorMessage <<<"$out")"
	check "example-json-stale: the error names no password" \
		test -n "$out" -a "${out/stale-pg-password/}" = "$out" -a "${out/$PG_PASSWORD/}" = "$out"
	check "example-json-stale: one refresh: the secret was fetched twice" \
		eq "$(served "$(stats)" mw-examples/json-credentials/db)" "[2]"
	stop_rie example-json-stale
}

# with_appconfig <scenario>: runs it with the AppConfig extension as a second
# extension: a script in /opt/extensions that starts mw-extension in the
# appconfig dialect under a name of its own (both extensions see the same
# environment; each reads its own port variable).
with_appconfig() {
	cp "$work/bin/mw-appconfig" "$work/opt/extensions/mw-appconfig"
	appconfig_ext=1
	"$@"
	appconfig_ext=
	rm -f "$work/opt/extensions/mw-appconfig"
}

scenario_appconfig() {
	local out first ok=0 i
	echo "== appconfig: a feature flag and a JSON profile from the AppConfig extension, a secret from the other"
	check "appconfig: RIE is up" start_rie appconfig "$work/fn/appconfig/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $(jq -c '.secret="<redacted>"' <<<"$out" 2>/dev/null || echo "$out")"
	check "appconfig: the flag is on, with its attributes" \
		eq "$(jq -c '[.checkout, .limit, .regions, .dark_mode]' <<<"$out" 2>/dev/null)" '[true,5,["eu-west-1","us-east-1"],false]'
	check "appconfig: the JSON profile is at its latest version" eq "$(jqr .batch <<<"$out")" 25
	check "appconfig: the secret came from the Parameters and Secrets extension" eq "$(jqr .secret <<<"$out")" "$SECRET_VALUE"
	first=$(appconfig_stats)
	echo "   AppConfig extension after invoke 1: $(jq -c '{total,fetches,notReady,byStatus,served}' <<<"$first" 2>/dev/null)"
	check "appconfig: each profile fetched once" eq "$(served "$first" mw-e2e/prod/flags mw-e2e/prod/settings)" "[1,1]"
	check "appconfig: and the secret once" eq "$(served "$(stats)" prod/db)" "[1]"
	for i in 2 3 4; do
		out=$(invoke)
		[ "$(jqr .checkout <<<"$out")" = true ] && [ "$(jqr .batch <<<"$out")" = 25 ] && ok=$((ok + 1))
	done
	check "appconfig: warm invokes 2-4 get the values" eq "$ok" 3
	check "appconfig: warm invokes made zero AppConfig extension requests" \
		unchanged "$(jqr .total <<<"$first")" "$(appconfig_stats | jqr .total)"
	stop_rie appconfig
}

# The AppConfig extension fetches a profile it has not cached while the
# request waits ("Understanding how the AWS AppConfig Agent Lambda extension
# works"): here it holds every request for a second after registering. mw
# waits for the answer and sends nothing more; the other extension's startup
# 400s for that second after the INVOKE are retried as ever.
scenario_appconfig_first_fetch() {
	local out st
	echo "== appconfig-first-fetch: the AppConfig extension holds requests for 1 s (its first fetch)"
	MW_EXT_NOT_READY_FOR=1s check "appconfig-first-fetch: RIE is up" start_rie appconfig-first-fetch "$work/fn/appconfig/bootstrap"
	out=$(invoke)
	check "appconfig-first-fetch: first invoke still gets the flag and the profile" \
		eq "$(jq -c '[.checkout, .batch]' <<<"$out" 2>/dev/null)" '[true,25]'
	st=$(appconfig_stats)
	echo "   AppConfig extension after invoke 1: $(jq -c '{total,notReady,byStatus,served}' <<<"$st" 2>/dev/null)"
	check "appconfig-first-fetch: requests were held ($(jqr .notReady <<<"$st") of them)" \
		test "$(jqr .notReady <<<"$st")" -ge 1
	check "appconfig-first-fetch: one request per profile, none retried" \
		eq "$(jq -c '[.total, .served["mw-e2e/prod/flags"], .served["mw-e2e/prod/settings"]]' <<<"$st" 2>/dev/null)" '[2,1,1]'
	stop_rie appconfig-first-fetch
}

# examples/appconfig-flags, built as it deploys.
scenario_example_appconfig() {
	local out
	echo "== example-appconfig: examples/appconfig-flags (a feature flag, a JSON profile)"
	check "example-appconfig: RIE is up" start_rie example-appconfig "$work/fn/example-appconfig-flags/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $out"
	check "example-appconfig: an empty basket gets the new checkout" \
		eq "$(jq -c '[.checkout, .message, .batches, .currency]' <<<"$out" 2>/dev/null)" '["new","Try the new checkout",0,"EUR"]'
	check "example-appconfig: each profile fetched once" \
		eq "$(served "$(appconfig_stats)" mw-example-appconfig/prod/flags mw-example-appconfig/prod/settings)" "[1,1]"
	stop_rie example-appconfig
}

# with_cloudext <script> <scenario>: runs it with the Cloud Extensions runtime
# as a third extension: $work/bin/<script>, which starts mw-extension in the
# cloudext dialect under the name mw-cloudext.
with_cloudext() {
	cp "$work/bin/$1" "$work/opt/extensions/mw-cloudext"
	cloudext_ext=1
	"${@:2}"
	cloudext_ext=
	rm -f "$work/opt/extensions/mw-cloudext"
}

# The runtime answers 503 PROFILE_LOADING until its first INVOKE event, and
# for 200 ms after it (then EXTENSION_LOADING for 200 ms: -not-ready-for
# 400ms), so that the cold invoke surely meets it: mw polls the runtime and
# fetches each item once it serves.
scenario_cloudext() {
	local out first ok=0 i
	echo "== cloudext: a secret, a parameter and two AppConfig profiles through Cloud Extensions"
	check "cloudext: RIE is up" start_rie cloudext "$work/fn/cloudext/bootstrap"
	out=$(invoke)
	echo "   invoke 1: $(jq -c '.secret="<redacted>"' <<<"$out" 2>/dev/null || echo "$out")"
	check "cloudext: the cold invoke gets the secret" eq "$(jqr .secret <<<"$out")" "$SECRET_VALUE"
	check "cloudext: and the parameter" eq "$(jqr .parameter <<<"$out")" "$PARAM_VALUE"
	check "cloudext: and the flag, with its attributes, and the JSON profile" \
		eq "$(jq -c '[.checkout, .limit, .regions, .batch]' <<<"$out" 2>/dev/null)" '[true,5,["eu-west-1","us-east-1"],25]'
	first=$(cloudext_stats)
	echo "   runtime after invoke 1: $(jq -c '{requests,unavailable,served,authRefused}' <<<"$first" 2>/dev/null)"
	check "cloudext: the cold invoke met 503 PROFILE_LOADING ($(jqr '.unavailable.PROFILE_LOADING' <<<"$first") times) before the values" \
		ge "$(jqr '.unavailable.PROFILE_LOADING' <<<"$first")" 1
	check "cloudext: each item was fetched once" \
		eq "$(served "$first" prod/db /app/flags mw-e2e/prod/flags mw-e2e/prod/settings)" "[1,1,1,1]"
	check "cloudext: every request was signed with the function's credentials" eq "$(jqr .authRefused <<<"$first")" 0
	for i in 2 3 4; do
		out=$(invoke)
		[ "$(jqr .secret <<<"$out")" = "$SECRET_VALUE" ] && [ "$(jqr .batch <<<"$out")" = 25 ] && ok=$((ok + 1))
	done
	check "cloudext: warm invokes 2-4 get the values" eq "$ok" 3
	check "cloudext: warm invokes made zero requests to the runtime" \
		unchanged "$(jqr .requests <<<"$first")" "$(cloudext_stats | jqr .requests)"
	stop_rie cloudext
}

# The runtime holds another secret key than the function signs with: every
# request is refused (403 SignatureDoesNotMatch, AccessDeniedException
# SIGNATURE_MISMATCH), and the invoke fails saying so and what to check,
# with no value and no key in the error.
scenario_cloudext_bad_signature() {
	local out msg st
	echo "== cloudext-bad-signature: the runtime checks signatures against other credentials"
	check "cloudext-bad-signature: RIE is up" start_rie cloudext-bad-signature "$work/fn/cloudext/bootstrap"
	out=$(invoke)
	msg=$(jqr .errorMessage <<<"$out")
	echo "   invoke: $(jqr .errorType <<<"$out"): $(head -n 3 <<<"$msg")"
	check "cloudext-bad-signature: the invoke fails before the handler runs" eq "$(jqr .errorType <<<"$out")" PrefetchError
	check "cloudext-bad-signature: the error names the refused signature" \
		grep -q 'secret "prod/db": .*SignatureDoesNotMatch' <<<"$msg"
	check "cloudext-bad-signature: and the fix" grep -q 'fix: the runtime refused the request.s signature.*check the secret key' <<<"$msg"
	check "cloudext-bad-signature: the error holds no value, key or token" \
		test -n "$out" -a "${out/$SECRET_VALUE/}" = "$out" -a "${out/$SECRET_ACCESS_KEY/}" = "$out" \
		-a "${out/$WRONG_SECRET_KEY/}" = "$out" -a "${out/$TOKEN/}" = "$out"
	st=$(cloudext_stats)
	echo "   runtime: $(jq -c '{requests,unavailable,authRefused,served}' <<<"$st" 2>/dev/null)"
	check "cloudext-bad-signature: the runtime refused every request it checked, and served nothing" \
		eq "$(jq -c '[.authRefused > 0, .operations, .served]' <<<"$st" 2>/dev/null)" '[true,{},{}]'
	stop_rie cloudext-bad-signature
}

# examples/cloud-extensions, built as it deploys: a secret, two parameters, a
# flag profile, and a flag evaluated with the event's context (GetFlag).
scenario_example_cloudext() {
	local out st
	echo "== example-cloudext: examples/cloud-extensions"
	check "example-cloudext: RIE is up" start_rie example-cloudext "$work/fn/example-cloud-extensions/bootstrap"
	out=$(curl -s -m 15 -XPOST "http://127.0.0.1:$rie_port/2015-03-31/functions/function/invocations" -d '{"country":"UK","tier":"gold"}' || true)
	echo "   invoke 1: $out"
	check "example-cloudext: its answer, with no secret" \
		eq "$out" '{"db_user":"app","api_url":"https://api.example.com","page_size":"25","checkout":true,"variant":""}'
	st=$(cloudext_stats)
	check "example-cloudext: each item fetched once" eq "$(served "$st" mw-examples/cloud-extensions/db \
		/mw-examples/cloud-extensions/api-url /mw-examples/cloud-extensions/page-size mw-example-cloud-extensions/prod/flags)" "[1,1,1,1]"
	check "example-cloudext: and the flag evaluated once, with the event's context" eq "$(jqr .operations.GetFlag <<<"$st")" 1
	stop_rie example-cloudext
}

# ---------------------------------------------------------------- outside
# install_tools tool:debian-package...: installs the Debian packages of the
# tools that are missing (as root, with apt-get), or fails saying which.
install_tools() {
	local missing=() pkgs=() spec
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null || { missing+=("${spec%%:*}"); pkgs+=("${spec#*:}"); }
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "e2e: installing ${pkgs[*]} (for ${missing[*]})"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
	fi
	for spec in "$@"; do
		command -v "${spec%%:*}" >/dev/null || { echo "e2e: FAIL: ${spec%%:*} is not installed (Debian package ${spec#*:})"; exit 1; }
	done
}

outer() {
	cd "$(dirname "$0")/.."
	local start=$SECONDS
	install_tools curl:curl jq:jq unshare:util-linux mount:mount pgrep:procps timeout:coreutils
	command -v go >/dev/null || { echo "e2e: FAIL: go is not installed"; exit 1; }
	local why
	if ! why=$(unshare -m -p -f --mount-proc --propagation private true 2>&1); then
		echo "e2e: skipped: mount namespaces unavailable (need root and unshare): ${why:-unshare failed}"
		if [ "${CI:-}" = true ] && [ "${MW_E2E_ALLOW_SKIP:-}" != 1 ]; then
			echo "e2e: CI=true: a skipped e2e suite fails CI (set MW_E2E_ALLOW_SKIP=1 to allow it)"
			exit 1
		fi
		exit 0
	fi

	local port_base=${MW_E2E_PORT_BASE:-27830} p
	for p in "$port_base" "$((port_base + 1))" "$((port_base + 2))" "$((port_base + 3))"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "e2e: FAIL: port 127.0.0.1:$p is in use; set MW_E2E_PORT_BASE to the first of 4 free ports"
			exit 1
		fi
	done
	if (exec 3<>"/dev/tcp/127.0.0.1/$CLOUDEXT_PORT") 2>/dev/null; then
		echo "e2e: FAIL: port 127.0.0.1:$CLOUDEXT_PORT is in use: the Cloud Extensions scenarios serve the runtime there, where the cloudext source calls it"
		exit 1
	fi

	work=$(mktemp -d "${TMPDIR:-/tmp}/mw-e2e.XXXXXX")
	ns_pid=
	cleanup() {
		local rc=$?
		if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
			kill -KILL "$ns_pid" 2>/dev/null || true # --kill-child takes the namespace down with it
			wait "$ns_pid" 2>/dev/null || true
		fi
		if [ "${MW_E2E_KEEP:-}" = 1 ]; then echo "e2e: logs kept in $work"; else rm -rf "$work"; fi
		exit "$rc"
	}
	trap cleanup EXIT
	trap 'echo "e2e: interrupted"; exit 130' INT
	trap 'echo "e2e: terminated"; exit 143' TERM

	echo "== build"
	# cmd/, e2e/ and examples/ are modules of their own (go -C runs go there).
	local cache=${MW_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mw-e2e}
	mkdir -p "$work/bin" "$work/opt/extensions" "$work/task" "$work/fn" "$cache/rie-$RIE_VERSION"
	if [ ! -x "$cache/rie-$RIE_VERSION/aws-lambda-rie" ]; then
		GOBIN=$cache/rie-$RIE_VERSION go install "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION"
	fi
	cp "$cache/rie-$RIE_VERSION/aws-lambda-rie" "$work/bin/"
	echo "   RIE $RIE_VERSION"
	CGO_ENABLED=0 go -C cmd build -o "$work/opt/extensions/mw-extension" ./mw-extension
	local fn
	for fn in seed-var seed-config wrapped appconfig cloudext; do
		CGO_ENABLED=0 go -C e2e build -tags lambda.norpc -o "$work/fn/$fn/bootstrap" "./functions/$fn"
	done
	for fn in basic json-credentials appconfig-flags cloud-extensions; do
		CGO_ENABLED=0 go -C examples build -tags lambda.norpc -trimpath -o "$work/fn/example-$fn/bootstrap" "./$fn"
	done
	CGO_ENABLED=0 go -C e2e build -o "$work/bin/fakepg" ./internal/fakepg
	# The AppConfig extension: the same emulator, in the appconfig dialect,
	# under a name of its own (what the AppConfig scenarios put into
	# /opt/extensions beside it).
	printf '#!/bin/bash\nexec -a mw-appconfig /opt/extensions/mw-extension -dialect appconfig\n' >"$work/bin/mw-appconfig"
	# The Cloud Extensions runtime: the same emulator, in the cloudext
	# dialect, checking signatures against the function's credentials (the
	# environment's, as the runtime's are), or against another secret key.
	printf '#!/bin/bash\nexec -a mw-cloudext /opt/extensions/mw-extension -dialect cloudext -not-ready-for 400ms\n' >"$work/bin/mw-cloudext"
	printf '#!/bin/bash\nexec -a mw-cloudext /opt/extensions/mw-extension -dialect cloudext -secret-access-key %s\n' \
		"$WRONG_SECRET_KEY" >"$work/bin/mw-cloudext-other-key"
	chmod +x "$work/bin/mw-appconfig" "$work/bin/mw-cloudext" "$work/bin/mw-cloudext-other-key"
	# The credentials point at the fake PostgreSQL's port; values-stale.json
	# holds a password it refuses.
	local db_secret='.secrets["mw-examples/json-credentials/db"].string'
	jq --argjson port "$((port_base + 2))" "$db_secret |= (fromjson | .port = \$port | tojson)" \
		e2e/testdata/values.json >"$work/values.json"
	jq "$db_secret |= (fromjson | .password = \"stale-pg-password\" | tojson)" \
		"$work/values.json" >"$work/values-stale.json"
	: >"$work/results"
	# Under Lambda Managed Instances RIE runs the function and the extension
	# as another user: let it read and run what it needs.
	chmod -R a+rX "$work"

	# --kill-child: if this script dies, the namespace's init dies, and the
	# kernel kills everything else in the pid namespace.
	unshare -m -p -f --mount-proc --propagation private --kill-child \
		timeout -s KILL 150 bash "$0" --inner "$work" &
	ns_pid=$!
	local inner_rc=0
	wait "$ns_pid" || inner_rc=$?
	ns_pid=

	echo "== after the suite"
	check_outer() {
		if "${@:2}"; then echo "PASS $1" | tee -a "$work/results"; else echo "FAIL $1" | tee -a "$work/results"; fi
	}
	check_outer "the namespace ended cleanly (exit $inner_rc)" test "$inner_rc" = 0
	check_outer "no aws-lambda-rie, mw-extension, mw-appconfig, mw-cloudext or bootstrap process is left on the host" \
		test -z "$(pgrep -f "$work/|aws-lambda-rie|/opt/extensions/mw-extension|mw-appconfig|mw-cloudext|/var/task/bootstrap" || true)"

	local passed failed
	passed=$(grep -c '^PASS ' "$work/results" || true)
	failed=$(grep -c '^FAIL ' "$work/results" || true)
	echo "e2e: $((SECONDS - start)) s"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

if [ "${1:-}" = --inner ]; then
	inner "$2"
else
	outer
fi
