package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The AppConfig source against mwtest's fake of the AWS AppConfig Agent
// Lambda extension.

// appWorld is a fake AppConfig extension served over real HTTP, through an
// optional wrapper that sees every request.
type appWorld struct {
	ext  *mwtest.Extension
	srv  *httptest.Server
	seen chan *http.Request // every request, when recording
}

func newAppWorld(t *testing.T, record bool) *appWorld {
	t.Helper()
	w := &appWorld{ext: mwtest.New(mwtest.AppConfig)}
	var h http.Handler = w.ext
	if record {
		w.seen = make(chan *http.Request, 100)
		h = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			w.seen <- r.Clone(context.Background())
			w.ext.ServeHTTP(rw, r)
		})
	}
	w.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		w.ext.Close()
		w.srv.Close()
	})
	return w
}

func (w *appWorld) opts(more ...mw.Option) []mw.Option {
	return append([]mw.Option{mw.WithAppConfigEndpoint(w.srv.URL), mw.WithoutEnvironment()}, more...)
}

type settings struct {
	Batch   int    `json:"batch"`
	Region  string `json:"region"`
	Enabled bool   `json:"enabled"`
}

// readAll is a handler that reads a JSON profile "settings" and the flag
// "new-checkout" of a profile "flags".
func readAll(ctx context.Context, _ struct{}) (string, error) {
	raw, err := mw.AppConfig(ctx, "settings")
	if err != nil {
		return "", err
	}
	s, err := mw.AppConfigJSON[settings](ctx, "settings")
	if err != nil {
		return "", err
	}
	f, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d bytes; batch %d in %s; new-checkout %t limit %v", len(raw), s.Batch, s.Region, f.Enabled, f.Attributes["limit"]), nil
}

func TestAppConfigIsFetchedOnceAndServedFromMemory(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutConfiguration("orders", "prod", "settings", "application/json", []byte(`{"batch":10,"region":"eu-west-1"}`))
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"new-checkout": {Enabled: true, Attributes: map[string]any{"limit": 5}}})
	clk := newClock()
	h := mw.Wrap(readAll, w.opts(withClock(clk),
		mw.WithAppConfig("orders", "prod", "settings"),
		mw.WithAppConfig("orders", "prod", "flags", mw.TTL(45*time.Second)))...)
	for range 3 {
		out, err := h(invokeCtx(t, 5*time.Second), struct{}{})
		if want := "33 bytes; batch 10 in eu-west-1; new-checkout true limit 5"; err != nil || out != want {
			t.Fatalf("got %q, %v; want %q", out, err, want)
		}
	}
	if st := w.ext.Stats(); st.Total != 2 || st.Served["orders/prod/settings"] != 1 || st.Served["orders/prod/flags"] != 1 {
		t.Errorf("stats %+v; want one request per profile", st)
	}
	// A new deployment reaches the function once the profile's TTL passes.
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"new-checkout": {Enabled: false}})
	clk.Advance(46 * time.Second)
	out, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if err != nil || !strings.HasSuffix(out, "new-checkout false limit <nil>") {
		t.Errorf("after the TTL: %q, %v", out, err)
	}
	if st := w.ext.Stats(); st.Served["orders/prod/flags"] != 2 || st.Served["orders/prod/settings"] != 1 {
		t.Errorf("stats %+v; want the flags fetched again, the settings not", st)
	}
}

