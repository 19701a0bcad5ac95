package mw_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

const testToken = "session-token-for-tests"

// world is one fake extension, served over real HTTP. Its Wraps use OTel's
// global providers, untouched here: what mw's spans and metrics say is
// tested in the test module (../test), against the OTel SDK, which the
// library's module does not require.
type world struct {
	t   *testing.T
	ext *mwtest.Extension
	srv *httptest.Server
}

func newWorld(t *testing.T, d mwtest.Dialect) *world {
	t.Helper()
	t.Setenv("AWS_SESSION_TOKEN", testToken)
	ext := mwtest.New(d)
	ext.SetToken(testToken)
	return serveWorld(t, ext, ext)
}

// serveWorld serves h, which ends in ext, perhaps through a test wrapper.
func serveWorld(t *testing.T, ext *mwtest.Extension, h http.Handler) *world {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ext.Close() // release hung requests first
		srv.Close()
	})
	return &world{t: t, ext: ext, srv: srv}
}

// opts returns the options that point a Wrap at this world.
func (w *world) opts(more ...mw.Option) []mw.Option {
	return append([]mw.Option{mw.WithEndpoint(w.srv.URL)}, more...)
}

// echo is a handler that returns the values it was asked for, by key
// "secret:<id>" or "parameter:<name>".
func echo(ctx context.Context, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		var v string
		var err error
		if name, ok := strings.CutPrefix(k, "secret:"); ok {
			v, err = mw.Secret(ctx, name)
		} else if name, ok := strings.CutPrefix(k, "parameter:"); ok {
			v, err = mw.Parameter(ctx, name)
		}
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// clock is a settable clock for TTL tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// withClock makes a Wrap read time from c.
func withClock(c *clock) mw.Option { return mw.WithClock(c.Now) }

// invokeCtx is a context like an invoke's: with a deadline.
func invokeCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// barrier is an http.Handler that holds requests until n are in flight at
// once, then lets them all through: it proves that fetches run
// concurrently, since sequential fetches would never fill it.
type barrier struct {
	next http.Handler
	n    int
	mu   sync.Mutex
	in   int
	open chan struct{}
}

func newBarrier(next http.Handler, n int) *barrier {
	return &barrier{next: next, n: n, open: make(chan struct{})}
}

func (b *barrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.in++
	if b.in == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
		b.next.ServeHTTP(w, r)
	case <-r.Context().Done():
		http.Error(w, "barrier never filled", http.StatusServiceUnavailable)
	}
}

// mustPanic runs f and returns the error it panicked with.
func mustPanic(t *testing.T, f func()) (err error) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("did not panic")
		}
		var ok bool
		if err, ok = r.(error); !ok {
			t.Fatalf("panicked with %T %v, want an error", r, r)
		}
	}()
	f()
	return nil
}

// canary is a value that must never show in an error, a printed form or a
// log: tests search what mw says for it.
const canary = "CANARY-7f3a9c-do-not-print"

// dialects are those of the extension source: the managed Lambda extension
// and the Secrets Manager Agent.
var dialects = []mwtest.Dialect{mwtest.Managed, mwtest.Agent}

// refusingDialer refuses the first n dials, as a port with no listener does.
func refusingDialer(n int32) (*http.Client, *atomic.Int32) {
	var dials atomic.Int32
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) <= n {
				return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
			}
			return d.DialContext(ctx, network, addr)
		},
	}}, &dials
}

// asFetchError returns the *mw.FetchError err holds, or fails the test.
func asFetchError(t *testing.T, err error) *mw.FetchError {
	t.Helper()
	var fe *mw.FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) holds no *FetchError", err, err)
	}
	return fe
}

// recovered runs f and returns what it panicked with.
func recovered(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

// errString is the text of a recovered panic value, an error or a string.
func errString(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return ""
}

// faultsFor lets the first n requests meet ext's configured faults, then
// turns the faults off, so a test knows how many attempts to expect.
func faultsFor(ext *mwtest.Extension, n int64) http.Handler {
	var count atomic.Int64
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if count.Add(1) > n {
			ext.SetFaults(mwtest.Faults{})
		}
		ext.ServeHTTP(rw, r)
	})
}

// appWorld is a fake AppConfig extension served over real HTTP, through an
// optional wrapper that sees every request.
type appWorld struct {
	ext  *mwtest.Extension
	srv  *httptest.Server
	seen chan *http.Request // every request, when recording
}

// newAppWorld serves a new fake AppConfig extension; with record, every
// request it gets is sent on seen too.
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

// opts returns the options that point a Wrap at this world.
func (w *appWorld) opts(more ...mw.Option) []mw.Option {
	return append([]mw.Option{mw.WithAppConfigEndpoint(w.srv.URL), mw.WithoutEnvironment()}, more...)
}

// settings is the JSON of an AppConfig profile the tests read.
type settings struct {
	Batch   int    `json:"batch"`
	Region  string `json:"region"`
	Enabled bool   `json:"enabled"`
}
