package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

// Each dialect takes its port from its own extension's variable: two copies
// of the emulator in one Lambda environment listen apart.
func TestPortComesFromTheDialectsVariable(t *testing.T) {
	both := map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "3001", "AWS_APPCONFIG_EXTENSION_HTTP_PORT": "3002"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, nil, 2773},
		{[]string{"-dialect", "appconfig"}, nil, 2772},
		{nil, both, 3001},
		{[]string{"-dialect", "agent"}, both, 3001},
		{[]string{"-dialect", "appconfig"}, both, 3002},
		{nil, map[string]string{"MW_EXT_DIALECT": "appconfig", "AWS_APPCONFIG_EXTENSION_HTTP_PORT": "3002"}, 3002},
		{[]string{"-dialect", "appconfig", "-port", "3003"}, both, 3003},
	} {
		cfg, err := parseFlags("ext", tc.args, env(tc.env), io.Discard)
		if err != nil || cfg.port != tc.want {
			t.Errorf("%q %v: port %d, %v; want %d", tc.args, tc.env, cfg.port, err, tc.want)
		}
	}
	_, err := parseFlags("ext", []string{"-dialect", "appconfig"}, env(map[string]string{"AWS_APPCONFIG_EXTENSION_HTTP_PORT": "x"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `$AWS_APPCONFIG_EXTENSION_HTTP_PORT="x"`) {
		t.Errorf("bad port: %v", err)
	}
	// No token protects a configuration: only loopback.
	_, err = parseFlags("ext", []string{"-dialect", "appconfig", "-host", "0.0.0.0", "-token", "tok"}, env(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "checks no token") {
		t.Errorf("appconfig off loopback: %v", err)
	}
}

func TestAppConfigValues(t *testing.T) {
	e := mwtest.New(mwtest.AppConfig)
	l, err := loadValues("v.json", []byte(`{"appconfig": [
		{"application": "orders", "environment": "prod", "profile": "flags",
		 "versions": [{"flags": {"new-checkout": {"enabled": false}}},
		              {"flags": {"new-checkout": {"enabled": true, "limit": 5, "regions": ["eu"]}, "dark-mode": {"enabled": false, "theme": "night"}}}]},
		{"application": "orders", "environment": "prod", "profile": "settings", "json": {"batch": 25, "name": "secret-ish"}},
		{"application": "orders", "environment": "prod", "profile": "notes", "contentType": "text/plain", "content": "hello"},
		{"application": "orders", "environment": "prod", "profile": "locked", "content": "x", "deny": true}
	]}`), e)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range l.lines {
		for _, v := range []string{"night", "secret-ish", "hello", "limit\":", "25"} {
			if strings.Contains(line, v) {
				t.Errorf("startup line %q shows a value", line)
			}
		}
	}
	srv := httptest.NewServer(e)
	defer srv.Close()
	for path, want := range map[string]string{
		"/applications/orders/environments/prod/configurations/flags":    `200 2 application/json {"dark-mode":{"enabled":false},"new-checkout":{"enabled":true,"limit":5,"regions":["eu"]}}`,
		"/applications/orders/environments/prod/configurations/settings": `200 1 application/json {"batch":25,"name":"secret-ish"}`,
		"/applications/orders/environments/prod/configurations/notes":    `200 1 text/plain hello`,
		"/applications/orders/environments/prod/configurations/locked":   `403`,
		"/applications/orders/environments/test/configurations/flags":    `404`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := strconv.Itoa(resp.StatusCode)
		if resp.StatusCode == http.StatusOK {
			got = fmt.Sprintf("%d %s %s %s", resp.StatusCode, resp.Header.Get("Configuration-Version"), resp.Header.Get("Content-Type"), b)
		}
		if got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func TestAppConfigValuesErrors(t *testing.T) {
	entry := func(rest string) string {
		return `{"appconfig": [{"application": "a", "environment": "e", "profile": "p", ` + rest + `}]}`
	}
	for _, tc := range []struct{ name, file, want string }{
		{"no profile", `{"appconfig": [{"application": "a", "environment": "e", "content": "x"}]}`, `v.json: appconfig[0]: want "application", "environment" and "profile"`},
		{"nothing", entry(`"contentType": "text/plain"`), `appconfig[0]: give one of "content", "json" and "flags"`},
		{"two things", entry(`"content": "x", "json": {}`), `appconfig[0]: give one of "content", "json" and "flags"`},
		{"flags not json", entry(`"flags": {}, "contentType": "text/plain"`), `appconfig[0].contentType: feature flags are application/json`},
		{"bad flag key", entry(`"flags": {"Bad": {"enabled": true}}`), `appconfig[0].flags["Bad"]: a flag key must match`},
		{"no enabled", entry(`"flags": {"f": {"limit": 1}}`), `appconfig[0].flags["f"]: want "enabled": true or false`},
		{"bad attribute", entry(`"flags": {"f": {"enabled": true, "obj": {"k": "x"}}}`), `appconfig[0].flags["f"]["obj"]: an attribute is a string`},
		{"mixed array", entry(`"flags": {"f": {"enabled": true, "m": [1, "x"]}}`), `appconfig[0].flags["f"]["m"]: an attribute is`},
		{"type change", entry(`"versions": [{"content": "x"}, {"flags": {}}]`), `appconfig[0].versions[1]: a profile holds feature flags in every version or in none`},
		{"inline and versions", entry(`"content": "x", "versions": [{"content": "y"}]`), `appconfig[0]: give "content"/"json"/"flags"/"contentType" or "versions", not both`},
		{"twice", `{"appconfig": [{"application": "a", "environment": "e", "profile": "p", "content": "x"}, {"application": "a", "environment": "e", "profile": "p", "content": "y"}]}`, `appconfig[1]: a/e/p is listed again, after appconfig[0]`},
		{"unknown field", entry(`"contnet": "x"`), `unknown field "contnet"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mwtest.New(mwtest.AppConfig)
			_, err := loadValues("v.json", []byte(tc.file), e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), `"x"`) || strings.Contains(err.Error(), `"y"`) {
				t.Errorf("error %q shows a value", err)
			}
		})
	}
}

// In Lambda mode the appconfig dialect serves once registered, before any
// INVOKE, with no token, and exits on SHUTDOWN.
func TestLambdaModeAppConfigDialect(t *testing.T) {
	port := freePort(t)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/applications/a/environments/e/configurations/p"
	var got []string
	api := &fakeExtensionsAPI{t: t, wantName: "mw-appconfig", events: []string{eventInvoke, eventShutdown}}
	api.beforeEvt = func() {
		resp, err := http.Get(url)
		if err != nil {
			got = append(got, err.Error())
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got = append(got, fmt.Sprintf("%d %s", resp.StatusCode, b))
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	vals := t.TempDir() + "/values.json"
	writeFile(t, vals, `{"appconfig": [{"application": "a", "environment": "e", "profile": "p", "json": {"on": true}}]}`)
	cfg, err := parseFlags("mw-appconfig", []string{"-dialect", "appconfig", "-values", vals, "-quiet"},
		env(map[string]string{"AWS_APPCONFIG_EXTENSION_HTTP_PORT": strconv.Itoa(port), "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	if code := run(context.Background(), "mw-appconfig", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	if want := []string{`200 {"on":true}`, `200 {"on":true}`}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers before each event = %q, want %q", got, want)
	}
	for _, s := range []string{"serving the appconfig dialect", "ready (registered", "checks no token", `"served":{"a/e/p":2}`} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, logs.String())
		}
	}
}
