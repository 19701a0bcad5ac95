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
