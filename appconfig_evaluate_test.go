package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// EvaluateFlag through the AWS AppConfig Agent Lambda extension's fake: a
// multi-variant flag evaluated against a caller's context.

// evalCanary stands for what must never show outside a flag's value: a
// value of the caller's context, an attribute of the flag.
const evalCanary = "CANARY-eval-5e1f"

// evalWorld is mwtest's AppConfig fake, served over real HTTP, with the
// Context headers and queries of every request it got.
type evalWorld struct {
	ext *mwtest.Extension
	srv *httptest.Server

	mu       sync.Mutex
	requests []evalRequest
}

type evalRequest struct {
	query   string
	context []string
}

func newEvalWorld(t *testing.T) *evalWorld {
	t.Helper()
	w := &evalWorld{ext: mwtest.New(mwtest.AppConfig)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.requests = append(w.requests, evalRequest{r.URL.RawQuery, r.Header.Values("Context")})
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
				{Name: "uk-gold", Enabled: true, Attributes: map[string]any{"limit": 500.0, "note": evalCanary}, When: map[string]string{"country": "UK", "tier": "gold"}},
				{Name: "uk", Enabled: true, Attributes: map[string]any{"limit": 100.0}, When: map[string]string{"country": "UK"}},
				{Name: "off", Enabled: false},
			},
			DefaultVariant: "off",
		},
		"banner": {Enabled: true, Attributes: map[string]any{"text": "hi"}},
	})
	return w
}

func (w *evalWorld) seen() []evalRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.requests)
}

// wrap wraps h with the profile "flags" declared, through the fake.
func (w *evalWorld) wrap(h func(context.Context, map[string]string) (mw.Flag, error), more ...mw.Option) func(context.Context, map[string]string) (mw.Flag, error) {
	return mw.Wrap(h, append(w.ext.Options(w.srv.URL), append([]mw.Option{mw.WithAppConfig("shop", "prod", "flags")}, more...)...)...)
}

// evaluate is a handler that evaluates the flag "checkout" against its
// event.
func evaluate(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
	return mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
}

// noEvalCanary fails when an error, or any printed form of it, shows the
// canary.
func noEvalCanary(t *testing.T, err error) {
	t.Helper()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if s := fmt.Sprintf(verb, err); strings.Contains(s, evalCanary) {
			t.Errorf("%s of the error shows the canary: %s", verb, s)
		}
	}
}

func TestEvaluateFlagChoosesTheVariantByContext(t *testing.T) {
	w := newEvalWorld(t)
	h := w.wrap(evaluate)
	for _, tc := range []struct {
		evalCtx map[string]string
		variant string
		enabled bool
		limit   any
	}{
		{map[string]string{"country": "UK", "tier": "gold"}, "uk-gold", true, 500.0},
		{map[string]string{"country": "UK", "tier": "silver"}, "uk", true, 100.0},
		{map[string]string{"country": "FR"}, "off", false, nil},
		{nil, "off", false, nil},
	} {
		f, err := h(invokeCtx(t, 5*time.Second), tc.evalCtx)
		if err != nil || f.Variant != tc.variant || f.Enabled != tc.enabled || f.Attributes["limit"] != tc.limit {
			t.Errorf("%v: got %+v, %v; want variant %q, enabled %t, limit %v", tc.evalCtx, f, err, tc.variant, tc.enabled, tc.limit)
		}
	}
	// One fetch of the profile, then one request per evaluation: the flag
	// asked for, one Context header per entry, in key order.
	reqs := w.seen()
	want := []evalRequest{
		{"", nil},
		{"flag=checkout", []string{"country=UK", "tier=gold"}},
		{"flag=checkout", []string{"country=UK", "tier=silver"}},
		{"flag=checkout", []string{"country=FR"}},
		{"flag=checkout", nil},
	}
	if len(reqs) != len(want) {
		t.Fatalf("requests %+v; want %+v", reqs, want)
	}
	for i := range want {
		if reqs[i].query != want[i].query || !slices.Equal(reqs[i].context, want[i].context) {
			t.Errorf("request %d: %+v; want %+v", i, reqs[i], want[i])
		}
	}
}

