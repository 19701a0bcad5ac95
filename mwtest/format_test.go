package mwtest_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

const (
	canaryValue = "canary-value-7f3a"
	canaryToken = "canary-token-91c2"
)

// No mwtest type prints a value or the token, under any verb, alone or
// inside a slice, a map, a pointer or an exported struct field.
func TestPrintingShowsNoValueOrToken(t *testing.T) {
	vals := mwtest.Values{
		Parameters: map[string]string{"/p": canaryValue},
		Secrets:    map[string]string{"s": canaryValue},
		AppConfig:  map[string]string{"flags": canaryValue},
	}
	flag := mwtest.Flag{Enabled: true, Attributes: map[string]any{"limit": canaryValue}}
	ac, acSrv := mwtest.Start(t, mwtest.AppConfig)
	ac.PutConfiguration("a", "e", "p", "", []byte(canaryValue))
	ac.PutFeatureFlags("a", "e", "flags", map[string]mwtest.Flag{"f": flag})
	get(t, acSrv, configPath("a", "e", "p"), nil)
	get(t, acSrv, configPath("a", "e", "flags"), nil)
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.SetToken(canaryToken)
	e.PutParameter("/p", mwtest.TypeSecureString, canaryValue)
	e.PutSecret("s", canaryValue)
	e.PutSecretBinary("b", []byte(canaryValue))
	e.SetFaults(mwtest.Faults{Seed: 1})
	get(t, srv, paramPath("/p", "&withDecryption=true"), map[string][]string{mwtest.TokenHeader: {canaryToken}})
	get(t, srv, secretPath("s"), map[string][]string{mwtest.TokenHeader: {canaryToken}})

	type holder struct {
		V mwtest.Values
		E *mwtest.Extension
	}
	args := map[string]any{
		"Values":          vals,
		"*Values":         &vals,
		"*Extension":      e,
		"Stats":           e.Stats(),
		"Dialect":         e.Dialect(),
		"[]any":           []any{vals, e},
		"map":             map[string]mwtest.Values{"k": vals},
		"struct":          holder{vals, e},
		"*struct":         &holder{vals, e},
		"context":         mwtest.NewContext(context.Background(), vals),
		"[]mwtest.Values": []mwtest.Values{vals},
		"AppConfig":       ac,
		"AppConfig Stats": ac.Stats(),
		"Flag":            flag,
		"*Flag":           &flag,
		"map of Flag":     map[string]mwtest.Flag{"f": flag},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%o", "%b", "%e", "%f", "%g", "%c", "%U", "%T", "%10.3v", "%-20s", "%+q", "%#x", "%x % x"}
	forbidden := []string{canaryValue, canaryToken}
	for _, s := range []string{canaryValue, canaryToken} {
		forbidden = append(forbidden, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s))))
	}
	for name, arg := range args {
		for _, verb := range verbs {
			got := fmt.Sprintf(verb, arg, arg)
			for _, f := range forbidden {
				if strings.Contains(got, f) {
					t.Errorf("Sprintf(%q, %s) shows a value or the token: %s", verb, name, got)
					break
				}
			}
		}
	}
	// %p prints a pointer's address; on a struct it is a vet error, and
	// fmt then prints the struct's fields itself, methods aside.
	for _, arg := range []any{&vals, e} {
		if got := fmt.Sprintf("%p", arg); strings.Contains(got, canaryValue) || strings.Contains(got, canaryToken) {
			t.Errorf("%%p: %s", got)
		}
	}
}

// What Values and Extension print says what they hold: the names, the
// dialect.
func TestPrintingShowsNames(t *testing.T) {
	vals := mwtest.Values{Parameters: map[string]string{"/b": "1", "/a": "2"}, Secrets: map[string]string{"prod/db": "3"}}
	want := `mwtest.Values{Parameters: ["/a" "/b"], Secrets: ["prod/db"]}`
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, vals); got != want {
			t.Errorf("Sprintf(%q, vals) = %s, want %s", verb, got, want)
		}
	}
	if got := vals.String(); got != want {
		t.Errorf("String() = %s", got)
	}
	if got := fmt.Sprint(mwtest.Values{}); got != "mwtest.Values{Parameters: [], Secrets: []}" {
		t.Errorf("empty: %s", got)
	}
	vals.AppConfig = map[string]string{"flags": "{}"}
	if got, want := fmt.Sprint(vals), `mwtest.Values{Parameters: ["/a" "/b"], Secrets: ["prod/db"], AppConfig: ["flags"]}`; got != want {
		t.Errorf("with AppConfig: %s, want %s", got, want)
	}
	f := mwtest.Flag{Enabled: true, Attributes: map[string]any{"b": 1, "a": "x"}}
	if got, want := fmt.Sprintf("%v %#v", f, f), `mwtest.Flag{Enabled: true, Attributes: ["a" "b"]} mwtest.Flag{Enabled: true, Attributes: ["a" "b"]}`; got != want {
		t.Errorf("Flag prints %s, want %s", got, want)
	}
	e := mwtest.New(mwtest.Agent)
	e.PutSecret("s", "v")
	if got := fmt.Sprintf("%v %s %#v", e, e, e); got != "mwtest.Extension(agent) mwtest.Extension(agent) mwtest.Extension(agent)" {
		t.Errorf("Extension prints %s", got)
	}
	if got := (*mwtest.Extension)(nil).String(); got != "mwtest.Extension(nil)" {
		t.Errorf("nil Extension: %s", got)
	}
}
