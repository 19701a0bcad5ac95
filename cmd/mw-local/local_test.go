package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// These tests run real functions (e2e/functions, a module of their own)
// under the pinned RIE, installed once into the cache every run of
// mw-local uses. Where RIE cannot run or be installed they skip, saying
// why; under CI=true they fail instead.

const (
	e2eDir     = "../../e2e"
	e2eValues  = e2eDir + "/testdata/values.json"
	e2eSecret  = "e2e-db-password" // prod/db in e2eValues
	e2eFlags   = "beta,dark-mode"  // /app/flags in e2eValues
	tokenCanry = "canary-session-token-5be1"
)

var (
	rieOnce sync.Once
	rieErr  error
)

// TestMain checks, after every test, that no process the runs started is
// left: RIE and the functions end with each run.
func TestMain(m *testing.M) {
	adoptOrphans()
	code := m.Run()
	if left := leftRunning(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: processes left running after the tests: %s\n", strings.Join(left, "; "))
		code = 1
	}
	os.Exit(code)
}

// needRIE skips (fails under CI=true) when RIE cannot run here.
func needRIE(t *testing.T) {
	t.Helper()
	rieOnce.Do(func() {
		if runtime.GOOS != "linux" {
			rieErr = fmt.Errorf("RIE runs on Linux only, not %s", runtime.GOOS)
			return
		}
		var log bytes.Buffer
		_, rieErr = installRIE(context.Background(), config{cache: defaultCache()}, &log)
		if rieErr != nil {
			rieErr = fmt.Errorf("%v\n%s", rieErr, log.String())
		}
	})
	if rieErr == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: RIE is needed and could not be had: %v", rieErr)
	}
	t.Skipf("RIE could not be had: %v", rieErr)
}

// result is what a run of mw-local did.
type result struct {
	code           int
	stdout, stderr string
}

func mwLocal(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr)
	r := result{code, stdout.String(), stderr.String()}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mw-local %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		}
	})
	return r
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// The same function, cold then warm: both invokes get the values; only the
// cold one asks the extension; no token in the output.
func TestWrappedColdThenWarm(t *testing.T) {
	needRIE(t)
	t.Parallel()
	r := mwLocal(t, "", "-values", e2eValues, "-repeat", "2", "-env", "AWS_SESSION_TOKEN="+tokenCanry, "-v", e2eDir+"/functions/wrapped")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0", r.code)
	}
	out := lines(r.stdout)
	if len(out) != 2 {
		t.Fatalf("%d responses, want 2", len(out))
	}
	for i, line := range out {
		var got struct{ Secret, Parameter string }
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.Secret != e2eSecret || got.Parameter != e2eFlags {
			t.Errorf("response %d = %s (%v)", i+1, line, err)
		}
	}
	for _, want := range []string{
		"invoke 1 of 2: answered in",
		", a cold start\n",
		"[extension] ready (the function's first invoke)",
		`"served":{"/app/flags":1,"prod/db":1}`, // once each: the warm invoke asked nothing
		"AWS_SESSION_TOKEN (from -env)",
		"AWS_LAMBDA_FUNCTION_NAME=wrapped",
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=",
		"(rapid) INIT START", // -v: RIE's own log
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
	for _, line := range lines(r.stderr) {
		if strings.HasPrefix(line, "mw-local: invoke 2 of 2: ") && strings.Contains(line, "cold start") {
			t.Errorf("the warm invoke is called a cold start: %s", line)
		}
	}
	if strings.Contains(r.stdout+r.stderr, tokenCanry) {
		t.Error("the session token appears in mw-local's output")
	}
}

// The seed's problem, reproduced: a package-level variable that calls the
// extension during INIT gets the generic 400, as in Lambda.
func TestInitTimeCallMeetsTheGeneric400(t *testing.T) {
	needRIE(t)
	t.Parallel()
	r := mwLocal(t, "", "-values", e2eValues, e2eDir+"/functions/seed-var")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0", r.code)
	}
	var got struct {
		Phase  string
		Status int
		Body   string
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Phase != "init" || got.Status != 400 || got.Body != mwtest.GenericError {
		t.Errorf("the init-time call got %+v, want the generic 400", got)
	}
	if !strings.Contains(r.stderr, "[extension] 1 requests; 1 answered as not ready") {
		t.Error("the extension's summary does not count the INIT-time request as not ready")
	}
}

// A function that exits during INIT: RIE answers an empty 502 and would
// carry on; mw-local says INIT failed, shows the function's last words,
// sends no more invokes and exits 1.
func TestInitFailureIsSaidPlainly(t *testing.T) {
	needRIE(t)
	t.Parallel()
	r := mwLocal(t, "", "-repeat", "3", e2eDir+"/functions/init-exit")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d", r.code, exitFailed)
	}
	if r.stdout != "" {
		t.Errorf("standard output %q, want nothing: there was no response", r.stdout)
	}
	for _, want := range []string{
		"mw-local: invoke 1 of 3: INIT failed: the function never asked for its event. RIE answered HTTP 502 with an empty body",
		"RIE says: Runtime exited with error: exit status 3",
		"what the function printed during its INIT:\nmw-local:   | init-exit: ORDERS_TABLE is not set: the function cannot start\n",
		"no more invokes",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
	if strings.Contains(r.stderr, "invoke 2 of 3") {
		t.Error("mw-local sent another invoke after INIT failed")
	}
	// With the variable set, the same function starts.
	r = mwLocal(t, "", "-env", "ORDERS_TABLE=orders", e2eDir+"/functions/init-exit")
	if r.code != exitOK || r.stdout != "\"orders\"\n" {
		t.Errorf("with ORDERS_TABLE: exit %d, %q", r.code, r.stdout)
	}
}

