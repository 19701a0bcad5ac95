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
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
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
	ext.SetLatency(latency)
	return stock(&fixture{ext: ext, srv: srv}, n)
}

// stock fills f's fake with n items and turns its token check off: the
// benchmarks leave AWS_SESSION_TOKEN alone.
func stock(f *fixture, n int) *fixture {
	ext := f.ext
	ext.SetToken("")
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

// readinessTimes is how many trials BenchmarkReadiness makes per op: the
// stand-in turns ready 0, 10, 20, ... 1000 ms after its first request.
const readinessTimes = 101

// readinessAt returns the ready time of trial i of readinessTimes, spread
// evenly from 0 to 1 s.
func readinessAt(i int) time.Duration {
	return time.Duration(i) * time.Second / (readinessTimes - 1)
}

// BenchmarkReadiness is the readiness penalty: what mw adds to a cold
// start while the managed extension answers its startup 400s. A stand-in
// (mwtest's fake behind readyAfter) answers the generic 400 to every
// request until a given time after the first one, then serves; the ready
// times are spread evenly from 0 to 1 s. Each op is one trial per ready
// time, each trial a fresh Wrap of n items and its first invoke. Per
// trial:
//
//   - the penalty is the time from the moment the stand-in turned ready
//     to the moment the handler ran, all values in hand;
//   - the requests before ready are those the stand-in received before
//     that moment, each answered 400.
//
// Reported: the penalty's p50, p99 and max (ms) and the requests before
// ready (p50, max) over every trial of every op.
func BenchmarkReadiness(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			var penalties []time.Duration
			var early []int64
			for range b.N {
				for i := range readinessTimes {
					p, e := readinessTrial(b, n, readinessAt(i))
					penalties = append(penalties, p)
					early = append(early, e)
				}
			}
			slices.Sort(penalties)
			slices.Sort(early)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(quantile(penalties, 0.50)), "penalty-p50-ms")
			b.ReportMetric(ms(quantile(penalties, 0.99)), "penalty-p99-ms")
			b.ReportMetric(ms(penalties[len(penalties)-1]), "penalty-max-ms")
			b.ReportMetric(float64(quantile(early, 0.50)), "before-ready-p50")
			b.ReportMetric(float64(early[len(early)-1]), "before-ready-max")
		})
	}
}

// quantile returns the q-quantile of sorted, by nearest rank.
func quantile[T any](sorted []T, q float64) T {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(k, 0)]
}

// readinessTrial is one trial of BenchmarkReadiness: a fresh Wrap of n
// items whose first invoke meets a stand-in that turns ready after
// readyAfter. It returns the penalty and the requests before ready.
func readinessTrial(b *testing.B, n int, after time.Duration) (time.Duration, int64) {
	ext := mwtest.New(mwtest.Managed)
	ext.SetReady(false)
	stand := &readyAfter{ext: ext, after: after}
	f := stock(&fixture{ext: ext, srv: httptest.NewServer(stand)}, n)
	defer f.srv.Close()
	defer ext.Close()
	var ran time.Time
	h := mw.Wrap(func(ctx context.Context, ev benchEvent) (string, error) {
		ran = time.Now()
		return bare(ctx, ev)
	}, f.opts()...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h(ctx, benchEvent{}); err != nil {
		b.Fatalf("ready after %v: %v", after, err)
	}
	readyAt, early := stand.stats()
	return ran.Sub(readyAt), early
}

// readyAfter stands in for the managed extension at a cold start: it
// answers its generic 400 (mwtest's fake, not ready) to every request
// until after has passed since the first request, then serves (the fake,
// made ready).
type readyAfter struct {
	ext   *mwtest.Extension
	after time.Duration

	mu    sync.Mutex
	first time.Time // the first request's arrival
	ready bool
	early int64 // requests that arrived before first+after
}

func (s *readyAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := time.Now()
	if s.first.IsZero() {
		s.first = now
	}
	if !s.ready && now.Sub(s.first) >= s.after {
		s.ready = true
		s.ext.SetReady(true)
	}
	if !s.ready {
		s.early++
	}
	s.mu.Unlock()
	s.ext.ServeHTTP(w, r)
}

// stats returns the moment the stand-in turned ready and the requests
// that arrived before it.
func (s *readyAfter) stats() (time.Time, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first.Add(s.after), s.early
}