// FeatureFlag answers from memory with the default variant; EvaluateFlag
// asks, each call, and returns a copy of the attributes the caller may
// change.
func TestEvaluateFlagBesideFeatureFlag(t *testing.T) {
	w := newEvalWorld(t)
	h := w.wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
		cached, err := mw.FeatureFlag(ctx, "flags", "checkout")
		if err != nil || cached.Variant != "off" || cached.Enabled {
			return cached, fmt.Errorf("FeatureFlag: %+v, %w", cached, err)
		}
		first, err := mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
		if err != nil {
			return first, err
		}
		first.Attributes["limit"] = -1.0
		return mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
	})
	f, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": "UK"})
	if err != nil || f.Variant != "uk" || f.Attributes["limit"] != 100.0 {
		t.Errorf("got %+v, %v", f, err)
	}
	if st := w.ext.Stats(); st.Served["shop/prod/flags"] != 3 {
		t.Errorf("served %d; want the profile once, and one request per evaluation", st.Served["shop/prod/flags"])
	}
}

// A flag the profile lacks is a *LookupError wrapping ErrUnknownFlag that
// names the flag and the profile.
func TestEvaluateFlagUnknownFlag(t *testing.T) {
	w := newEvalWorld(t)
	h := w.wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
		return mw.EvaluateFlag(ctx, "flags", "nope", evalCtx)
	})
	_, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": evalCanary})
	var le *mw.LookupError
	if !errors.As(err, &le) || !errors.Is(err, mw.ErrUnknownFlag) || le.Kind != mw.KindAppConfig || le.Name != "flags" ||
		!strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("got %v; want a *LookupError of profile flags wrapping ErrUnknownFlag, naming the flag", err)
	}
	noEvalCanary(t, err)
}

// An agent older than 2.0.45 ignores ?flag= and the Context header, and
// answers the whole profile: the flag is read from it, its default variant.
func TestEvaluateFlagOlderAgent(t *testing.T) {
	w := newEvalWorld(t)
	old := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.URL.RawQuery = ""
		r.Header.Del("Context")
		w.ext.ServeHTTP(rw, r)
	}))
	t.Cleanup(old.Close)
	h := mw.Wrap(evaluate, mw.WithAppConfigEndpoint(old.URL), mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags"))
	f, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": "UK"})
	if err != nil || f.Variant != "off" || f.Enabled {
		t.Errorf("got %+v, %v; want the default variant", f, err)
	}
	h = mw.Wrap(func(ctx context.Context, _ map[string]string) (mw.Flag, error) {
		return mw.EvaluateFlag(ctx, "flags", "nope", nil)
	}, mw.WithAppConfigEndpoint(old.URL), mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags"))
	if _, err := h(invokeCtx(t, 5*time.Second), nil); !errors.Is(err, mw.ErrUnknownFlag) {
		t.Errorf("a flag the whole profile lacks: %v; want ErrUnknownFlag", err)
	}
}

// A profile not declared, or read outside a wrapped handler, fails as the
// accessors do, with nothing sent.
func TestEvaluateFlagNotDeclared(t *testing.T) {
	w := newEvalWorld(t)
	h := w.wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
		return mw.EvaluateFlag(ctx, "other", "checkout", evalCtx)
	})
	_, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": evalCanary})
	var le *mw.LookupError
	if !errors.As(err, &le) || !errors.Is(err, mw.ErrNotDeclared) || le.Name != "other" {
		t.Errorf("got %v; want a *LookupError wrapping ErrNotDeclared", err)
	}
	noEvalCanary(t, err)
	if _, err := mw.EvaluateFlag(context.Background(), "flags", "checkout", nil); !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("outside a wrapped handler: %v; want ErrNoValues", err)
	}
	if n := len(w.seen()); n != 1 {
		t.Errorf("%d requests; want the profile's fetch only", n)
	}
}

