package mw_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of mw's trust boundary: the session token goes to the endpoint
// the user chose and nowhere else. Which hosts count as loopback, how they
// are spelt on the wire (never through a proxy), which switch allows
// another host, what an error about an endpoint shows, and no redirect
// followed. (That no value leaks into an error, a printed form or a log is
// leak_test.go's suite; that an answer is checked against the question,
// extension_test.go's.)

// loopbackSpellings are hosts mw takes for loopback, each as a user may
// write it.
var loopbackSpellings = []string{"localhost", "LocalHost", "LOCALHOST", "localhost.", "LocalHost.", "127.0.0.1"}

// childEnv marks the child process of TestTheTokenNeverReachesAProxy.
const childEnv = "MW_TEST_PROXY_CHILD"

// A user's client whose transport honours HTTP_PROXY, as
// http.ProxyFromEnvironment does, never sends a request for a loopback
// endpoint to the proxy, however the endpoint spells loopback: Go's proxy
// rules exempt "localhost" exactly and loopback addresses, and mw sends
// every loopback spelling as one of them. Each endpoint option is tried:
// WithEndpoint, MW_ENDPOINT, WithAppConfigEndpoint and the localhost
// defaults. http.ProxyFromEnvironment reads the environment once per
// process, so the requests are made in a child process whose HTTP_PROXY
// names a proxy this process runs and records.
func TestTheTokenNeverReachesAProxy(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		proxyChild(t)
		return
	}
	var mu sync.Mutex
	proxied := map[string]int{} // by host, requests that carried the token
	var requests int
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		if r.Header.Get(mwtest.TokenHeader) == canary {
			proxied[r.URL.Host]++
		}
		mu.Unlock()
		http.Error(w, "a proxy", http.StatusBadGateway)
	}))
	defer proxy.Close()
	ext, extSrv := mwtest.Start(t, mwtest.Managed)
	ext.SetToken(canary)
	ext.PutSecret("s", "v")
	ac, acSrv := mwtest.Start(t, mwtest.AppConfig)
	ac.PutConfiguration("a", "e", "p", "text/plain", []byte("c"))

	cmd := exec.Command(os.Args[0], "-test.run=^TestTheTokenNeverReachesAProxy$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		childEnv+"=1",
		"HTTP_PROXY="+proxy.URL, "HTTPS_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "https_proxy="+proxy.URL,
		"NO_PROXY=", "no_proxy=", "REQUEST_METHOD=",
		"MW_TEST_EXTENSION_PORT="+port(t, extSrv.URL), "MW_TEST_APPCONFIG_PORT="+port(t, acSrv.URL))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTheTokenNeverReachesAProxy/defaults") {
		t.Errorf("the child process failed: %v\n%s", err, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests > 0 {
		t.Errorf("the proxy received %d requests; these carried the token, by host: %v", requests, proxied)
	}
}

