package mw_test

// The benchmark suite of BENCHMARKS.md: warm invoke overhead, accessor cost,
// cold start against the seed's patterns, concurrency. Each benchmark
// reports allocations and, where it talks to the fake extension, the
// requests it made per op; cold starts also report their time as a multiple
// of one fetch's latency. They are not timed assertions: CI runs them once
// (-benchtime 1x) so that they keep compiling and working.
//
// Everything here goes through mw's public API, served by mwtest's fake
// extension over real HTTP (httptest), so the figures include the loopback
// round trips a real extension costs. The warm invoke with the OTel SDK
// recording spans or metrics (WarmInvoke/mw-recording, mw-metering) is in
// ../test/bench_test.go: this module does not require the SDK.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// benchLatency is the fake extension's latency for every request in the
// cold-start benchmarks: one fetch's latency, the unit of ratio-to-one-fetch.
const benchLatency = 20 * time.Millisecond

// warmItems is how many items the warm benchmarks declare, all cached.
const warmItems = 5

// concurrentInvokes is how many invokes BenchmarkConcurrent runs at once.
const concurrentInvokes = 64

// coldSizes are the item counts of BenchmarkColdStart.
var coldSizes = []int{1, 4, 16, 64}

type benchEvent struct{ ID int }

type handler = func(context.Context, benchEvent) (string, error)

// sink keeps results alive so the compiler cannot drop the calls.
var sink string

// bare is the handler every benchmark wraps: it does nothing, so what is
// measured around it is the cost of the wrapping.
func bare(_ context.Context, ev benchEvent) (string, error) {
	if ev.ID < 0 {
		return "", fmt.Errorf("negative id %d", ev.ID)
	}
	return "ok", nil
}

// fixture is a fake extension, served over HTTP, holding n items: secrets
// and parameters alternately.
type fixture struct {
	ext     *mwtest.Extension
	srv     *httptest.Server
	secrets []string
	params  []string
}

func newFixture(b *testing.B, n int, latency time.Duration) *fixture {
	b.Helper()
	ext, srv := mwtest.Start(b, mwtest.Managed)
	ext.SetToken("") // no token check: the benchmarks leave AWS_SESSION_TOKEN alone
	ext.SetLatency(latency)
	f := &fixture{ext: ext, srv: srv}
	for i := range n {
		if i%2 == 0 {
			id := fmt.Sprintf("bench/secret-%02d", i)
			ext.PutSecret(id, "value-of-"+id)
			f.secrets = append(f.secrets, id)
		} else {
			name := fmt.Sprintf("/bench/param-%02d", i)
			ext.PutParameter(name, "SecureString", "value-of-"+name)
			f.params = append(f.params, name)
		}
	}
	return f
}

// opts declares every item of f and points mw at it; everything else is
// mw's default (tracer included: the global provider, a no-op).
func (f *fixture) opts(more ...mw.Option) []mw.Option {
	opts := []mw.Option{mw.WithEndpoint(f.srv.URL)}
	if len(f.secrets) > 0 {
		opts = append(opts, mw.WithSecrets(f.secrets...))
	}
	if len(f.params) > 0 {
		opts = append(opts, mw.WithParameters(f.params...))
	}
	return append(opts, more...)
}

// reportRequests reports the fake's requests since before, per op.
func (f *fixture) reportRequests(b *testing.B, before int64) {
	b.ReportMetric(float64(f.ext.Requests()-before)/float64(b.N), "requests/op")
}

// reportRatio reports the mean of elapsed over b.N as a multiple of one
// fetch's latency.
func reportRatio(b *testing.B, elapsed time.Duration) {
	b.ReportMetric(float64(elapsed)/float64(b.N)/float64(benchLatency), "ratio-to-one-fetch")
}

// invokeLoop calls h b.N times, as Lambda calls a handler. It is not
// inlined, so the bare and the wrapped handler are both called through a
// func value, as lambda.Start calls them.
//
//go:noinline
func invokeLoop(b *testing.B, ctx context.Context, h handler) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out, err := h(ctx, benchEvent{ID: i})
		if err != nil {
			b.Fatal(err)
		}
		sink = out
	}
	b.StopTimer()
}

