package mwtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// configPath is the AppConfig extension's route, each segment escaped as a
// client must.
func configPath(app, env, profile string, query ...string) string {
	p := "/applications/" + url.PathEscape(app) + "/environments/" + url.PathEscape(env) + "/configurations/" + url.PathEscape(profile)
	if len(query) > 0 {
		p += "?" + strings.Join(query, "&")
	}
	return p
}

func TestAppConfigServesTheLatestVersion(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	if v := e.PutConfiguration("app", "prod", "settings", "", []byte(`{"a":1}`)); v != 1 {
		t.Errorf("first version %d", v)
	}
	content := []byte("x: 1\n")
	if v := e.PutConfiguration("app", "prod", "settings", "application/x-yaml", content); v != 2 {
		t.Errorf("second version %d", v)
	}
	content[0] = 'y' // the fake keeps its own copy
	r := get(t, srv, configPath("app", "prod", "settings"), nil)
	if r.status != http.StatusOK || r.body != "x: 1\n" || r.header.Get("Content-Type") != "application/x-yaml" || r.header.Get("Configuration-Version") != "2" {
		t.Errorf("got %d %q %v", r.status, r.body, r.header)
	}
	// Another environment holds nothing; a token is neither wanted nor checked.
	r = get(t, srv, configPath("app", "test", "settings"), withToken)
	wantStatusBody(t, r, http.StatusNotFound, `{"Message":"Unrecognized or malformed path","ResourceType":"Configuration"}`)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("404 Content-Type %q", ct)
	}
	if e.Served("app/prod/settings") != 1 || e.Fetches("app/test/settings") != 1 || e.Served("app/test/settings") != 0 {
		t.Errorf("stats %+v", e.Stats())
	}
}

// Each segment is decoded on its own: a '/' inside a name travels as %2F.
func TestAppConfigEscapedNames(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutConfiguration("test-backend/test-service", "a b", "p%q", "text/plain", []byte("odd"))
	r := get(t, srv, configPath("test-backend/test-service", "a b", "p%q"), nil)
	if r.status != http.StatusOK || r.body != "odd" {
		t.Errorf("got %d %q", r.status, r.body)
	}
	if e.Served("test-backend/test-service/a b/p%q") != 1 {
		t.Errorf("Served by name: %v", e.Stats().Served)
	}
	for _, p := range []string{
		"/applications/test-backend/test-service/environments/a%20b/configurations/p%25q", // an unescaped slash
		"/applications/app/environments/prod/configurations/",
		"/applications/app/environments/prod",
		"/nowhere",
	} {
		wantStatusBody(t, get(t, srv, p, nil), http.StatusNotFound, `{"Message":"Unrecognized or malformed path","ResourceType":"Configuration"}`)
	}
	if st := e.Stats(); st.Fetches != 1 || st.ByPath["/applications/"] != 4 || st.ByPath["other"] != 1 || st.ByError["ResourceNotFoundException"] != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestAppConfigFeatureFlags(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	v := e.PutFeatureFlags("app", "prod", "flags", map[string]mwtest.Flag{
		"new-checkout": {Enabled: true, Attributes: map[string]any{"limit": 5, "regions": []string{"eu", "us"}}},
		"dark-mode":    {Enabled: false, Attributes: map[string]any{"theme": "night"}},
	})
	r := get(t, srv, configPath("app", "prod", "flags"), nil)
	// As the extension serves them: attributes only for an enabled flag.
	want := `{"dark-mode":{"enabled":false},"new-checkout":{"enabled":true,"limit":5,"regions":["eu","us"]}}`
	if r.status != http.StatusOK || r.body != want || r.header.Get("Content-Type") != "application/json" || r.header.Get("Configuration-Version") != fmt.Sprint(v) {
		t.Errorf("got %d %s %v, want %s", r.status, r.body, r.header, want)
	}
	// The flag query: one flag's object alone, several by key in the
	// order asked, a key the profile lacks refused.
	for query, want := range map[string]string{
		"flag=dark-mode":                   `{"enabled":false}`,
		"flag=new-checkout&flag=dark-mode": `{"new-checkout":{"enabled":true,"limit":5,"regions":["eu","us"]},"dark-mode":{"enabled":false}}`,
		"flag=dark-mode&flag=dark-mode":    `{"enabled":false}`,
		"flag=dark-mode&other=yes":         `{"enabled":false}`,
	} {
		wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", query), nil), http.StatusOK, want)
	}
	for _, query := range []string{"flag=nope", "flag=dark-mode&flag=nope"} {
		wantStatusBody(t, get(t, srv, configPath("app", "prod", "flags", query), nil), http.StatusNotFound, `{"Message":"Unrecognized flag key"}`)
	}
	e.PutConfiguration("app", "prod", "settings", "", []byte(`{}`))
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "settings", "flag=x"), nil), http.StatusBadRequest,
		`{"Message":"the flag query needs a profile of type AWS.AppConfig.FeatureFlags"}`)
	wantStatusBody(t, get(t, srv, configPath("app", "prod", "settings", "flag=%zz"), nil), http.StatusBadRequest, `{"Message":"malformed query"}`)
}

func TestAppConfigDenied(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutConfiguration("app", "prod", "settings", "", []byte(`{"secret":"canary"}`))
	e.DenyConfiguration("app", "prod", "settings")
	e.DenyConfiguration("app", "prod", "missing")
	for _, p := range []string{"settings", "missing"} {
		r := get(t, srv, configPath("app", "prod", p), nil)
		want := `{"Message":"User: arn:aws:sts::123456789012:assumed-role/mwtest/mwtest is not authorized to perform: appconfig:StartConfigurationSession on resource: ` +
			mwtest.ConfigurationARN("app", "prod", p) + ` because no identity-based policy allows the appconfig:StartConfigurationSession action"}`
		wantStatusBody(t, r, http.StatusForbidden, want)
	}
	if st := e.Stats(); st.ByError["AccessDeniedException"] != 2 || len(st.Served) != 0 {
		t.Errorf("stats %+v", st)
	}
	if r := do(t, srv.Client(), http.MethodPost, srv.URL+configPath("app", "prod", "settings"), nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.status)
	}
}