// proxyChild is the child process of TestTheTokenNeverReachesAProxy.
func proxyChild(t *testing.T) {
	extPort, acPort := os.Getenv("MW_TEST_EXTENSION_PORT"), os.Getenv("MW_TEST_APPCONFIG_PORT")
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	// The test can fail: the proxy rules are live here, and would proxy a
	// request written with another spelling of localhost.
	for _, u := range []string{"http://LocalHost:" + extPort + "/", "http://localhost.:" + extPort + "/"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if p, err := http.ProxyFromEnvironment(req); err != nil || p == nil {
			t.Fatalf("ProxyFromEnvironment(%s) = %v, %v: want the proxy, or this test proves nothing", u, p, err)
		}
	}
	secret := func(ctx context.Context, _ struct{}) (string, error) { return mw.Secret(ctx, "s") }
	profile := func(ctx context.Context, _ struct{}) (string, error) {
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}
	try := func(t *testing.T, h func(context.Context, struct{}) (string, error), want string) {
		t.Helper()
		if got, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || got != want {
			t.Errorf("got %q, %v; want %q", got, err, want)
		}
	}
	base := func(host, port string) string { return "http://" + host + ":" + port }
	for _, host := range loopbackSpellings {
		t.Run("WithEndpoint/"+host, func(t *testing.T) {
			try(t, mw.Wrap(secret, mw.WithEndpoint(base(host, extPort)), mw.WithToken(canary), mw.WithHTTPClient(hc),
				mw.WithoutEnvironment(), mw.WithSecrets("s")), "v")
		})
		t.Run("MW_ENDPOINT/"+host, func(t *testing.T) {
			t.Setenv("MW_ENDPOINT", base(host, extPort))
			try(t, mw.Wrap(secret, mw.WithToken(canary), mw.WithHTTPClient(hc), mw.WithSecrets("s")), "v")
		})
		t.Run("WithAppConfigEndpoint/"+host, func(t *testing.T) {
			try(t, mw.Wrap(profile, mw.WithAppConfigEndpoint(base(host, acPort)), mw.WithHTTPClient(hc),
				mw.WithoutEnvironment(), mw.WithAppConfig("a", "e", "p")), "c")
		})
	}
	t.Run("defaults", func(t *testing.T) {
		t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", extPort)
		t.Setenv("AWS_APPCONFIG_EXTENSION_HTTP_PORT", acPort)
		t.Setenv("AWS_SESSION_TOKEN", canary)
		try(t, mw.Wrap(secret, mw.WithHTTPClient(hc), mw.WithoutEnvironment(), mw.WithSecrets("s")), "v")
		try(t, mw.Wrap(profile, mw.WithHTTPClient(hc), mw.WithoutEnvironment(), mw.WithAppConfig("a", "e", "p")), "c")
	})
}

func port(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// goProxyExempts is Go's rule for the hosts a proxy never serves
// (golang.org/x/net/http/httpproxy, which net/http's ProxyFromEnvironment
// uses): "localhost" exactly, and loopback IP addresses.
func goProxyExempts(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// hostRecorder is a transport that serves requests with a fake, in
// process, and records the host each was sent to: the wire's spelling.
type hostRecorder struct {
	ext, appConfig http.Handler
	mu             sync.Mutex
	hosts          []string
}

func (r *hostRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	h := r.ext
	if strings.HasPrefix(req.URL.Path, "/applications/") {
		h = r.appConfig
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), nil
}

func (r *hostRecorder) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hosts...)
}

func newHostRecorder(t *testing.T) *hostRecorder {
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken(canary)
	ext.PutSecret("s", "v")
	ac := mwtest.New(mwtest.AppConfig)
	ac.PutConfiguration("a", "e", "p", "text/plain", []byte("c"))
	t.Cleanup(func() { ext.Close(); ac.Close() })
	return &hostRecorder{ext: ext, appConfig: ac}
}

// Every spelling of loopback that mw accepts goes on the wire as one that
// Go's proxy rules exempt, through every endpoint option; a host that only
// looks like localhost under Unicode case folding is not loopback.
func TestLoopbackEndpointsAreSentAsGoExemptsThem(t *testing.T) {
	spellings := append([]string{"127.9.9.9", "[::1]", "[::ffff:127.0.0.1]"}, loopbackSpellings...)
	read := func(ctx context.Context, _ struct{}) (string, error) {
		s, err := mw.Secret(ctx, "s")
		if err != nil {
			return "", err
		}
		b, err := mw.AppConfig(ctx, "p")
		return s + string(b), err
	}
	for _, host := range spellings {
		t.Run(host, func(t *testing.T) {
			rec := newHostRecorder(t)
			opts := []mw.Option{mw.WithToken(canary), mw.WithHTTPClient(&http.Client{Transport: rec}),
				mw.WithSecrets("s"), mw.WithAppConfig("a", "e", "p")}
			h := mw.Wrap(read, append(opts, mw.WithoutEnvironment(),
				mw.WithEndpoint("http://"+host+":2773/"), mw.WithAppConfigEndpoint("http://"+host+":2772"))...)
			if got, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || got != "vc" {
				t.Fatalf("code endpoints: %q, %v", got, err)
			}
			t.Setenv("MW_ENDPOINT", "http://"+host+":2773")
			h = mw.Wrap(read, opts...)
			if got, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil || got != "vc" {
				t.Fatalf("MW_ENDPOINT: %q, %v", got, err)
			}
			sent := rec.sent()
			if len(sent) != 4 {
				t.Fatalf("sent %v, want 4 requests", sent)
			}
			for _, hostport := range sent {
				if h, _, err := net.SplitHostPort(hostport); err != nil || !goProxyExempts(h) {
					t.Errorf("%s was sent to %q, which Go's proxy rules would send through HTTP_PROXY", host, hostport)
				}
			}
		})
	}
	// ſ (U+017F) folds to s: "localhoſt" is EqualFold to "localhost", but
	// neither a name Go's proxy rules exempt nor loopback.
	for _, far := range []string{"localhoſt", "localhost.localdomain", "127.0.0.1.", "localhost..", "xn--localhost"} {
		err := mustPanic(t, func() { mw.Wrap(echo, mw.WithEndpoint("http://"+far+":2773")) })
		if !strings.Contains(err.Error(), "not a loopback host") {
			t.Errorf("%s: %v", far, err)
		}
	}
}