// The request is the documented route, each name escaped on its own, with
// no token, whatever token mw would send the Parameters and Secrets
// extension, and no query.
func TestAppConfigRequestsFollowTheProtocol(t *testing.T) {
	t.Setenv("AWS_SESSION_TOKEN", canary)
	w := newAppWorld(t, true)
	w.ext.PutConfiguration("team/app", "pre prod", "..", "text/plain", []byte("x"))
	w.ext.PutConfiguration("a,b", "ünï", "p?q#r%", "text/plain", []byte("y"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		a, err := mw.AppConfig(ctx, "..")
		if err != nil {
			return "", err
		}
		b, err := mw.AppConfig(ctx, "p?q#r%")
		return string(a) + string(b), err
	}, w.opts(mw.WithToken(canary), mw.WithAppConfig("team/app", "pre prod", ".."), mw.WithAppConfig("a,b", "ünï", "p?q#r%"))...)
	if out, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || out != "xy" {
		t.Fatalf("got %q, %v", out, err)
	}
	close(w.seen)
	paths := map[string]bool{}
	for r := range w.seen {
		paths[r.URL.EscapedPath()] = true
		if r.Method != http.MethodGet || r.URL.RawQuery != "" || r.Body != http.NoBody && r.ContentLength > 0 {
			t.Errorf("%s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery)
		}
		for k, v := range r.Header {
			if strings.Contains(strings.Join(v, ","), canary) || strings.Contains(strings.ToLower(k), "token") {
				t.Errorf("header %s sent to the AppConfig extension", k)
			}
		}
	}
	for _, want := range []string{
		"/applications/team%2Fapp/environments/pre%20prod/configurations/%2E%2E",
		"/applications/a%2Cb/environments/%C3%BCn%C3%AF/configurations/p%3Fq%23r%25",
	} {
		if !paths[want] {
			t.Errorf("no request for %s; got %v", want, paths)
		}
	}
}

// Without an endpoint, the port comes from AWS_APPCONFIG_EXTENSION_HTTP_PORT
// on each fetch; a value that is not a port fails, naming it, with nothing
// dialled.
func TestAppConfigPortComesFromTheEnvironment(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutConfiguration("a", "e", "p", "", []byte("{}"))
	u, _ := url.Parse(w.srv.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	t.Setenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT", port)
	if _, err := mw.Wrap(echo, mw.WithAppConfig("a", "e", "p"))(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatalf("AWS_APPCONFIG_EXTENSION_HTTP_PORT=%s: %v", port, err)
	}
	for _, bad := range []string{"x", "0", "65536", "2772/", " 2772"} {
		t.Setenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT", bad)
		hc, dials := refusingDialer(1 << 30)
		_, err := mw.Wrap(echo, mw.WithAppConfig("a", "e", "p"), mw.WithHTTPClient(hc))(invokeCtx(t, 5*time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassConfig || fe.Source != "appconfig" || !strings.Contains(err.Error(), "AWS_APPCONFIG_EXTENSION_HTTP_PORT") || dials.Load() != 0 {
			t.Errorf("port %q: %d dials, %v", bad, dials.Load(), err)
		}
	}
}

// statusServer answers every request with status and body.
func statusServer(t *testing.T, status int, body string, header ...string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Each answer is classified with the fix it points to, and none is quoted.
func TestAppConfigAnswersAreClassifiedWithTheirFix(t *testing.T) {
	body := `{"Message":"` + canary + `","ResourceType":"Configuration"}`
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		class   mw.Class
		retried bool
		hint    []string
	}{
		{"missing profile", 404, body, mw.ClassNotFound, false,
			[]string{`configuration profile "flags" deployed to environment "prod" of application "orders"`, "names (or IDs)"}},
		{"missing application", 404, `{"Message":"x","ResourceType":"Application"}`, mw.ClassNotFound, false,
			[]string{`no application "orders"`}},
		{"missing environment", 404, `{"Message":"x","ResourceType":"Environment"}`, mw.ClassNotFound, false,
			[]string{`no environment "prod" in application "orders"`}},
		{"forbidden", 403, `{"Message":"` + canary + `"}`, mw.ClassAccessDenied, false,
			[]string{"appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration", "execution role"}},
		{"bad request", 400, canary, mw.ClassOther, false, []string{"BadRequestException", "comma"}},
		{"throttled", 429, canary, mw.ClassThrottled, true, []string{"AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS"}},
		{"server error", 502, canary, mw.ClassServerError, true, []string{"[appconfig agent]"}},
		{"teapot", 418, canary, mw.ClassOther, false, []string{"refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(srv.URL), mw.WithAppConfig("orders", "prod", "flags"))
			_, err := h(invokeCtx(t, 300*time.Millisecond), nil)
			fe := asFetchError(t, err)
			if fe.Class != tc.class || fe.Status != tc.status || fe.Source != "appconfig" || fe.Kind != mw.KindAppConfig || fe.Name != "orders/prod/flags" {
				t.Errorf("FetchError %+v", fe)
			}
			for _, h := range tc.hint {
				if !strings.Contains(fe.Hint(), h) {
					t.Errorf("hint %q lacks %q", fe.Hint(), h)
				}
			}
			if tc.retried != (n.Load() > 1) || !tc.retried && fe.Attempts != 1 {
				t.Errorf("%d requests, %d attempts; retried should be %t", n.Load(), fe.Attempts, tc.retried)
			}
			if strings.Contains(err.Error(), canary) {
				t.Errorf("the error quotes the body: %v", err)
			}
		})
	}
}

// Connection refused is "is the layer attached?", retried until the
// deadline; a redirect is refused; a body larger than AppConfig stores is
// malformed.
func TestAppConfigTransportFailures(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		hc, dials := refusingDialer(1 << 30)
		h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithHTTPClient(hc), mw.WithAppConfig("a", "e", "p"))
		_, err := h(invokeCtx(t, 300*time.Millisecond), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassUnavailable || !strings.Contains(fe.Hint(), "AWS AppConfig Agent Lambda extension layer attached") ||
			!strings.Contains(fe.Hint(), "AWS_APPCONFIG_EXTENSION_HTTP_PORT") || dials.Load() < 3 {
			t.Errorf("%d dials: %v", dials.Load(), err)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		other, reached := elsewhere(t)
		srv := statusServer(t, http.StatusFound, "", "Location", other.URL)
		_, err := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(srv.URL), mw.WithAppConfig("a", "e", "p"))(invokeCtx(t, 5*time.Second), nil)
		if fe := asFetchError(t, err); fe.Status != http.StatusFound || fe.Attempts != 1 || !strings.Contains(err.Error(), "redirect") || reached.Load() != 0 {
			t.Errorf("%d reached: %v", reached.Load(), err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		srv := statusServer(t, http.StatusOK, strings.Repeat("x", 4<<20+1))
		_, err := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(srv.URL), mw.WithAppConfig("a", "e", "p"))(invokeCtx(t, 5*time.Second), nil)
		if fe := asFetchError(t, err); fe.Class != mw.ClassMalformed || fe.Attempts != 1 {
			t.Errorf("%v", err)
		}
		srv = statusServer(t, http.StatusOK, strings.Repeat("x", 4<<20)) // AppConfig's largest
		if _, err := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(srv.URL), mw.WithAppConfig("a", "e", "p"))(invokeCtx(t, 5*time.Second), nil); err != nil {
			t.Errorf("4 MiB: %v", err)
		}
	})
	t.Run("retried then served", func(t *testing.T) {
		w := newAppWorld(t, false)
		w.ext.PutConfiguration("a", "e", "p", "", []byte("{}"))
		for _, f := range []mwtest.Faults{{Throttle: 1}, {ServerError: 1}, {Reset: 1}} {
			w.ext.Reset()
			w.ext.SetFaults(f)
			srv := httptest.NewServer(faultsFor(w.ext, 2))
			t.Cleanup(srv.Close)
			_, err := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(srv.URL), mw.WithAppConfig("a", "e", "p"),
				mw.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))(invokeCtx(t, 5*time.Second), nil)
			if st := w.ext.Stats(); err != nil || st.Total != 3 || st.Served["a/e/p"] != 1 {
				t.Errorf("%+v: %v; stats %+v", f, err, st)
			}
		}
	})
}