// BenchmarkWarmInvoke is the cost of an invoke with every item cached,
// against the bare handler in the same run, and against the seed's pattern,
// which calls the extension for every item on every invoke.
func BenchmarkWarmInvoke(b *testing.B) {
	b.Run("bare", func(b *testing.B) {
		invokeLoop(b, invokeCtx(b, time.Hour), bare)
		b.ReportMetric(0, "requests/op")
	})
	b.Run("mw-noop", func(b *testing.B) {
		f := newFixture(b, warmItems, 0)
		benchWarm(b, f, mw.Wrap(bare, f.opts()...))
	})
	// The seed's pattern pays the extension's latency on every invoke:
	// at benchLatency, and at no added latency (the loopback HTTP cost alone).
	b.Run("seed/items=5", func(b *testing.B) {
		f := newFixture(b, warmItems, benchLatency)
		benchWarm(b, f, seedHandler(f))
	})
	b.Run("seed-loopback/items=5", func(b *testing.B) {
		f := newFixture(b, warmItems, 0)
		benchWarm(b, f, seedHandler(f))
	})
}

// benchWarm makes one invoke of h to fill any cache, then measures the next.
func benchWarm(b *testing.B, f *fixture, h handler) {
	ctx := invokeCtx(b, time.Hour)
	if _, err := h(ctx, benchEvent{}); err != nil {
		b.Fatal(err)
	}
	before := f.ext.Requests()
	invokeLoop(b, ctx, h)
	f.reportRequests(b, before)
}