func TestEvaluateFlagSourceNotEvaluable(t *testing.T) {
	// A source that serves AppConfig profiles, but is no FlagEvaluator.
	src := &kindSource{name: "profiles", kinds: []mw.Kind{mw.KindAppConfig}, values: map[string]string{"flags": `{"checkout":{"enabled":true}}`}}
	h := mw.Wrap(evaluate, mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags", mw.From(src)))
	_, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": evalCanary})
	var le *mw.LookupError
	if !errors.As(err, &le) || !errors.Is(err, mw.ErrNotEvaluable) || le.Name != "flags" ||
		!strings.Contains(err.Error(), "profiles source") || !strings.Contains(err.Error(), "AppConfig Agent or Cloud Extensions") {
		t.Errorf("got %v; want ErrNotEvaluable naming the source and what can evaluate", err)
	}
	noEvalCanary(t, err)
}

// The extension's failures are *FetchErrors naming the profile and the fix
// the answer points to, with nothing of the context in them.
func TestEvaluateFlagExtensionFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  func(w *evalWorld)
		class mw.Class
		fix   string
	}{
		{"denied", func(w *evalWorld) { w.ext.DenyConfiguration("shop", "prod", "flags") }, mw.ClassAccessDenied, "appconfig:StartConfigurationSession"},
		{"failing", func(w *evalWorld) { w.ext.FailNext("shop/prod/flags", mwtest.FaultServerError, 1) }, mw.ClassServerError, "CloudWatch logs"},
		{"throttled", func(w *evalWorld) { w.ext.FailNext("shop/prod/flags", mwtest.FaultThrottle, 1) }, mw.ClassThrottled, "POLL_INTERVAL"},
		{"gone", func(w *evalWorld) { w.srv.Close() }, mw.ClassUnavailable, "extension layer attached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newEvalWorld(t)
			var once sync.Once
			h := w.wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
				once.Do(func() { tc.fail(w) }) // after the profile's fetch
				return mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
			})
			_, err := h(invokeCtx(t, 5*time.Second), map[string]string{"country": evalCanary, "tier": evalCanary})
			var fe *mw.FetchError
			if !errors.As(err, &fe) || fe.Class != tc.class || fe.Kind != mw.KindAppConfig || fe.Name != "shop/prod/flags" ||
				fe.Source != "appconfig" || fe.Attempts != 1 || !strings.Contains(err.Error(), tc.fix) {
				t.Fatalf("got %v (%+v); want a *FetchError of class %s naming %q", err, fe, tc.class, tc.fix)
			}
			noEvalCanary(t, err)
		})
	}
}

// A key or a value the Context header cannot carry is refused before
// anything is sent.
func TestEvaluateFlagRefusesContextTheHeaderCannotCarry(t *testing.T) {
	w := newEvalWorld(t)
	h := w.wrap(evaluate)
	for _, evalCtx := range []map[string]string{
		{"country": "UK=" + evalCanary},
		{"country": "UK," + evalCanary},
		{"country": "UK\n" + evalCanary},
		{"country": "UK\r\nX-Injected: " + evalCanary},
		{"a=b": evalCanary},
		{"a,b": evalCanary},
		{"a\nb": evalCanary},
	} {
		_, err := h(invokeCtx(t, 5*time.Second), evalCtx)
		var fe *mw.FetchError
		if !errors.As(err, &fe) || fe.Class != mw.ClassConfig || !strings.Contains(err.Error(), "nothing was sent") ||
			!strings.Contains(err.Error(), "'='") {
			t.Errorf("%q: got %v; want a config failure, nothing sent", evalCtx, err)
		}
		noEvalCanary(t, err)
	}
	if reqs := w.seen(); len(reqs) != 1 || reqs[0].query != "" {
		t.Errorf("requests %+v; want the profile's fetch only", reqs)
	}
}

// The invoke's deadline bounds an evaluation the extension never answers.
func TestEvaluateFlagDeadlineBoundsAHungExtension(t *testing.T) {
	w := newEvalWorld(t)
	var once sync.Once
	h := w.wrap(func(ctx context.Context, evalCtx map[string]string) (mw.Flag, error) {
		once.Do(func() { w.ext.SetHang(true) })
		return mw.EvaluateFlag(ctx, "flags", "checkout", evalCtx)
	})
	done := make(chan error, 1)
	go func() {
		_, err := h(invokeCtx(t, 300*time.Millisecond), map[string]string{"country": "UK"})
		done <- err
	}()
	guard := time.NewTimer(10 * time.Second)
	defer guard.Stop()
	select {
	case err := <-done:
		var fe *mw.FetchError
		if !errors.As(err, &fe) || fe.Class != mw.ClassTimeout {
			t.Errorf("got %v; want a timeout", err)
		}
	case <-guard.C:
		t.Fatal("the evaluation outlived the invoke's deadline")
	}
}