// A function error (mw's PrefetchError for a secret the values lack, read
// through the agent) is printed as the response, and mw-local exits 1.
func TestFunctionErrorExitsNonZero(t *testing.T) {
	needRIE(t)
	t.Parallel()
	var values map[string]any
	data, err := os.ReadFile(e2eValues)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	delete(values["secrets"].(map[string]any), "prod/db")
	path := filepath.Join(t.TempDir(), "values.json")
	data, _ = json.Marshal(values)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mwLocal(t, "", "-values", path, "-serve", "agent,appconfig", e2eDir+"/functions/appconfig")
	if r.code != exitFailed {
		t.Fatalf("exit %d, want %d", r.code, exitFailed)
	}
	var got struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("standard output is not the error: %v", err)
	}
	if got.ErrorType != "PrefetchError" || !strings.Contains(got.ErrorMessage, `secret "prod/db": not found`) {
		t.Errorf("the error = %+v", got)
	}
	if !strings.Contains(r.stderr, "invoke 1 of 1: the function returned an error, PrefetchError") {
		t.Error("standard error does not say the function returned an error")
	}
}

// The agent and AppConfig dialects together, the agent answering its
// first two requests as not ready after the first invoke: mw retries, and
// every value arrives.
func TestAgentAndAppConfig(t *testing.T) {
	needRIE(t)
	t.Parallel()
	r := mwLocal(t, "", "-values", e2eValues, "-serve", "agent,appconfig", "-not-ready", "2", "-event", "{}", "-event", "{}", e2eDir+"/functions/appconfig")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0", r.code)
	}
	for i, line := range lines(r.stdout) {
		var got struct {
			Checkout bool
			Batch    int
			Secret   string
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil || !got.Checkout || got.Batch != 25 || got.Secret != e2eSecret {
			t.Errorf("response %d = %s (%v)", i+1, line, err)
		}
	}
	for _, want := range []string{
		"[agent] 3 requests; values served: prod/db 1; 2 answered as not ready",
		"[appconfig] 2 requests; values served: mw-e2e/prod/flags 1, mw-e2e/prod/settings 1",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
}

// The cloudext dialect, on the port cloudext.New calls by default: the
// Cloud Extensions runtime answers 503 PROFILE_LOADING, then
// EXTENSION_LOADING, for 400 ms after the first invoke; mw waits for it,
// and the cold invoke gets every value, signed with the function's
// credentials; the warm one asks nothing. Not parallel: the port is one.
func TestCloudExtDialect(t *testing.T) {
	needRIE(t)
	r := mwLocal(t, "", "-values", e2eValues, "-serve", "cloudext", "-not-ready-for", "400ms", "-repeat", "2",
		"-env", "AWS_SECRET_ACCESS_KEY="+tokenCanry, "-v", e2eDir+"/functions/cloudext")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0", r.code)
	}
	out := lines(r.stdout)
	if len(out) != 2 {
		t.Fatalf("%d responses, want 2", len(out))
	}
	for i, line := range out {
		var got struct {
			Secret, Parameter string
			Checkout          bool
			Batch             int
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil || got.Secret != e2eSecret || got.Parameter != e2eFlags || !got.Checkout || got.Batch != 25 {
			t.Errorf("response %d = %s (%v)", i+1, line, err)
		}
	}
	for _, want := range []string{
		"[cloudext] serving the cloudext dialect on http://127.0.0.1:5333",
		"[cloudext] ready (the function's first invoke)",
		`"served":{"/app/flags":1,"mw-e2e/prod/flags":1,"mw-e2e/prod/settings":1,"prod/db":1}`, // once each: the warm invoke asked nothing
		`"authRefused":0`,
		`"PROFILE_LOADING":`, // and EXTENSION_LOADING, unless the machine held mw for its 200 ms
		"AWS_ACCESS_KEY_ID (made for this run)", "AWS_SECRET_ACCESS_KEY (from -env)",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("standard error lacks %q", want)
		}
	}
	if strings.Contains(r.stdout+r.stderr, tokenCanry) {
		t.Error("the secret access key appears in mw-local's output")
	}
}

// examples/cloud-extensions, as it deploys, under the cloudext dialect: a
// secret, two parameters, a flag profile and a flag evaluated with the
// event's context. Not parallel: the port is one.
func TestExampleCloudExtensions(t *testing.T) {
	needRIE(t)
	r := mwLocal(t, "", "-values", e2eValues, "-serve", "cloudext", "-event", `{"country":"UK","tier":"gold"}`, "../../examples/cloud-extensions")
	if r.code != exitOK {
		t.Fatalf("exit %d, want 0", r.code)
	}
	if want := `{"db_user":"app","api_url":"https://api.example.com","page_size":"25","checkout":true,"variant":""}` + "\n"; r.stdout != want {
		t.Errorf("response %s, want %s", r.stdout, want)
	}
	if want := "; values served: /mw-examples/cloud-extensions/api-url 1, /mw-examples/cloud-extensions/page-size 1, " +
		"mw-example-cloud-extensions/prod/flags 1, mw-examples/cloud-extensions/db 1; flags evaluated: 1 (-v: every counter)"; !strings.Contains(r.stderr, want) {
		t.Errorf("standard error lacks %q", want)
	}
}
