package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseFlagsDefaults(t *testing.T) {
	cfg, err := parseFlags("mw-extension", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.port != 2773 || cfg.dialect != managed || cfg.host != "127.0.0.1" || cfg.lambda != "auto" || cfg.token != "" {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestParseFlagsEnvThenArgs(t *testing.T) {
	e := env(map[string]string{
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2999",
		"AWS_SESSION_TOKEN":                      "tok",
		"MW_EXT_DIALECT":                         "agent",
		"MW_EXT_LATENCY":                         "50ms",
		"MW_EXT_ERRORS":                          "0.25",
		"MW_EXT_VALUES":                          "/opt/values.json",
	})
	cfg, err := parseFlags("mw-extension", []string{"-port", "3000", "-throttle", "0.5", "-resets=0.1", "-seed", "7", "-hang", "-not-ready", "3", "-not-ready-for", "1s"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{
		values: "/opt/values.json", dialect: agent, host: "127.0.0.1", port: 3000, token: "tok", lambda: "auto",
		notReady: 3, notReadyFor: time.Second, latency: 50 * time.Millisecond,
		faults: mwtest.Faults{ServerError: 0.25, Throttle: 0.5, Reset: 0.1, Seed: 7}, hang: true,
		cloudext: cloudextAuth{mode: authRuntime},
	}
	if cfg != want {
		t.Errorf("config =\n %+v, want\n %+v", cfg, want)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"-dialect", "vault"}, nil, `unknown dialect "vault"`},
		{[]string{"-errors", "1.5"}, nil, "want a share between 0 and 1"},
		{[]string{"-errors", "0.6", "-throttle", "0.6"}, nil, "add up to more than 1"},
		{[]string{"-port", "70000"}, nil, "is not a port"},
		{[]string{"-lambda", "maybe"}, nil, "want auto, on or off"},
		{[]string{"-not-ready", "-1"}, nil, "is negative"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
		{nil, map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "http"}, `$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="http"`},
	} {
		_, err := parseFlags("mw-extension", tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q, %v) = %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestHelpDocumentsEveryFlagAndTheFormat(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags("mw-extension", []string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, fe := range flagEnv {
		if !strings.Contains(out.String(), "-"+fe.flag+" ") || !strings.Contains(out.String(), "$"+fe.env) {
			t.Errorf("-h does not document -%s [$%s]", fe.flag, fe.env)
		}
	}
	for _, s := range []string{`"parameters"`, `"secrets"`, "StringList", "SecureString", "AWSCURRENT", "testdata/values.json", "/_mw/stats", "/opt/extensions",
		`"appconfig"`, "-dialect appconfig", "AWS_APPCONFIG_EXTENSION_HTTP_PORT", "/applications/<application>/environments/<environment>/configurations/<profile>", `"flags"`,
		"-dialect cloudext", "MW_EXT_CLOUDEXT_PORT", "(default 5333)", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PROFILE_LOADING", "EXTENSION_LOADING",
		"POST /parameterstore", "POST /appconfig/", "-ready-at register", "AWS does not document whether"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("-h does not mention %s", s)
		}
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// fetch asks the emulator for parameter /p, with the token.
func fetch(t *testing.T, port int) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(port)+"/systemsmanager/parameters/get?name=%2Fp", nil)
	req.Header.Set(mwtest.TokenHeader, "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("fetch: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fakeExtensionsAPI imitates Lambda's Extensions API for one extension: it
// checks what the extension sends and plays the given events.
type fakeExtensionsAPI struct {
	t         *testing.T
	wantName  string
	events    []string // event types to hand out, in order
	beforeEvt func()   // runs before each event is handed out
	mu        sync.Mutex
	registers []map[string][]string // bodies of the registrations
}

const fakeExtID = "4205f817-bb12-4c4d-88df-07990afa0667"

func (f *fakeExtensionsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/2020-01-01/extension/register":
		if r.Method != http.MethodPost {
			f.t.Errorf("register: method %s", r.Method)
		}
		if got := r.Header.Get("Lambda-Extension-Name"); got != f.wantName {
			f.t.Errorf("register: Lambda-Extension-Name = %q, want %q", got, f.wantName)
		}
		var body map[string][]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.t.Errorf("register body: %v", err)
		}
		f.mu.Lock()
		f.registers = append(f.registers, body)
		f.mu.Unlock()
		w.Header().Set("Lambda-Extension-Identifier", fakeExtID)
		fmt.Fprint(w, `{"functionName":"f","functionVersion":"$LATEST","handler":"bootstrap"}`)
	case "/2020-01-01/extension/event/next":
		if r.Method != http.MethodGet {
			f.t.Errorf("next: method %s", r.Method)
		}
		if got := r.Header.Get("Lambda-Extension-Identifier"); got != fakeExtID {
			f.t.Errorf("next: Lambda-Extension-Identifier = %q, want %q", got, fakeExtID)
		}
		f.mu.Lock()
		if len(f.events) == 0 {
			f.mu.Unlock()
			f.t.Error("next called after the last event")
			<-r.Context().Done()
			return
		}
		typ := f.events[0]
		f.events = f.events[1:]
		f.mu.Unlock()
		if f.beforeEvt != nil {
			f.beforeEvt()
		}
		switch typ {
		case eventInvoke:
			fmt.Fprint(w, `{"eventType":"INVOKE","deadlineMs":1700000000000,"requestId":"req-1","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:f","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-0-0"}}`)
		case eventShutdown:
			fmt.Fprint(w, `{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1700000002000}`)
		}
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
	}
}

func TestLambdaModeReadyOnFirstInvokeExitOnShutdown(t *testing.T) {
	port := freePort(t)
	var steps []string
	api := &fakeExtensionsAPI{t: t, wantName: "mw-extension", events: []string{eventInvoke, eventInvoke, eventShutdown}}
	api.beforeEvt = func() {
		code, body := fetch(t, port)
		if code == http.StatusOK {
			var out struct{ Parameter struct{ Value string } }
			_ = json.Unmarshal([]byte(body), &out)
			body = "value " + out.Parameter.Value
		}
		steps = append(steps, fmt.Sprintf("%d %s", code, body))
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	vals := t.TempDir() + "/values.json"
	writeFile(t, vals, `{"parameters": {"/p": {"value": "v"}}}`)
	cfg, err := parseFlags("mw-extension", []string{"-values", vals, "-port", strconv.Itoa(port), "-token", "tok"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	code := run(context.Background(), "mw-extension", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0))
	if code != 0 {
		t.Fatalf("run = %d, want 0; log:\n%s", code, logs.String())
	}
	// Before the first INVOKE: INIT, the generic 400. After it: served.
	want := []string{"400 " + mwtest.GenericError, "200 value v", "200 value v"}
	if fmt.Sprint(steps) != fmt.Sprint(want) {
		t.Errorf("answers before each event =\n %q, want\n %q", steps, want)
	}
	if got := api.registers[0]["events"]; fmt.Sprint(got) != "[INVOKE SHUTDOWN]" {
		t.Errorf("registered for %v", got)
	}
	for _, s := range []string{"ready (first INVOKE req-1)", "shutdown (SHUTDOWN event, reason spindown, after 2 invokes): stats {", `"fetches":3`} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, logs.String())
		}
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		t.Error("still listening after SHUTDOWN")
	}
}

func TestLambdaModeManagedInstancesRegistersShutdownOnly(t *testing.T) {
	port := freePort(t)
	var first int
	api := &fakeExtensionsAPI{t: t, wantName: "ext", events: []string{eventShutdown}}
	api.beforeEvt = func() { first, _ = fetch(t, port) }
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg, _ := parseFlags("ext", []string{"-port", strconv.Itoa(port), "-token", "tok"}, env(nil), io.Discard)
	var logs syncBuffer
	if code := run(context.Background(), "ext", cfg, strings.TrimPrefix(srv.URL, "http://"), "4", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	if got := api.registers[0]["events"]; fmt.Sprint(got) != "[SHUTDOWN]" {
		t.Errorf("registered for %v, want SHUTDOWN only", got)
	}
	// Ready once registered: /p does not exist, so the answer is the
	// generic 400 of a not-found, counted as such rather than as INIT.
	if first != http.StatusBadRequest || !strings.Contains(logs.String(), `"notReady":0`) {
		t.Errorf("status %d; log:\n%s", first, logs.String())
	}
}

func TestLambdaModeRegisterRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"errorMessage":"INVOKE: ErrorInvalidEventType","errorType":"Extension.InvalidEventType"}`)
	}))
	defer srv.Close()
	cfg, _ := parseFlags("ext", []string{"-port", strconv.Itoa(freePort(t))}, env(nil), io.Discard)
	var logs syncBuffer
	if code := run(context.Background(), "ext", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0)); code != 1 {
		t.Errorf("run = %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "register: 403 Forbidden") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestStandaloneServesUntilCancelled(t *testing.T) {
	port := freePort(t)
	cfg, _ := parseFlags("ext", []string{"-port", strconv.Itoa(port), "-token", "tok", "-not-ready", "2", "-quiet"}, env(nil), io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var logs syncBuffer
	go func() { done <- run(ctx, "ext", cfg, "", "", log.New(&logs, "", 0)) }()
	var codes []int
	deadline := time.Now().Add(5 * time.Second)
	for len(codes) < 3 && time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		} else {
			c.Close()
		}
		code, _ := fetch(t, port)
		codes = append(codes, code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run = %d", code)
	}
	// -not-ready 2: two INIT 400s, then /p (absent) is a not-found 400.
	if fmt.Sprint(codes) != "[400 400 400]" || !strings.Contains(logs.String(), `"notReady":2`) || !strings.Contains(logs.String(), `"ParameterNotFound":1`) {
		t.Errorf("codes %v; log:\n%s", codes, logs.String())
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLambdaModeAgentDialect(t *testing.T) {
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set(mwtest.TokenHeader, "tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return strconv.Itoa(resp.StatusCode) + " " + string(b)
		}
		return "200"
	}
	var got []string
	api := &fakeExtensionsAPI{t: t, wantName: "ext", events: []string{eventInvoke, eventShutdown}}
	api.beforeEvt = func() {
		got = append(got, get("/ping"), get("/secretsmanager/get?secretId=s"), get("/v1/s?refreshNow=true"))
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	vals := t.TempDir() + "/values.json"
	writeFile(t, vals, `{"secrets": {"s": {"string": "v"}}}`)
	cfg, err := parseFlags("ext", []string{"-dialect", "agent", "-values", vals, "-port", strconv.Itoa(port), "-token", "tok", "-quiet"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	if code := run(context.Background(), "ext", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	notServing := "503 " + mwtest.NotServingError
	want := []string{"200", notServing, notServing, "200", "200", "200"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers =\n %q, want\n %q", got, want)
	}
	if !strings.Contains(logs.String(), `"refreshNow":2`) {
		t.Errorf("log:\n%s", logs.String())
	}
}
