package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// These tests need neither RIE nor a build.

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "name the function"},
		{[]string{"./a", "./b"}, `one function at a time: unexpected "./b"`},
		{[]string{"-serve", "extension,agent", "./f"}, "extension and agent cannot be served together"},
		{[]string{"-serve", "vault", "./f"}, `unknown dialect "vault" (known: extension, agent, appconfig, cloudext)`},
		{[]string{"-serve", "cloudext", "-cloudext-port", "0", "./f"}, "-cloudext-port 0 is not a port"},
		{[]string{"-serve", "appconfig,appconfig", "./f"}, "appconfig is listed twice"},
		{[]string{"-repeat", "0", "./f"}, "-repeat 0"},
		{[]string{"-timeout", "1500ms", "./f"}, "want whole seconds"},
		{[]string{"-event", "-", "-event", "-", "./f"}, "standard input can be read once"},
		{[]string{"-env", "AWS_LAMBDA_RUNTIME_API=x", "./f"}, "mw-local points the function at RIE's Runtime API itself"},
		{[]string{"-env", "AWS_LAMBDA_MAX_CONCURRENCY=4", "./f"}, "Lambda Managed Instances are not supported"},
		{[]string{"-env", "MW_LOCAL_TEST_SURELY_UNSET", "./f"}, "MW_LOCAL_TEST_SURELY_UNSET is not set here"},
		{[]string{"-event", "{nope", "./f"}, "-event 1 is not JSON"},
		{[]string{"-event", "@no/such/file.json", "./f"}, "-event @no/such/file.json: open no/such/file.json"},
		{[]string{"-env", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=1", "./f"}, "mw-local sets it, to point the function at the emulated extension"},
		{[]string{"-serve", "agent", "-env", "MW_ENDPOINT=http://127.0.0.1:1", "./f"}, "to point the function at the emulated agent"},
		{[]string{"./no/such/dir"}, "./no/such/dir: no such file or directory"},
	} {
		if runtime.GOOS != "linux" && tc.args[0] == "./no/such/dir" {
			continue // mw-local stops before: RIE runs on Linux only
		}
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("mw-local %q: exit %d, %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// -h documents the dialects, the environment and the values file.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	if _, err := parseFlags([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, want := range []string{
		"Usage: mw-local [flags] <main package | bootstrap>",
		"-tags lambda.norpc", "CGO_ENABLED=0",
		"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "MW_ENDPOINT", "MW_AGENT=true", "AWS_APPCONFIG_EXTENSION_HTTP_PORT",
		"AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME", rieVersion, `"parameters"`, `"appconfig"`,
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "-cloudext-port", "http://localhost:5333", "PROFILE_LOADING",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h does not mention %q", want)
		}
	}
	for _, d := range dialects {
		if !strings.Contains(out.String(), "  "+d.name+" ") {
			t.Errorf("-h does not list the %s dialect", d.name)
		}
	}
}

// scripts/e2e.sh and mw-local run the same RIE.
func TestRIEVersionMatchesTheE2ESuite(t *testing.T) {
	script, err := os.ReadFile("../../scripts/e2e.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RIE_VERSION=(\S+)`).FindSubmatch(script)
	if m == nil || string(m[1]) != rieVersion {
		t.Errorf("scripts/e2e.sh pins RIE %q; mw-local pins %q", m, rieVersion)
	}
}

func TestParseEnv(t *testing.T) {
	lookup := func(k string) (string, bool) { return map[string]string{"HERE": "h"}[k], k == "HERE" }
	env, err := parseEnv([]string{"A=1", "B=x=y", "HERE", "EMPTY="}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "x=y", "HERE": "h", "EMPTY": ""}
	if len(env) != len(want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env[%s] = %q, want %q", k, env[k], v)
		}
	}
	for _, bad := range []string{"=1", "A B=1"} {
		if _, err := parseEnv([]string{bad}, lookup); err == nil {
			t.Errorf("parseEnv(%q) accepted it", bad)
		}
	}
}

// An -env entry with a bad name is refused by its name alone: its value may
// be a credential, which the error, printed on standard error, must not
// show.
func TestParseEnvErrorShowsNoValue(t *testing.T) {
	lookup := func(string) (string, bool) { return "", false }
	for _, bad := range []string{"=user-secret", "API KEY=user-secret", "API\tKEY=user-secret"} {
		_, err := parseEnv([]string{bad}, lookup)
		if err == nil {
			t.Errorf("parseEnv(%q) accepted it", bad)
			continue
		}
		if strings.Contains(err.Error(), "user-secret") {
			t.Errorf("parseEnv(%q): the error shows the value: %v", bad, err)
		}
	}
}

// The function's environment: Lambda's, -env's over it, the dialects' last;
// the log shows no token and no -env value.
func TestFunctionEnv(t *testing.T) {
	cfg := config{timeout: 7e9}
	servers := []*served{{name: "extension", env: map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "4242"}}}
	user := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "AWS_REGION": "eu-west-1", "API_KEY": "user-secret"}
	creds := newCredentials(nil)
	creds.token = "tok-canary"
	env, err := functionEnv(cfg, "orders", creds, user, servers)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(env, " ")
	for _, want := range []string{
		"AWS_LAMBDA_FUNCTION_NAME=orders", "AWS_LAMBDA_FUNCTION_TIMEOUT=7", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_SESSION_TOKEN=tok-canary", "AWS_ACCESS_KEY_ID=ASIA", "AWS_SECRET_ACCESS_KEY=" + creds.secretKey, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=4242",
		"PATH=" + lambdaPath, "TZ=:UTC",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("environment lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "HOME=") {
		t.Error("the function sees this process's environment")
	}
	shown := describeEnv(env, user, creds.made)
	if strings.Contains(shown, "tok-canary") || strings.Contains(shown, "user-secret") ||
		strings.Contains(shown, creds.secretKey) || strings.Contains(shown, creds.accessKeyID) {
		t.Errorf("the environment's log line shows a credential or an -env value: %s", shown)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID (made for this run)", "AWS_SECRET_ACCESS_KEY (made for this run)"} {
		if !strings.Contains(shown, want) {
			t.Errorf("the environment's log line lacks %q: %s", want, shown)
		}
	}
}

func TestReadEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e.json")
	if err := os.WriteFile(path, []byte(`{"from":"file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	events, err := readEvents([]string{`{"a":1}`, "@" + path, "-", `[1,2]`}, strings.NewReader(`{"from":"stdin"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a":1}`, `{"from":"file"}`, `{"from":"stdin"}`, `[1,2]`}
	for i := range want {
		if string(events[i]) != want[i] {
			t.Errorf("event %d = %s, want %s", i+1, events[i], want[i])
		}
	}
}

// A bootstrap that cannot run here is refused before RIE starts, saying
// how to build it.
func TestCheckBootstrap(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := elf.EM_AARCH64
	if runtime.GOARCH == "arm64" {
		other = elf.EM_X86_64
	}
	for _, tc := range []struct {
		path string
		want string // "" when it is fine
	}{
		{write("script", []byte("#!/bin/sh\nexit 0\n"), 0o755), ""},
		{write("here", elfHeader(elfMachine[runtime.GOARCH]), 0o755), ""},
		{write("other", elfHeader(other), 0o755), "build it with GOARCH=" + runtime.GOARCH},
		{write("macho", []byte{0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1}, 0o755), "is not a Linux program (ELF) nor a script: build it with GOOS=linux"},
		{write("plain", []byte("#!/bin/sh\n"), 0o644), "is not executable"},
	} {
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		err = checkBootstrap(tc.path, fi)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", filepath.Base(tc.path), err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}

// elfHeader is a minimal 64-bit little-endian ELF header for machine m.
func elfHeader(m elf.Machine) []byte {
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(m), Version: uint32(elf.EV_CURRENT), Ehsize: 64}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, h)
	return b.Bytes()
}

func TestFailureIn(t *testing.T) {
	for line, want := range map[string]string{
		"06 Dec 2026 11:45:46,155 [ERROR] (rapid) Init failed error=Runtime exited with error: exit status 3 InvokeID=":                                       "Runtime exited with error: exit status 3",
		"06 Dec 2026 11:45:46,711 [ERROR] (rapid) Invoke failed InvokeID=b729d700-2d75-4d28-a67a-3ff207f55470 error=Runtime exited with error: exit status 2": "Runtime exited with error: exit status 2",
		"06 Dec 2026 11:45:46,156 [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure":                                                                        "",
		"06 Dec 2026 11:45:43,174 [INFO] (rapid) INIT START(type: on-demand, phase: init)":                                                                    "",
	} {
		if got := failureIn(line); got != want {
			t.Errorf("failureIn(%q) = %q, want %q", line, got, want)
		}
	}
}

func TestNoAnswer(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		rie    string
		want   string
	}{
		{200, "Task timed out after 1.00 seconds", "errResetReceived", "the function timed out: it had not answered after -timeout 1s"},
		{502, `{"errorType":"Runtime.ExitError"}`, "Runtime exited with error: exit status 4", "the function got its event but posted no answer: RIE answered HTTP 502; RIE says: Runtime exited with error: exit status 4"},
		{502, "", "", "the function got its event but posted no answer: RIE answered HTTP 502"},
	} {
		if got := noAnswer(tc.status, []byte(tc.body), tc.rie, time.Second); got != tc.want {
			t.Errorf("noAnswer(%d, %q, %q) = %q, want %q", tc.status, tc.body, tc.rie, got, tc.want)
		}
	}
}

// The function's credentials: those -env gives, the others made for the
// run, fresh each run, the access key ID of a temporary key's shape.
func TestCredentials(t *testing.T) {
	c := newCredentials(map[string]string{"AWS_SECRET_ACCESS_KEY": "given-secret"})
	if c.secretKey != "given-secret" || c.made["AWS_SECRET_ACCESS_KEY"] {
		t.Errorf("the given secret key: %+v", c.made)
	}
	if !regexp.MustCompile(`^ASIA[0-9A-F]{16}$`).MatchString(c.accessKeyID) || !c.made["AWS_ACCESS_KEY_ID"] {
		t.Errorf("access key ID %q", c.accessKeyID)
	}
	if len(c.token) != 32 || !c.made["AWS_SESSION_TOKEN"] {
		t.Errorf("token of %d characters", len(c.token))
	}
	if d := newCredentials(nil); d.accessKeyID == c.accessKeyID || d.token == c.token || len(d.secretKey) != 40 {
		t.Error("two runs share their credentials, or the secret key is not 40 characters")
	}
	if env := c.env(); len(env) != 3 || env["AWS_SECRET_ACCESS_KEY"] != "given-secret" || env["AWS_ACCESS_KEY_ID"] != c.accessKeyID {
		t.Errorf("env() = %d variables", len(env))
	}
}