// Concurrent invokes, beside busy goroutines, each get the variant of
// their own context.
func TestEvaluateFlagConcurrentInvokes(t *testing.T) {
	busy.Goroutines(t, 0)
	w := newEvalWorld(t)
	h := w.wrap(evaluate)
	contexts := []struct {
		evalCtx map[string]string
		variant string
	}{
		{map[string]string{"country": "UK", "tier": "gold"}, "uk-gold"},
		{map[string]string{"country": "UK"}, "uk"},
		{map[string]string{"country": "FR"}, "off"},
	}
	ctx := invokeCtx(t, 30*time.Second)
	var wg sync.WaitGroup
	for i := range 48 {
		c := contexts[i%len(contexts)]
		wg.Go(func() {
			f, err := h(ctx, c.evalCtx)
			if err != nil || f.Variant != c.variant {
				t.Errorf("%v: got %+v, %v; want %s", c.evalCtx, f, err, c.variant)
			}
		})
	}
	wg.Wait()
	if st := w.ext.Stats(); st.Served["shop/prod/flags"] != 49 {
		t.Errorf("served %d; want one fetch and 48 evaluations", st.Served["shop/prod/flags"])
	}
}

// In a test context, EvaluateFlag answers as FeatureFlag does, from the
// values, with no I/O.
func TestEvaluateFlagInTestContext(t *testing.T) {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{
		"flags": `{"checkout":{"_variant":"uk","enabled":true,"limit":100}}`,
	}})
	f, err := mw.EvaluateFlag(ctx, "flags", "checkout", map[string]string{"country": "FR"})
	if err != nil || f.Variant != "uk" || !f.Enabled || f.Attributes["limit"] != 100.0 {
		t.Errorf("got %+v, %v", f, err)
	}
	if _, err := mw.EvaluateFlag(ctx, "flags", "nope", nil); !errors.Is(err, mw.ErrUnknownFlag) {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := mw.EvaluateFlag(ctx, "other", "checkout", nil); !errors.Is(err, mw.ErrNotDeclared) {
		t.Errorf("undeclared profile: %v", err)
	}
}

// The answer to ?flag= is read in either shape, the flag's object alone or
// an object of flags by key, and an answer that is neither is malformed,
// without quoting it.
func TestEvaluateFlagReadsEitherShape(t *testing.T) {
	profile := `{"enabled":{"enabled":true},"checkout":{"enabled":false}}`
	for _, tc := range []struct {
		flag, answer string
		want         mw.Flag
		class        mw.Class // "" for success
		unknown      bool
	}{
		{"checkout", `{"_variant":"uk","enabled":true,"limit":100}`, mw.Flag{Enabled: true, Variant: "uk", Attributes: map[string]any{"limit": 100.0}}, "", false},
		{"checkout", `{"checkout":{"enabled":true,"checkout":"x"}}`, mw.Flag{Enabled: true, Attributes: map[string]any{"checkout": "x"}}, "", false},
		{"checkout", `{"enabled":true,"checkout":"x"}`, mw.Flag{Enabled: true, Attributes: map[string]any{"checkout": "x"}}, "", false},
		{"enabled", `{"enabled":{"enabled":true}}`, mw.Flag{Enabled: true}, "", false},
		{"other", `{"checkout":{"enabled":true}}`, mw.Flag{}, mw.ClassNotFound, true},
		{"other", `{}`, mw.Flag{}, mw.ClassNotFound, true},
		{"checkout", `["` + evalCanary + `"]`, mw.Flag{}, mw.ClassMalformed, false},
		{"checkout", `{"enabled":"` + evalCanary + `"}`, mw.Flag{}, mw.ClassMalformed, false},
		{"checkout", `{"checkout":{"enabled":true}` + evalCanary, mw.Flag{}, mw.ClassMalformed, false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.RawQuery == "" {
				fmt.Fprint(rw, profile)
				return
			}
			fmt.Fprint(rw, tc.answer)
		}))
		h := mw.Wrap(func(ctx context.Context, _ map[string]string) (mw.Flag, error) {
			return mw.EvaluateFlag(ctx, "flags", tc.flag, nil)
		}, mw.WithAppConfigEndpoint(srv.URL), mw.WithoutEnvironment(), mw.WithAppConfig("shop", "prod", "flags"))
		f, err := h(invokeCtx(t, 5*time.Second), nil)
		srv.Close()
		var fe *mw.FetchError
		switch {
		case tc.class == "" && (err != nil || fmt.Sprint(f) != fmt.Sprint(tc.want)):
			t.Errorf("%s: got %+v, %v; want %+v", tc.answer, f, err, tc.want)
		case tc.unknown && !errors.Is(err, mw.ErrUnknownFlag):
			t.Errorf("%s: got %v; want ErrUnknownFlag", tc.answer, err)
		case tc.class != "" && !tc.unknown && (!errors.As(err, &fe) || fe.Class != tc.class):
			t.Errorf("%s: got %v; want class %s", tc.answer, err, tc.class)
		}
		noEvalCanary(t, err)
	}
}
