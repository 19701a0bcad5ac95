package openfeature_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
	mwof "github.com/lambda-mw/mw/openfeature"
)

// canary stands for what must never show in an error: a value of the
// evaluation context, or of a flag's attributes.
const canary = "CANARY-of-3c9d"

// world is mwtest's fake of the AWS AppConfig Agent Lambda extension,
// over real HTTP, recording the Context headers of each request, with an
// OpenFeature API of its own whose provider is mw's.
type world struct {
	ext    *mwtest.Extension
	srv    *httptest.Server
	client *openfeature.Client

	mu       sync.Mutex
	requests [][]string // each request's Context headers
}

func newWorld(t *testing.T, opts ...mwof.Option) *world {
	t.Helper()
	w := &world{ext: mwtest.New(mwtest.AppConfig)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.requests = append(w.requests, r.Header.Values("Context"))
		w.mu.Unlock()
		w.ext.ServeHTTP(rw, r)
	}))
	t.Cleanup(func() {
		w.ext.Close()
		w.srv.Close()
	})
	w.ext.PutFeatureFlags("shop", "prod", "flags", map[string]mwtest.Flag{
		"checkout": {
			Variants: []mwtest.Variant{
				{Name: "uk-gold", Enabled: true, When: map[string]string{"country": "UK", "tier": "gold"}, Attributes: map[string]any{
					"currency": "GBP", "limit": 500, "ratio": 0.5, "express": true, "methods": []string{"card", "paypal"}, "note": canary}},
				{Name: "uk", Enabled: true, When: map[string]string{"country": "UK"}, Attributes: map[string]any{"currency": "GBP", "limit": 100}},
				{Name: "off"},
			},
			DefaultVariant: "off",
		},
		"banner": {Enabled: true, Attributes: map[string]any{"text": "hi"}},
		"legacy": {Enabled: false, Attributes: map[string]any{"text": "old"}},
	})
	w.ext.PutConfiguration("shop", "prod", "settings", "application/json", []byte(`{"batch":10}`))
	api := isolated.NewAPI()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := api.SetProviderAndWait(ctx, mwof.NewProvider("flags", opts...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	w.client = api.NewClient()
	return w
}

// invoke runs f inside a handler wrapped by mw.Wrap, with the profiles
// "flags" and "settings" declared, and its ctx.
func (w *world) invoke(t *testing.T, f func(ctx context.Context)) {
	t.Helper()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (struct{}, error) {
		f(ctx)
		return struct{}{}, nil
	}, append(w.ext.Options(w.srv.URL), mw.WithAppConfig("shop", "prod", "flags"), mw.WithAppConfig("shop", "prod", "settings"))...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h(ctx, struct{}{}); err != nil {
		t.Fatal(err)
	}
}

// evaluations is the number of requests that carried an evaluation
// context, and their Context headers.
func (w *world) evaluations() [][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out [][]string
	for _, r := range w.requests {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

func (w *world) requestCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests)
}

// detail is what a test checks of an evaluation.
type detail struct {
	value   any
	reason  openfeature.Reason
	variant string
	code    openfeature.ErrorCode
}

func details[T any](d openfeature.GenericEvaluationDetails[T]) detail {
	return detail{d.Value, d.Reason, d.Variant, d.ErrorCode}
}

// Without attributes, flags are read from the profile mw fetched: no
// request.
func TestNoContextReadsMemory(t *testing.T) {
	w := newWorld(t)
	none := openfeature.EvaluationContext{}
	w.invoke(t, func(ctx context.Context) {
		before := w.requestCount()
		b, _ := w.client.BooleanValueDetails(ctx, "banner", false, none)
		c, _ := w.client.BooleanValueDetails(ctx, "checkout", true, none)
		v, _ := w.client.StringValueDetails(ctx, "checkout", "", none)
		s, _ := w.client.StringValueDetails(ctx, "banner.text", "", none)
		for what, got := range map[string]detail{
			"banner":      details(b),
			"checkout":    details(c),
			"variant":     details(v),
			"banner.text": details(s),
		} {
			want := map[string]detail{
				"banner":      {true, openfeature.StaticReason, "", ""},
				"checkout":    {false, openfeature.DefaultReason, "off", ""},
				"variant":     {"off", openfeature.DefaultReason, "off", ""},
				"banner.text": {"hi", openfeature.StaticReason, "", ""},
			}[what]
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %+v; want %+v", what, got, want)
			}
		}
		if n := w.requestCount() - before; n != 0 {
			t.Errorf("%d requests; want none", n)
		}
	})
}