// The extension answers a request for data it has not fetched yet once it
// has: mw waits for that one answer, within the fetch's bounds, and sends
// nothing more.
func TestAppConfigWaitsForTheExtensionsFirstFetch(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutConfiguration("a", "e", "p", "", []byte(`{"batch":1}`))
	w.ext.SetReady(false)
	go func() {
		if w.ext.WaitHanging(nil, 1) {
			w.ext.SetReady(true)
		}
	}()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}, w.opts(mw.WithAppConfig("a", "e", "p"))...)
	if out, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || out != `{"batch":1}` {
		t.Fatalf("got %q, %v", out, err)
	}
	if st := w.ext.Stats(); st.Total != 1 || st.NotReady != 1 || st.Served["a/e/p"] != 1 {
		t.Errorf("stats %+v; want one request, held, then served", st)
	}

	// An extension that never gets there holds the invoke no longer than
	// its deadline.
	w.ext.SetReady(false)
	start := time.Now()
	_, err := mw.Wrap(echo, w.opts(mw.WithAppConfig("a", "e", "q"))...)(invokeCtx(t, 300*time.Millisecond), nil)
	if fe := asFetchError(t, err); fe.Class != mw.ClassTimeout || time.Since(start) > 2*time.Second {
		t.Errorf("after %v: %v", time.Since(start), err)
	}
}