// BenchmarkAccessor is the cost of one Secret or Parameter call inside a
// wrapped handler, with warmItems items declared.
func BenchmarkAccessor(b *testing.B) {
	accessors := []struct {
		name string
		get  func(context.Context, string) (string, error)
		key  func(*fixture) string
	}{
		{"Secret", mw.Secret, func(f *fixture) string { return f.secrets[len(f.secrets)-1] }},
		{"Parameter", mw.Parameter, func(f *fixture) string { return f.params[len(f.params)-1] }},
	}
	for _, a := range accessors {
		b.Run(a.name, func(b *testing.B) {
			f := newFixture(b, warmItems, 0)
			key := a.key(f)
			h := mw.Wrap(func(ctx context.Context, _ benchEvent) (string, error) {
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					v, err := a.get(ctx, key)
					if err != nil {
						return "", err
					}
					sink = v
				}
				b.StopTimer()
				return "", nil
			}, f.opts()...)
			if _, err := h(invokeCtx(b, time.Hour), benchEvent{}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkColdStart is the first invoke of a fresh handler, with n items
// and benchLatency per request, for mw and for the two hand-written
// patterns it replaces:
//
//   - sequential: the first invoke fetches the items one after another,
//     with a plain http.Client as the seed does, and keeps them;
//   - seed: one HTTP call per item on every invoke (its warm invokes are in
//     BenchmarkWarmInvoke/seed).
//
// Each op is one fresh handler's first invoke. Between ops the fake's
// connections are closed, untimed, so each first invoke dials as a new
// process would.
func BenchmarkColdStart(b *testing.B) {
	impls := []struct {
		name string
		make func(*fixture) handler
	}{
		{"mw", func(f *fixture) handler { return mw.Wrap(bare, f.opts()...) }},
		{"sequential", sequentialHandler},
		{"seed", seedHandler},
	}
	for _, impl := range impls {
		b.Run(impl.name, func(b *testing.B) {
			for _, n := range coldSizes {
				b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
					f := newFixture(b, n, benchLatency)
					before := f.ext.Requests()
					var elapsed time.Duration
					b.ReportAllocs()
					b.ResetTimer()
					for i := range b.N {
						h := impl.make(f)
						ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
						start := time.Now()
						out, err := h(ctx, benchEvent{ID: i})
						elapsed += time.Since(start)
						cancel()
						if err != nil {
							b.Fatal(err)
						}
						sink = out
						b.StopTimer()
						f.srv.CloseClientConnections()
						b.StartTimer()
					}
					b.StopTimer()
					f.reportRequests(b, before)
					reportRatio(b, elapsed)
				})
			}
		})
	}
}

// BenchmarkConcurrent is concurrentInvokes invokes at once, as Lambda
// Managed Instances make them, with warmItems items.
//
//   - cold: each op is a fresh Wrap and concurrentInvokes simultaneous
//     first invokes, at benchLatency per request; mw fetches each item
//     once for all of them.
//   - warm: b.RunParallel with concurrentInvokes goroutines, every item
//     cached; ns/op is per invoke, as in BenchmarkWarmInvoke.
func BenchmarkConcurrent(b *testing.B) {
	b.Run("cold", func(b *testing.B) {
		f := newFixture(b, warmItems, benchLatency)
		before := f.ext.Requests()
		var elapsed time.Duration
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			h := mw.Wrap(bare, f.opts()...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			start := make(chan struct{})
			errs := make(chan error, concurrentInvokes)
			var wg sync.WaitGroup
			for i := range concurrentInvokes {
				wg.Go(func() {
					<-start
					if _, err := h(ctx, benchEvent{ID: i}); err != nil {
						errs <- err
					}
				})
			}
			t0 := time.Now()
			close(start)
			wg.Wait()
			elapsed += time.Since(t0)
			cancel()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.StopTimer()
			f.srv.CloseClientConnections()
			b.StartTimer()
		}
		b.StopTimer()
		f.reportRequests(b, before)
		reportRatio(b, elapsed)
	})
	b.Run("warm", func(b *testing.B) {
		f := newFixture(b, warmItems, benchLatency)
		h := mw.Wrap(bare, f.opts()...)
		ctx := invokeCtx(b, time.Hour)
		if _, err := h(ctx, benchEvent{}); err != nil {
			b.Fatal(err)
		}
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((concurrentInvokes + procs - 1) / procs)
		before := f.ext.Requests()
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := h(ctx, benchEvent{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		f.reportRequests(b, before)
	})
}

// seedHandler is the seed's pattern: every invoke calls the extension for
// every item, one after another.
func seedHandler(f *fixture) handler {
	base := f.srv.URL
	return func(ctx context.Context, ev benchEvent) (string, error) {
		vals, err := fetchSequentially(base, f)
		if err != nil {
			return "", err
		}
		sink = vals[0]
		return bare(ctx, ev)
	}
}

// sequentialHandler is the hand-written fix of the seed: the first invoke
// fetches every item, one after another, and keeps them for the next ones.
func sequentialHandler(f *fixture) handler {
	base := f.srv.URL
	var mu sync.Mutex
	var vals []string
	return func(ctx context.Context, ev benchEvent) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if vals == nil {
			v, err := fetchSequentially(base, f)
			if err != nil {
				return "", err
			}
			vals = v
		}
		sink = vals[0]
		return bare(ctx, ev)
	}
}

// fetchSequentially fetches f's items one after another, in declaration
// order.
func fetchSequentially(base string, f *fixture) ([]string, error) {
	var vals []string
	for _, id := range f.secrets {
		v, err := seedGet(base+"/secretsmanager/get?secretId="+url.QueryEscape(id), "SecretString")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	for _, name := range f.params {
		v, err := seedGet(base+"/systemsmanager/parameters/get?name="+url.QueryEscape(name)+"&withDecryption=true", "Parameter")
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// seedGet is one call the way the seed makes it (e2e/internal/naive): a
// plain GET with the token header and a new http.Client on the default
// transport, no retry. It then decodes the value, as the seed's callers do.
func seedGet(u, field string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", os.Getenv("AWS_SESSION_TOKEN"))
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: HTTP %d: %s", u, resp.StatusCode, body)
	}
	if field == "Parameter" {
		var out struct{ Parameter struct{ Value string } }
		err = json.Unmarshal(body, &out)
		return out.Parameter.Value, err
	}
	var out struct{ SecretString string }
	err = json.Unmarshal(body, &out)
	return out.SecretString, err
}

// BenchmarkTypedAccessor is the cost of reading a decoded value inside a
// handler: an RDS-style credentials secret as a struct (decoded once per
// value, then copied), the same as a map (decoded on each call, since a
// map cannot be shared), the hand-written json.Unmarshal the memo saves,
// and the binary and list forms.
func BenchmarkTypedAccessor(b *testing.B) {
	type creds struct {
		Engine   string `json:"engine"`
		Username string `json:"username"`
		Password string `json:"password"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
		DBName   string `json:"dbname"`
	}
	const secret = `{"engine":"postgres","username":"app","password":"hunter2-hunter2","host":"db.cluster-abc.eu-west-1.rds.amazonaws.com","port":5432,"dbname":"app"}`
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets:    map[string]string{"db": secret, "key": string(make([]byte, 32))},
		Parameters: map[string]string{"/hosts": "a.example,b.example,c.example,d.example"},
	})
	run := func(name string, f func() error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	run("SecretJSON/struct", func() error { v, err := mw.SecretJSON[creds](ctx, "db"); sink = v.Password; return err })
	run("SecretJSON/map", func() error {
		v, err := mw.SecretJSON[map[string]any](ctx, "db")
		sink, _ = v["password"].(string)
		return err
	})
	run("json.Unmarshal/struct", func() error {
		s, err := mw.Secret(ctx, "db")
		if err != nil {
			return err
		}
		var v creds
		err = json.Unmarshal([]byte(s), &v)
		sink = v.Password
		return err
	})
	run("SecretBinary/32B", func() error { v, err := mw.SecretBinary(ctx, "key"); sink = string(v[:1]); return err })
	run("ParameterList/4", func() error { v, err := mw.ParameterList(ctx, "/hosts"); sink = v[0]; return err })
}