// With attributes, each evaluation is one request, its context in the
// Context headers, the targeting key included.
func TestContextEvaluates(t *testing.T) {
	w := newWorld(t)
	gold := openfeature.NewEvaluationContext("user-1", map[string]any{"country": "UK", "tier": "gold"})
	fr := openfeature.NewTargetlessEvaluationContext(map[string]any{"country": "FR"})
	w.invoke(t, func(ctx context.Context) {
		b, err := w.client.BooleanValueDetails(ctx, "checkout", false, gold)
		if got, want := details(b), (detail{true, openfeature.TargetingMatchReason, "uk-gold", ""}); err != nil || got != want {
			t.Errorf("checkout for UK gold: %+v, %v; want %+v", got, err, want)
		}
		for key, want := range map[string]any{
			"checkout.currency": "GBP",
			"checkout.ratio":    0.5,
			"checkout.limit":    int64(500),
			"checkout.express":  true,
			"checkout.methods":  []string{"card", "paypal"},
			"checkout":          "uk-gold",
		} {
			var got any
			var err error
			switch want.(type) {
			case string:
				got, err = w.client.StringValue(ctx, key, "", gold)
			case float64:
				got, err = w.client.FloatValue(ctx, key, 0, gold)
			case int64:
				got, err = w.client.IntValue(ctx, key, 0, gold)
			case bool:
				got, err = w.client.BooleanValue(ctx, key, false, gold)
			default:
				got, err = w.client.ObjectValue(ctx, key, nil, gold)
			}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %v, %v; want %v", key, got, err, want)
			}
		}
		o, err := w.client.ObjectValue(ctx, "checkout", nil, gold)
		if m, ok := o.(map[string]any); err != nil || !ok || m["currency"] != "GBP" || len(m) != 6 {
			t.Errorf("checkout as an object: %v, %v", o, err)
		}
		d, err := w.client.BooleanValueDetails(ctx, "checkout", true, fr)
		if got, want := details(d), (detail{false, openfeature.DefaultReason, "off", ""}); err != nil || got != want {
			t.Errorf("checkout for FR: %+v, %v; want %+v", got, err, want)
		}
		n, err := w.client.BooleanValueDetails(ctx, "banner", false, fr)
		if got, want := details(n), (detail{true, openfeature.StaticReason, "", ""}); err != nil || got != want {
			t.Errorf("banner for FR: %+v, %v; want %+v", got, err, want)
		}
	})
	evals := w.evaluations()
	if len(evals) != 10 {
		t.Fatalf("%d evaluations sent; want one per call, 10", len(evals))
	}
	if want := []string{"country=UK", "targetingKey=user-1", "tier=gold"}; !slices.Equal(evals[0], want) {
		t.Errorf("Context headers %q; want %q", evals[0], want)
	}
}

// Values are sent as strings, the targeting key under the name the rules
// read; a value a rule cannot read is refused, named by its key, before
// anything is sent.
func TestContextValues(t *testing.T) {
	w := newWorld(t, mwof.WithTargetingKey("userId"))
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	w.invoke(t, func(ctx context.Context) {
		_, err := w.client.BooleanValue(ctx, "checkout", false, openfeature.NewEvaluationContext("u-7", map[string]any{
			"beta": true, "age": int64(42), "small": int8(-3), "count": uint(7), "ratio": 0.25, "big": 1e21, "since": at, "gone": nil,
		}))
		if err != nil {
			t.Fatal(err)
		}
		before := w.requestCount()
		d, err := w.client.BooleanValueDetails(ctx, "checkout", true, openfeature.NewTargetlessEvaluationContext(map[string]any{
			"tags": []string{canary}, "country": "UK",
		}))
		if d.Value != true || d.Reason != openfeature.ErrorReason || d.ErrorCode != openfeature.InvalidContextCode ||
			!strings.Contains(d.ErrorMessage, `"tags" is a []string`) || err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("a list in the context: %+v, %v; want INVALID_CONTEXT naming the key", d, err)
		}
		if n := w.requestCount() - before; n != 0 {
			t.Errorf("%d requests; want none", n)
		}
	})
	want := []string{"age=42", "beta=true", "big=1000000000000000000000", "count=7", "ratio=0.25", "since=2026-12-01T08:30:00Z", "small=-3", "userId=u-7"}
	if evals := w.evaluations(); len(evals) != 1 || !slices.Equal(evals[0], want) {
		t.Errorf("Context headers %q; want %q", evals, want)
	}
}