// The switch that allows an endpoint off loopback, WithRemoteEndpoint in
// code or MW_ALLOW_REMOTE_ENDPOINT=true in the environment, applies to
// every endpoint it names: WithEndpoint, MW_ENDPOINT and
// WithAppConfigEndpoint. WithoutEnvironment reads neither variable. A
// refusal says which switch would allow it, and nothing is sent.
func TestAllowingARemoteEndpointAppliesToEveryEndpoint(t *testing.T) {
	const far = "192.0.2.1" // TEST-NET-1: never dialled, the transport is in process
	type endpoint struct {
		name string
		opts []mw.Option
		env  string // MW_ENDPOINT
		want string // what a successful read returns
	}
	endpoints := []endpoint{
		{name: "WithEndpoint", opts: []mw.Option{mw.WithEndpoint("http://" + far + ":2773"), mw.WithSecrets("s")}, want: "v"},
		{name: "MW_ENDPOINT", opts: []mw.Option{mw.WithSecrets("s")}, env: "http://" + far + ":2773", want: "v"},
		{name: "WithAppConfigEndpoint", opts: []mw.Option{mw.WithAppConfigEndpoint("http://" + far + ":2772"), mw.WithAppConfig("a", "e", "p")}, want: "c"},
	}
	type allow struct {
		name  string
		opts  []mw.Option
		env   string // MW_ALLOW_REMOTE_ENDPOINT
		noEnv bool
		ok    bool
	}
	allows := []allow{
		{name: "nothing"},
		{name: "WithRemoteEndpoint", opts: []mw.Option{mw.WithRemoteEndpoint()}, ok: true},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=true", env: "true", ok: true},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=1", env: "1", ok: true},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=false", env: "false"},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=yes", env: "yes"},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=false,WithRemoteEndpoint", opts: []mw.Option{mw.WithRemoteEndpoint()}, env: "false", ok: true},
		{name: "MW_ALLOW_REMOTE_ENDPOINT=true,WithoutEnvironment", opts: []mw.Option{mw.WithoutEnvironment()}, env: "true", noEnv: true},
		{name: "WithRemoteEndpoint,WithoutEnvironment", opts: []mw.Option{mw.WithRemoteEndpoint(), mw.WithoutEnvironment()}, noEnv: true, ok: true},
	}
	read := func(ctx context.Context, _ struct{}) (string, error) {
		if s, err := mw.Secret(ctx, "s"); err == nil {
			return s, nil
		}
		b, err := mw.AppConfig(ctx, "p")
		return string(b), err
	}
	for _, e := range endpoints {
		for _, a := range allows {
			t.Run(e.name+"/"+a.name, func(t *testing.T) {
				t.Setenv("MW_ENDPOINT", e.env)
				t.Setenv("MW_ALLOW_REMOTE_ENDPOINT", a.env)
				t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
				rec := newHostRecorder(t)
				opts := append([]mw.Option{mw.WithToken(canary), mw.WithHTTPClient(&http.Client{Transport: rec})}, e.opts...)
				opts = append(opts, a.opts...)
				fromCode := e.env == ""
				var h func(context.Context, struct{}) (string, error)
				panicked := recovered(func() { h = mw.Wrap(read, opts...) })
				switch {
				case e.env != "" && a.noEnv:
					// MW_ENDPOINT is not read: the default endpoint serves.
					if panicked != nil {
						t.Fatalf("Wrap panicked: %v", panicked)
					}
					got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
					if sent := rec.sent(); err != nil || got != e.want || len(sent) != 1 || sent[0] != "localhost:2773" {
						t.Errorf("got %q, %v, sent to %v; want the default endpoint, localhost:2773", got, err, sent)
					}
				case a.ok:
					if panicked != nil {
						t.Fatalf("Wrap panicked: %v", panicked)
					}
					got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
					if sent := rec.sent(); err != nil || got != e.want || len(sent) != 1 || !strings.HasPrefix(sent[0], far+":") {
						t.Errorf("got %q, %v, sent to %v; want %s to serve", got, err, sent, far)
					}
				case fromCode:
					msg := errString(panicked)
					if panicked == nil || !strings.Contains(msg, "not a loopback host") || !strings.Contains(msg, "WithRemoteEndpoint") {
						t.Fatalf("Wrap: %v; want a panic refusing %s", panicked, far)
					}
					if a.noEnv == strings.Contains(msg, "MW_ALLOW_REMOTE_ENDPOINT=true") {
						t.Errorf("with WithoutEnvironment %v, the refusal says: %s", a.noEnv, msg)
					}
				default:
					if panicked != nil {
						t.Fatalf("Wrap panicked on the environment's endpoint: %v", panicked)
					}
					_, err := h(invokeCtx(t, 5*time.Second), struct{}{})
					if err == nil || !strings.Contains(err.Error(), "MW_ALLOW_REMOTE_ENDPOINT") {
						t.Errorf("invoke: %v; want MW_ENDPOINT refused, naming MW_ALLOW_REMOTE_ENDPOINT", err)
					}
				}
				if !a.ok && !(e.env != "" && a.noEnv) && len(rec.sent()) != 0 {
					t.Errorf("sent %v to a refused endpoint", rec.sent())
				}
			})
		}
	}
}

