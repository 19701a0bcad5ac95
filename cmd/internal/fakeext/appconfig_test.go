package fakeext

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

func TestAppConfigValues(t *testing.T) {
	e := mwtest.New(mwtest.AppConfig)
	lines, err := LoadValues("v.json", []byte(`{"appconfig": [
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
	for _, line := range lines {
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
			_, err := LoadValues("v.json", []byte(tc.file), e)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), `"x"`) || strings.Contains(err.Error(), `"y"`) {
				t.Errorf("error %q shows a value", err)
			}
		})
	}
}