// A value of the wrong type, an attribute the flag lacks, and a disabled
// flag's attributes.
func TestTypesAndAbsence(t *testing.T) {
	w := newWorld(t)
	gold := openfeature.NewEvaluationContext("user-1", map[string]any{"country": "UK", "tier": "gold"})
	none := openfeature.EvaluationContext{}
	w.invoke(t, func(ctx context.Context) {
		for _, tc := range []struct {
			name string
			eval func() (detail, error)
			want detail
			msg  string
		}{
			{"a flag as a float", func() (detail, error) {
				d, err := w.client.FloatValueDetails(ctx, "checkout", 1.5, gold)
				return details(d), err
			}, detail{1.5, openfeature.ErrorReason, "", openfeature.TypeMismatchCode}, `read one of its attributes as "checkout.<attribute>"`},
			{"a fraction as an int", func() (detail, error) {
				d, err := w.client.IntValueDetails(ctx, "checkout.ratio", 9, gold)
				return details(d), err
			}, detail{int64(9), openfeature.ErrorReason, "", openfeature.TypeMismatchCode}, `attribute "ratio" of flag "checkout" is a number, not a whole number`},
			{"a basic flag as a string", func() (detail, error) {
				d, err := w.client.StringValueDetails(ctx, "banner", "x", none)
				return details(d), err
			}, detail{"x", openfeature.ErrorReason, "", openfeature.TypeMismatchCode}, `flag "banner" has no variants`},
			{"a string as a boolean", func() (detail, error) {
				d, err := w.client.BooleanValueDetails(ctx, "checkout.note", true, gold)
				return details(d), err
			}, detail{true, openfeature.ErrorReason, "", openfeature.TypeMismatchCode}, `attribute "note" of flag "checkout" is a string, not a boolean`},
			{"a missing attribute", func() (detail, error) {
				d, err := w.client.StringValueDetails(ctx, "banner.nope", "x", none)
				return details(d), err
			}, detail{"x", openfeature.ErrorReason, "", openfeature.FlagNotFoundCode}, `flag "banner" of profile "flags" has no attribute "nope"`},
			{"a missing flag", func() (detail, error) {
				d, err := w.client.BooleanValueDetails(ctx, "nope", true, gold)
				return details(d), err
			}, detail{true, openfeature.ErrorReason, "", openfeature.FlagNotFoundCode}, `"nope"`},
			{"a missing flag, no context", func() (detail, error) {
				d, err := w.client.BooleanValueDetails(ctx, "nope", true, none)
				return details(d), err
			}, detail{true, openfeature.ErrorReason, "", openfeature.FlagNotFoundCode}, `"nope"`},
			{"a disabled flag", func() (detail, error) {
				d, err := w.client.BooleanValueDetails(ctx, "legacy", true, none)
				return details(d), err
			}, detail{false, openfeature.DisabledReason, "", ""}, ""},
			{"a disabled flag's attribute", func() (detail, error) {
				d, err := w.client.StringValueDetails(ctx, "legacy.text", "dflt", none)
				return details(d), err
			}, detail{"dflt", openfeature.DisabledReason, "", ""}, ""},
			{"a disabled flag as an object", func() (detail, error) {
				d, err := w.client.ObjectValueDetails(ctx, "legacy", "dflt", none)
				return details(d), err
			}, detail{"dflt", openfeature.DisabledReason, "", ""}, ""},
			{"a disabled variant's attribute", func() (detail, error) {
				d, err := w.client.StringValueDetails(ctx, "checkout.currency", "USD", openfeature.NewTargetlessEvaluationContext(map[string]any{"country": "FR"}))
				return details(d), err
			}, detail{"USD", openfeature.DisabledReason, "off", ""}, ""},
		} {
			got, err := tc.eval()
			if got.code == "" && err != nil || got.code != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("%s: error %v; want one saying %q", tc.name, err, tc.msg)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: %+v; want %+v", tc.name, got, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), canary) {
				t.Errorf("%s: the error shows a value: %v", tc.name, err)
			}
		}
	})
}