// The token goes with every request: an endpoint off loopback is refused,
// unless the user allows it in code or in the environment.
func TestEndpointsOffLoopbackAreRefused(t *testing.T) {
	for _, ok := range []string{"http://localhost:2773", "http://127.0.0.1:2773", "http://127.9.9.9:1", "http://[::1]:2773", "https://LOCALHOST.:2773"} {
		mw.Wrap(echo, mw.WithEndpoint(ok)) // no panic
	}
	for _, far := range []string{"http://192.0.2.1:2773", "http://example.com", "https://10.0.0.1:2773", "http://[2001:db8::1]:2773"} {
		err := mustPanic(t, func() { mw.Wrap(echo, mw.WithEndpoint(far)) })
		if !strings.Contains(err.Error(), "not a loopback host") || !strings.Contains(err.Error(), "WithRemoteEndpoint") {
			t.Errorf("%s: %v", far, err)
		}
		mw.Wrap(echo, mw.WithEndpoint(far), mw.WithRemoteEndpoint()) // allowed in code

		t.Setenv("MW_ENDPOINT", far)
		_, err = mw.Wrap(echo)(invokeCtx(t, time.Second), nil)
		if err == nil || !strings.Contains(err.Error(), "MW_ALLOW_REMOTE_ENDPOINT") {
			t.Errorf("MW_ENDPOINT=%s: %v", far, err)
		}
		t.Setenv("MW_ALLOW_REMOTE_ENDPOINT", "true")
		if _, err = mw.Wrap(echo)(invokeCtx(t, time.Second), nil); err != nil {
			t.Errorf("MW_ENDPOINT=%s, allowed: %v", far, err)
		}
		t.Setenv("MW_ALLOW_REMOTE_ENDPOINT", "")
	}
}

// An endpoint URL may carry credentials: an error about it masks them.
func TestEndpointErrorsMaskPasswords(t *testing.T) {
	for _, raw := range []string{"http://user:" + canary + "@localhost:2773/?q=1", "http://user:" + canary + "@local host:x"} {
		t.Setenv("MW_ENDPOINT", raw)
		_, err := mw.Wrap(echo)(invokeCtx(t, time.Second), nil)
		if err == nil || !strings.Contains(err.Error(), "MW_ENDPOINT=") || strings.Contains(err.Error(), canary) {
			t.Errorf("MW_ENDPOINT=%s: %v", raw, err)
		}
		perr := mustPanic(t, func() { mw.Wrap(echo, mw.WithEndpoint(raw)) })
		if strings.Contains(perr.Error(), canary) {
			t.Errorf("WithEndpoint(%s): %v", raw, perr)
		}
	}
}