func TestFeatureFlags(t *testing.T) {
	flags := `{"new-checkout":{"enabled":true,"limit":5,"label":"New","beta":true,"regions":["eu","us"],"steps":[1,2.5],"mixed":[1,"a"],"_variant":"Wide"},` +
		`"dark-mode":{"enabled":false},"odd":{"enabled":true,"obj":{"a":[1]}}}`
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{"flags": flags, "settings": `{"batch":1}`, "yaml": "a: 1\n"}})

	f, err := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if err != nil || !f.Enabled || f.Variant != "Wide" {
		t.Fatalf("new-checkout: %+v, %v", f, err)
	}
	want := map[string]any{"limit": 5.0, "label": "New", "beta": true, "regions": []string{"eu", "us"}, "steps": []float64{1, 2.5}, "mixed": []any{1.0, "a"}}
	if fmt.Sprint(f.Attributes) != fmt.Sprint(want) {
		t.Errorf("attributes %#v, want %#v", f.Attributes, want)
	}
	if _, ok := f.Attributes["regions"].([]string); !ok {
		t.Errorf("regions is %T, want []string", f.Attributes["regions"])
	}
	// Each call gets its own copy.
	f.Attributes["limit"] = 0
	f.Attributes["regions"].([]string)[0] = "xx"
	f.Attributes["mixed"].([]any)[0] = "xx"
	g, _ := mw.FeatureFlag(ctx, "flags", "new-checkout")
	if g.Attributes["limit"] != 5.0 || g.Attributes["regions"].([]string)[0] != "eu" || g.Attributes["mixed"].([]any)[0] != 1.0 {
		t.Errorf("a caller's change reached another caller: %#v", g.Attributes)
	}
	o, _ := mw.FeatureFlag(ctx, "flags", "odd")
	o.Attributes["obj"].(map[string]any)["a"].([]any)[0] = "xx"
	if o2, _ := mw.FeatureFlag(ctx, "flags", "odd"); fmt.Sprint(o2.Attributes) != "map[obj:map[a:[1]]]" {
		t.Errorf("nested attribute shared: %v", o2.Attributes)
	}

	if d, err := mw.FeatureFlag(ctx, "flags", "dark-mode"); err != nil || d.Enabled || d.Attributes != nil || d.Variant != "" {
		t.Errorf("dark-mode: %+v, %v", d, err)
	}

	_, err = mw.FeatureFlag(ctx, "flags", "nope")
	var le *mw.LookupError
	if !errors.Is(err, mw.ErrUnknownFlag) || !errors.As(err, &le) || le.Kind != mw.KindAppConfig || le.Name != "flags" ||
		err.Error() != `mw: appconfig "flags": no such feature flag in the profile: "nope"` {
		t.Errorf("unknown flag: %v", err)
	}
	for profile, msg := range map[string]string{
		"settings": `a flag is not a JSON object`,
		"yaml":     "invalid JSON at byte",
	} {
		_, err := mw.FeatureFlag(ctx, profile, "x")
		if !errors.Is(err, mw.ErrDecode) || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), profile) {
			t.Errorf("%s: %v", profile, err)
		}
	}
	_, err = mw.FeatureFlag(ctx, "undeclared", "x")
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `not in this test's values: add it to the mwtest.Values`) {
		t.Errorf("undeclared: %v", err)
	}
}

