package mwtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

// The AppConfig dialect's multi-variant flags, chosen by the Context
// headers.

// checkout is a multi-variant flag as AWS's example shapes one: variants
// checked in order, the default last.
func checkout() mwtest.Flag {
	return mwtest.Flag{
		Variants: []mwtest.Variant{
			{Name: "uk-gold", Enabled: true, Attributes: map[string]any{"limit": 500}, When: map[string]string{"country": "UK", "tier": "gold"}},
			{Name: "uk", Enabled: true, Attributes: map[string]any{"limit": 100}, When: map[string]string{"country": "UK"}},
			{Name: "beta", Enabled: false, Attributes: map[string]any{"limit": 1}, When: map[string]string{"beta": "true"}},
			{Name: "off", Enabled: false},
		},
		DefaultVariant: "off",
	}
}

func TestAppConfigVariantsChosenByContext(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutFeatureFlags("app", "prod", "flags", map[string]mwtest.Flag{
		"checkout": checkout(),
		"banner":   {Enabled: true, Attributes: map[string]any{"text": "hi"}},
	})
	one := configPath("app", "prod", "flags", "flag=checkout")
	for _, tc := range []struct {
		name    string
		context []string
		want    string
	}{
		{"no context: the default variant", nil, `{"_variant":"off","enabled":false}`},
		{"one header", []string{"country=UK"}, `{"_variant":"uk","enabled":true,"limit":100}`},
		{"a header each, the first match wins", []string{"country=UK", "tier=gold"}, `{"_variant":"uk-gold","enabled":true,"limit":500}`},
		{"comma-separated in one header", []string{"tier=gold,country=UK"}, `{"_variant":"uk-gold","enabled":true,"limit":500}`},
		{"spaces around entries and '='", []string{" country = UK , tier=gold "}, `{"_variant":"uk-gold","enabled":true,"limit":500}`},
		{"a value must match exactly", []string{"country=uk"}, `{"_variant":"off","enabled":false}`},
		{"every key of When must match", []string{"tier=gold"}, `{"_variant":"off","enabled":false}`},
		{"a later entry of a key overrides", []string{"country=FR", "country=UK"}, `{"_variant":"uk","enabled":true,"limit":100}`},
		{"a disabled variant has no attributes", []string{"beta=true"}, `{"_variant":"beta","enabled":false}`},
		{"keys no rule reads are ignored", []string{"country=UK,userId=42"}, `{"_variant":"uk","enabled":true,"limit":100}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatusBody(t, get(t, srv, one, http.Header{"Context": tc.context}), http.StatusOK, tc.want)
		})
	}

	// Several flags, and the whole profile, are evaluated against the
	// context too; a basic flag is the same whatever the context.
	uk := http.Header{"Context": {"country=UK"}}
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", "flag=banner", "flag=checkout"), uk), http.StatusOK,
		`{"banner":{"enabled":true,"text":"hi"},"checkout":{"_variant":"uk","enabled":true,"limit":100}}`)
	r := get(t, srv, configPath("app", "prod", "flags"), uk)
	wantStatusBody(t, r, http.StatusOK, `{"banner":{"enabled":true,"text":"hi"},"checkout":{"_variant":"uk","enabled":true,"limit":100}}`)
	if r.header.Get("Configuration-Version") != "1" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.header)
	}
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags"), nil), http.StatusOK,
		`{"banner":{"enabled":true,"text":"hi"},"checkout":{"_variant":"off","enabled":false}}`)
	if st := e.Stats(); st.Served["app/prod/flags"] != 13 {
		t.Errorf("served %d; want 13", st.Served["app/prod/flags"])
	}
}

// A Context entry that is not key=value is refused; a freeform profile
// ignores the header.
func TestAppConfigMalformedContext(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutFeatureFlags("app", "prod", "flags", map[string]mwtest.Flag{"checkout": checkout()})
	e.PutConfiguration("app", "prod", "settings", "text/plain", []byte("s"))
	for _, h := range []string{"country", "=UK", "country=UK,tier"} {
		wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", "flag=checkout"), http.Header{"Context": {h}}),
			http.StatusBadRequest, `{"Message":"malformed Context header: want key=value"}`)
	}
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "settings"), http.Header{"Context": {"country"}}), http.StatusOK, "s")
	// Empty entries are skipped.
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", "flag=checkout"), http.Header{"Context": {"country=UK,,", ""}}),
		http.StatusOK, `{"_variant":"uk","enabled":true,"limit":100}`)
}

// The fake keeps its own copy: changing the caller's maps after
// PutFeatureFlags changes nothing served.
func TestAppConfigVariantsCopied(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	f := checkout()
	e.PutFeatureFlags("app", "prod", "flags", map[string]mwtest.Flag{"checkout": f})
	f.Variants[1].When["country"] = "FR"
	f.Variants[1].Attributes["limit"] = 0
	f.Variants[0] = mwtest.Variant{Name: "x"}
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", "flag=checkout"), http.Header{"Context": {"country=UK"}}),
		http.StatusOK, `{"_variant":"uk","enabled":true,"limit":100}`)
}

// What AppConfig would refuse panics, naming the flag and never a value.
func TestAppConfigVariantsPanicOnMisuse(t *testing.T) {
	const canary = "CANARY-variant-value"
	with := func(mutate func(*mwtest.Flag)) func() {
		return func() {
			f := checkout()
			f.Variants[0].When["country"] = canary
			f.Variants[0].Attributes["limit"] = canary
			mutate(&f)
			mwtest.New(mwtest.AppConfig).PutFeatureFlags("a", "e", "p", map[string]mwtest.Flag{"checkout": f})
		}
	}
	want := map[string]string{
		"no default variant":         `DefaultVariant "" names none`,
		"an unknown default":         `DefaultVariant "nope" names none`,
		"a default with a rule":      `the default variant "off" has a When`,
		"a variant without a rule":   `variant "uk" has no When`,
		"two variants of a name":     `two variants are named "uk-gold"`,
		"a variant without a name":   `a variant has no name`,
		"the flag's own Enabled":     `leave the flag's own zero`,
		"the flag's own Attributes":  `leave the flag's own zero`,
		"a variant's attribute key":  `attribute key "Bad"`,
		"a default without variants": `the flag has none`,
	}
	for name, f := range map[string]func(){
		"no default variant":        with(func(f *mwtest.Flag) { f.DefaultVariant = "" }),
		"an unknown default":        with(func(f *mwtest.Flag) { f.DefaultVariant = "nope" }),
		"a default with a rule":     with(func(f *mwtest.Flag) { f.Variants[3].When = map[string]string{"k": canary} }),
		"a variant without a rule":  with(func(f *mwtest.Flag) { f.Variants[1].When = nil }),
		"two variants of a name":    with(func(f *mwtest.Flag) { f.Variants[1].Name = "uk-gold" }),
		"a variant without a name":  with(func(f *mwtest.Flag) { f.Variants[2].Name = "" }),
		"the flag's own Enabled":    with(func(f *mwtest.Flag) { f.Enabled = true }),
		"the flag's own Attributes": with(func(f *mwtest.Flag) { f.Attributes = map[string]any{"a": canary} }),
		"a variant's attribute key": with(func(f *mwtest.Flag) { f.Variants[1].Attributes["Bad"] = canary }),
		"a default without variants": func() {
			mwtest.New(mwtest.AppConfig).PutFeatureFlags("a", "e", "p", map[string]mwtest.Flag{"f": {Enabled: true, DefaultVariant: "off"}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Fatal("no panic")
				}
				if msg := fmt.Sprint(p); strings.Contains(msg, canary) || !strings.Contains(msg, `"a/e/p"`) || !strings.Contains(msg, want[name]) {
					t.Errorf("panic %q: want the profile named, %q, and no value", msg, want[name])
				}
			}()
			f()
		})
	}
}

// A Flag and a Variant print names, never a value.
func TestAppConfigVariantsPrintNoValue(t *testing.T) {
	const canary = "CANARY-printed"
	v := mwtest.Variant{Name: "gold", Enabled: true, Attributes: map[string]any{"limit": canary}, When: map[string]string{"tier": canary}}
	f := mwtest.Flag{Variants: []mwtest.Variant{v, {Name: "off"}}, DefaultVariant: "off"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for what, x := range map[string]any{"Flag": f, "*Flag": &f, "Variant": v, "[]Variant": f.Variants} {
			if got := fmt.Sprintf(verb, x); strings.Contains(got, canary) || strings.Contains(got, fmt.Sprintf("%x", canary)) {
				t.Errorf("%s under %s prints %s", what, verb, got)
			}
		}
	}
	if got, want := fmt.Sprint(f), `mwtest.Flag{Variants: ["gold" "off"], DefaultVariant: "off"}`; got != want {
		t.Errorf("Flag prints %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(v), `mwtest.Variant{Name: "gold", Enabled: true, Attributes: ["limit"], When: ["tier"]}`; got != want {
		t.Errorf("Variant prints %s, want %s", got, want)
	}
}