func TestAppConfigFaults(t *testing.T) {
	for _, tc := range []struct {
		f      mwtest.Faults
		status int
		body   string
	}{
		{mwtest.Faults{Throttle: 1}, 429, `{"Message":"Rate exceeded"}`},
		{mwtest.Faults{ServerError: 1}, 500, `{"Message":""}`},
	} {
		e, srv := mwtest.Start(t, mwtest.AppConfig)
		e.PutConfiguration("a", "e", "p", "", []byte("{}"))
		e.SetFaults(tc.f)
		wantStatusBody(t, get(t, srv, configPath("a", "e", "p"), nil), tc.status, tc.body)
		if st := e.Stats(); st.Faults.Throttle+st.Faults.ServerError != 1 || st.Fetches != 1 || len(st.Served) != 0 {
			t.Errorf("stats %+v", st)
		}
	}
}

// Not ready, the AppConfig fake answers nothing as not ready: it holds a
// request, as the extension does while it fetches the data, and answers it
// once ready.
func TestAppConfigNotReadyHolds(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutConfiguration("a", "e", "p", "", []byte("{}"))
	e.SetReady(false)
	res := fetch(context.Background(), srv.Client(), srv.URL+configPath("a", "e", "p"))
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if !e.WaitHanging(ctx.Done(), 1) {
		t.Fatal("the request was not held")
	}
	e.SetReady(true)
	if r := waitResult(t, res); r.err != nil || r.r.status != http.StatusOK || r.r.body != "{}" {
		t.Errorf("released: %+v", r)
	}
	if st := e.Stats(); st.NotReady != 1 || st.Served["a/e/p"] != 1 || st.ByStatus[200] != 1 || len(st.ByStatus) != 1 {
		t.Errorf("stats %+v", st)
	}

	// A client that gives up is let go.
	e.SetReady(false)
	gone, stop := context.WithCancel(context.Background())
	res = fetch(gone, srv.Client(), srv.URL+configPath("a", "e", "p"))
	if !e.WaitHanging(ctx.Done(), 1) {
		t.Fatal("the request was not held")
	}
	stop()
	if r := waitResult(t, res); r.err == nil {
		t.Errorf("a held request was answered: %+v", r)
	}
	// NotReadyFor answers nothing as not ready here: it makes the fake ready.
	e.NotReadyFor(3)
	wantStatusBody(t, get(t, srv, configPath("a", "e", "p"), nil), http.StatusOK, "{}")
}

func TestAppConfigPanicsOnMisuse(t *testing.T) {
	e := mwtest.New(mwtest.AppConfig)
	e.PutConfiguration("a", "e", "settings", "", []byte("{}"))
	e.PutFeatureFlags("a", "e", "flags", nil)
	for name, f := range map[string]func(){
		"empty application": func() { e.PutConfiguration("", "e", "p", "", nil) },
		"empty profile":     func() { e.PutFeatureFlags("a", "e", "", nil) },
		"freeform to flags": func() { e.PutFeatureFlags("a", "e", "settings", nil) },
		"flags to freeform": func() { e.PutConfiguration("a", "e", "flags", "", nil) },
		"flag key":          func() { e.PutFeatureFlags("a", "e", "f2", map[string]mwtest.Flag{"Bad": {}}) },
		"attribute key": func() {
			e.PutFeatureFlags("a", "e", "f3", map[string]mwtest.Flag{"ok": {Enabled: true, Attributes: map[string]any{"enabled": "v"}}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil {
					t.Error("no panic")
				} else if strings.Contains(fmt.Sprint(p), `"v"`) {
					t.Errorf("panic %q holds a value", p)
				}
			}()
			f()
		})
	}
}

// Deployments, readiness and faults change while requests are served.
func TestAppConfigConcurrent(t *testing.T) {
	busy.Goroutines(t, 0)
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutConfiguration("a", "e", "p", "", []byte("v0"))
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	const workers, each = 100, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for i := range workers {
		wg.Go(func() {
			for j := range each {
				switch (i + j) % 5 {
				case 0:
					e.PutConfiguration("a", "e", "p", "", []byte(fmt.Sprintf("v%d", i)))
				case 1:
					e.SetFaults(mwtest.Faults{Throttle: 0.1, Seed: int64(i)})
				case 2:
					e.SetReady(false)
					e.SetReady(true)
				}
				resp, err := c.Get(srv.URL + configPath("a", "e", "p"))
				if err != nil {
					errs <- err
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 429 {
					errs <- fmt.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := e.Stats(); st.Fetches != workers*each || st.ByStatus[200]+st.ByStatus[429] != workers*each {
		t.Errorf("stats %+v", st)
	}
}

// Options point a wrapped handler at a fake in the AppConfig dialect.
func TestAppConfigOptions(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.AppConfig)
	e.PutConfiguration("a", "e", "p", "text/plain", []byte("v"))
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}, append(e.Options(srv.URL), mw.WithAppConfig("a", "e", "p"))...)
	if out, err := h(context.Background(), struct{}{}); err != nil || out != "v" || e.Served("a/e/p") != 1 {
		t.Errorf("got %q, %v; served %d", out, err, e.Served("a/e/p"))
	}
}