// Malformed feature flags are a decode error that holds nothing of the
// configuration, not even a flag's key.
func TestFeatureFlagDecodeErrorsHoldNoCanary(t *testing.T) {
	for _, raw := range []string{
		`[` + `"` + canary + `"]`,
		`{"` + canary + `":{"enabled":"` + canary + `"}}`,
		`{"` + canary + `":1}`,
		`{"` + canary + `":{"enabled":true,"_variant":["` + canary + `"]}}`,
		`{"` + canary,
		`"` + canary + `"`,
	} {
		ctx := mwtest.NewContext(context.Background(), mwtest.Values{AppConfig: map[string]string{"flags": raw}})
		_, err := mw.FeatureFlag(ctx, "flags", "f")
		if !errors.Is(err, mw.ErrDecode) || strings.Contains(err.Error(), canary) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), canary) {
			t.Errorf("%s: %v", raw, err)
		}
		_, err = mw.AppConfigJSON[settings](ctx, "flags") // may succeed: unknown keys are ignored
		if err != nil && strings.Contains(err.Error(), canary) {
			t.Errorf("AppConfigJSON %s: %v", raw, err)
		}
	}
}

// AppConfig returns a new slice per call; AppConfigJSON decodes as the
// other typed accessors do; a Default is served and decoded like a fetched
// value.
func TestAppConfigAccessors(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutConfiguration("a", "e", "settings", "", []byte(`{"batch":7}`))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b1, _ := mw.AppConfig(ctx, "settings")
		b1[0] = 'X'
		b2, _ := mw.AppConfig(ctx, "settings")
		s, err := mw.AppConfigJSON[settings](ctx, "cfg")
		if err != nil {
			return "", err
		}
		f, err := mw.FeatureFlag(ctx, "flags", "on")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %d %t", b2, s.Batch, f.Enabled), nil
	}, w.opts(
		mw.WithAppConfig("a", "e", "settings"),
		mw.WithAppConfig("a", "e", "settings", mw.Alias("cfg")),
		mw.WithAppConfig("a", "e", "flags", mw.Default(`{"on":{"enabled":true}}`)),
	)...)
	out, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if want := `{"batch":7} 7 true`; err != nil || out != want {
		t.Errorf("got %q, %v; want %q", out, err, want)
	}
	if st := w.ext.Stats(); st.Served["a/e/settings"] != 1 {
		t.Errorf("one profile under two refs was fetched %d times", st.Served["a/e/settings"])
	}
}

// Profiles are read by profile name: the same name in two applications
// needs an Alias; a profile needs an application and an environment; an
// endpoint off loopback is refused unless allowed.
func TestAppConfigDeclarations(t *testing.T) {
	err := mustPanic(t, func() {
		mw.Wrap(echo, mw.WithAppConfig("a", "prod", "flags"), mw.WithAppConfig("b", "prod", "flags"))
	})
	if !strings.Contains(err.Error(), `appconfig "flags" is declared twice`) || !strings.Contains(err.Error(), "Alias") {
		t.Errorf("same profile name twice: %v", err)
	}
	mw.Wrap(echo, mw.WithAppConfig("a", "prod", "flags", mw.Alias("a-flags")), mw.WithAppConfig("b", "prod", "flags", mw.Alias("b-flags")))
	for _, decl := range []mw.Option{mw.WithAppConfig("", "prod", "p"), mw.WithAppConfig("a", "", "p"), mw.WithAppConfig("a", "prod", "")} {
		if err := mustPanic(t, func() { mw.Wrap(echo, decl) }); !strings.Contains(err.Error(), "appconfig") {
			t.Errorf("%v", err)
		}
	}
	mw.Wrap(echo, mw.WithAppConfigEndpoint("http://localhost:2772"))
	err = mustPanic(t, func() { mw.Wrap(echo, mw.WithAppConfigEndpoint("http://192.0.2.1:2772")) })
	if !strings.Contains(err.Error(), "WithAppConfigEndpoint") || !strings.Contains(err.Error(), "not a loopback host") || strings.Contains(err.Error(), "token") {
		t.Errorf("remote endpoint: %v", err)
	}
	mw.Wrap(echo, mw.WithAppConfigEndpoint("http://192.0.2.1:2772"), mw.WithRemoteEndpoint())
	if err := mustPanic(t, func() { mw.Wrap(echo, mw.WithAppConfigEndpoint("ftp://localhost")) }); !strings.Contains(err.Error(), "http://") {
		t.Errorf("ftp: %v", err)
	}
}