// Failures carry OpenFeature's codes and mw's messages, with nothing of
// the context or of the flag in them.
func TestErrors(t *testing.T) {
	w := newWorld(t)
	ctxOf := func(country string) openfeature.EvaluationContext {
		return openfeature.NewEvaluationContext(canary, map[string]any{"country": country, "secret": canary})
	}
	check := func(what string, d openfeature.BooleanEvaluationDetails, err error, code openfeature.ErrorCode, msg string) {
		t.Helper()
		if d.Value != true || d.Reason != openfeature.ErrorReason || d.ErrorCode != code || err == nil || !strings.Contains(d.ErrorMessage, msg) {
			t.Errorf("%s: %+v, %v; want %s saying %q", what, d, err, code, msg)
		}
		for _, s := range []string{d.ErrorMessage, fmt.Sprint(err), fmt.Sprintf("%+v", d)} {
			if strings.Contains(s, canary) {
				t.Errorf("%s shows a value: %s", what, s)
			}
		}
	}

	// Outside a wrapped handler's ctx.
	d, err := w.client.BooleanValueDetails(context.Background(), "checkout", true, ctxOf("UK"))
	check("no mw values", d, err, openfeature.ProviderNotReadyCode, "evaluate with the ctx of a handler wrapped by mw.Wrap")

	// A profile not declared, and one that is not feature flags.
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), mwof.NewProvider("other"), openfeature.WithDomain("other")); err != nil {
		t.Fatal(err)
	}
	if err := api.SetProviderAndWait(context.Background(), mwof.NewProvider("settings"), openfeature.WithDomain("settings")); err != nil {
		t.Fatal(err)
	}
	w.invoke(t, func(ctx context.Context) {
		d, err := api.NewClient(openfeature.WithDomain("other")).BooleanValueDetails(ctx, "checkout", true, ctxOf("UK"))
		check("not declared", d, err, openfeature.GeneralCode, `"other" was not declared`)
		d, err = api.NewClient(openfeature.WithDomain("settings")).BooleanValueDetails(ctx, "checkout", true, openfeature.EvaluationContext{})
		check("not flags", d, err, openfeature.ParseErrorCode, "AWS.AppConfig.FeatureFlags")

		// A value the Context header cannot carry: refused, nothing sent.
		before := w.requestCount()
		d, err = w.client.BooleanValueDetails(ctx, "checkout", true, ctxOf("UK,"+canary))
		check("a comma", d, err, openfeature.GeneralCode, "nothing was sent")
		if n := w.requestCount() - before; n != 0 {
			t.Errorf("%d requests; want none", n)
		}

		// The extension refusing the evaluation, after the profile's fetch.
		w.ext.DenyConfiguration("shop", "prod", "flags")
		d, err = w.client.BooleanValueDetails(ctx, "checkout", true, ctxOf("UK"))
		check("denied", d, err, openfeature.GeneralCode, "appconfig:StartConfigurationSession")
	})
}

// Concurrent invokes, beside busy goroutines, share one provider, each
// evaluating with its own context.
func TestConcurrentInvokes(t *testing.T) {
	busy.Goroutines(t, 0)
	w := newWorld(t)
	h := mw.Wrap(func(ctx context.Context, country string) (string, error) {
		return w.client.StringValue(ctx, "checkout", "", openfeature.NewTargetlessEvaluationContext(map[string]any{"country": country}))
	}, append(w.ext.Options(w.srv.URL), mw.WithAppConfig("shop", "prod", "flags"))...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 32 {
		country, want := "UK", "uk"
		if i%2 == 1 {
			country, want = "FR", "off"
		}
		wg.Go(func() {
			if got, err := h(ctx, country); err != nil || got != want {
				t.Errorf("%s: %q, %v; want %q", country, got, err, want)
			}
		})
	}
	wg.Wait()
	if n := len(w.evaluations()); n != 32 {
		t.Errorf("%d evaluations sent; want 32", n)
	}
}

// In a context made by mwtest.NewContext, every evaluation reads the
// values it holds, with or without an evaluation context.
func TestInTestContext(t *testing.T) {
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	if err := api.SetProviderAndWait(context.Background(), mwof.NewProvider("flags")); err != nil {
		t.Fatal(err)
	}
	client := api.NewClient()
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"_variant":"uk","enabled":true,"currency":"GBP"}}`,
	}})
	for _, evalCtx := range []openfeature.EvaluationContext{{}, openfeature.NewEvaluationContext("u-1", map[string]any{"country": "FR"})} {
		d, err := client.StringValueDetails(ctx, "checkout.currency", "USD", evalCtx)
		if err != nil || d.Value != "GBP" || d.Variant != "uk" || d.Reason != openfeature.DefaultReason {
			t.Errorf("%v: %+v, %v", evalCtx, d, err)
		}
	}
	if _, err := client.BooleanValue(ctx, "nope", false, openfeature.EvaluationContext{}); err == nil || !strings.Contains(err.Error(), "FLAG_NOT_FOUND") {
		t.Errorf("an unknown flag: %v", err)
	}
}
