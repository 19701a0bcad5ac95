package mw_test

import (
	"context"
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
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of mw's own AppConfig source (appconfig_agent.go) against
// mwtest's fake of the AWS AppConfig Agent Lambda extension: its requests,
// its answers and their fixes, the extension's first fetch, and one fetch
// per profile.

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

// Concurrent cold invokes, as under Lambda Managed Instances, fetch each
// profile once.
func TestAppConfigConcurrentColdInvokesFetchOnce(t *testing.T) {
	busy.Goroutines(t, 0)
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