// A source of the user's that serves AppConfig comes first; the default
// still serves what it does not.
func TestAUserSourceServesAppConfigFirst(t *testing.T) {
	var asked atomic.Int64
	src := &mapSource{kind: mw.KindAppConfig, values: map[string]string{"p": "mine"}, asked: &asked}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithAppConfig("a", "e", "p"))
	if out, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || out != "mine" || asked.Load() != 1 {
		t.Errorf("got %q, %v, %d asks", out, err, asked.Load())
	}
}

// mapSource serves one kind from a map.
type mapSource struct {
	kind   mw.Kind
	values map[string]string
	asked  *atomic.Int64
}

func (s *mapSource) Name() string { return "map" }

func (s *mapSource) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != s.kind {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "get"}, nil
}

func (s *mapSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	out := make([]mw.Result, len(items))
	for i, it := range items {
		s.asked.Add(1)
		out[i].Value = s.values[it.Name]
	}
	return out
}

// Concurrent cold invokes, as under Lambda Managed Instances, fetch each
// profile once.
func TestAppConfigConcurrentColdInvokesFetchOnce(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutFeatureFlags("a", "e", "flags", map[string]mwtest.Flag{"f": {Enabled: true}})
	w.ext.SetLatency(20 * time.Millisecond)
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) {
		f, err := mw.FeatureFlag(ctx, "flags", "f")
		return f.Enabled, err
	}, w.opts(mw.WithAppConfig("a", "e", "flags"))...)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if on, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || !on {
				t.Errorf("%t, %v", on, err)
			}
		})
	}
	wg.Wait()
	if st := w.ext.Stats(); st.Total != 1 {
		t.Errorf("%d requests for 50 concurrent cold invokes; want 1", st.Total)
	}
}

// A profile is named as handlers read it, by its profile name, in errors;
// read by its application/environment/profile, which errors also show, it
// says to pass the profile's name.
func TestAProfileIsNamedAsHandlersReadIt(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"x": {Enabled: true}})
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		_, err := mw.FeatureFlag(ctx, "orders/prod/flags", "x")
		return "", err
	}, w.opts(mw.WithAppConfig("orders", "prod", "flags"))...)
	_, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if !errors.Is(err, mw.ErrNotDeclared) || !strings.Contains(err.Error(), `read by "flags": pass that to mw.AppConfig`) {
		t.Errorf("read by application/environment/profile: %v", err)
	}

	_, err = mw.Wrap(echo, w.opts(mw.WithAppConfig("orders", "prod", "missing"))...)(invokeCtx(t, 5*time.Second), nil)
	if fe := asFetchError(t, err); !strings.Contains(fe.Error(), `appconfig "missing" (orders/prod/missing)`) {
		t.Errorf("FetchError %q; want it to name the profile as handlers read it", fe)
	}
}

// WithAppConfig's handle reads its profile, its flags and its JSON with no
// name to repeat, and prints no configuration.
func TestAnAppConfigHandleReadsItsProfile(t *testing.T) {
	w := newAppWorld(t, false)
	w.ext.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"beta": {Enabled: true}})
	flags := mw.WithAppConfig("orders", "prod", "flags", mw.Default(`{"beta":{"enabled":false}}`))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		raw, err := flags.Value(ctx)
		if err != nil {
			return "", err
		}
		f, err := flags.Flag(ctx, "beta")
		if err != nil {
			return "", err
		}
		m, err := mw.JSON[map[string]map[string]bool](ctx, flags)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%t %t %t", len(raw) > 0, f.Enabled, m["beta"]["enabled"]), nil
	}, w.opts(flags)...)
	if got, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || got != "true true true" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		if s := fmt.Sprintf(verb, flags); strings.Contains(s, "enabled") || !strings.Contains(s, "flags") {
			t.Errorf("%s prints %q", verb, s)
		}
	}
}