// elsewhere is a server the token must never reach: it counts requests.
func elsewhere(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		fmt.Fprint(w, `{"SecretString":"from elsewhere","Name":"s"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A redirect is a failed fetch naming the item: nothing is sent on, with
// mw's own client or the user's.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	other, reached := elsewhere(t)
	for _, code := range []int{301, 302, 303, 307, 308} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.RequestURI(), code)
		}))
		t.Cleanup(redirector.Close)
		for name, opts := range map[string][]mw.Option{
			"mw's client":   nil,
			"user's client": {mw.WithHTTPClient(&http.Client{})},
		} {
			t.Setenv("AWS_SESSION_TOKEN", canary)
			h := mw.Wrap(echo, append(opts, mw.WithEndpoint(redirector.URL), mw.WithSecrets("s"))...)
			_, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
			fe := asFetchError(t, err)
			if fe.Status != code || fe.Attempts != 1 || !strings.Contains(err.Error(), "redirect") || !strings.Contains(err.Error(), `secret "s"`) {
				t.Errorf("%d, %s: %v", code, name, err)
			}
		}
	}
	if reached.Load() != 0 {
		t.Fatalf("%d requests reached the redirect's target", reached.Load())
	}
}

// An endpoint that echoes the token it was sent as its error code (the
// X-Amzn-Errortype of a 401, or the __type of a JSON body), whole or in
// part, puts none of it into the invoke's error, so none into a span's
// status or Lambda's log.
func TestAnEchoedTokenReachesNoError(t *testing.T) {
	for _, token := range []string{
		"TokCANARY0123456789abcdef", // the shape of a code
		"CANARY7",                   // shorter than a run the check compares
		"IQoJCANARYb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJHMEUCIQ+/AbCdEf" + strings.Repeat("x", 80) + "==", // a session token's
	} {
		for name, answer := range map[string]func(w http.ResponseWriter, tok string){
			"X-Amzn-Errortype of a 401": func(w http.ResponseWriter, tok string) {
				w.Header().Set("X-Amzn-Errortype", tok)
				w.WriteHeader(http.StatusUnauthorized)
			},
			"__type of a 400": func(w http.ResponseWriter, tok string) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprintf(w, `{"__type":%q,"message":"no"}`, tok)
			},
			"__type of a 400, a run of it": func(w http.ResponseWriter, tok string) {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = fmt.Fprintf(w, `{"__type":%q,"message":"no"}`, tok[:min(20, len(tok))])
			},
		} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				answer(w, r.Header.Get("X-Aws-Parameters-Secrets-Token"))
			}))
			h := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithEndpoint(srv.URL), mw.WithToken(token), mw.WithStartupWindow(0), mw.WithSecrets("db"))
			_, err := h(invokeCtx(t, 3*time.Second), nil)
			srv.Close()
			if err == nil {
				t.Fatalf("%s: no error", name)
			}
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				if strings.Contains(s, "CANARY") {
					t.Errorf("%s: the token is in the invoke's error: %s", name, s)
					break
				}
			}
		}
	}
}

// An endpoint's query or fragment may carry a credential: a refused
// endpoint, from code or the environment, is quoted without them.
func TestARefusedEndpointIsQuotedWithoutItsQuery(t *testing.T) {
	const secret = "CANARYq0123"
	for _, raw := range []string{"http://localhost:2773/?token=" + secret, "http://localhost:2773/#" + secret} {
		if err := mustPanic(t, func() { mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithEndpoint(raw)) }); strings.Contains(err.Error(), secret) {
			t.Errorf("WithEndpoint(%q): %v", raw, err)
		}
		if err := mustPanic(t, func() { mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(raw)) }); strings.Contains(err.Error(), secret) {
			t.Errorf("WithAppConfigEndpoint(%q): %v", raw, err)
		}
		t.Setenv("MW_ENDPOINT", raw)
		if _, err := mw.Wrap(echo)(invokeCtx(t, time.Second), nil); err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("MW_ENDPOINT=%q: %v", raw, err)
		}
	}
}
