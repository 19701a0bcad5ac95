package cloudext_test

// The benchmarks of BENCHMARKS.md's Cloud Extensions section: the
// readiness penalty while the runtime loads, the cold start, and what
// signing costs a request. They are not timed assertions: CI runs them
// once (-benchtime 1x).

import (
	"context"
	"fmt"
	"math"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// benchLatency is the fake's latency for every request of the cold-start
// benchmark: one fetch's latency, the unit of ratio-to-one-fetch, as in
// the root module's benchmarks.
const benchLatency = 20 * time.Millisecond

// benchFixture stocks f with n items, secrets and parameters alternately,
// and returns the options that declare them.
func benchFixture(f *cloudexttest.Server, n int) []mw.Option {
	var secrets, params []string
	for i := range n {
		if i%2 == 0 {
			id := fmt.Sprintf("bench/secret-%02d", i)
			f.PutSecret(id, "value-of-"+id)
			secrets = append(secrets, id)
		} else {
			name := fmt.Sprintf("/bench/param-%02d", i)
			f.PutParameter(name, cloudexttest.TypeSecureString, "value-of-"+name)
			params = append(params, name)
		}
	}
	opts := []mw.Option{mw.WithoutEnvironment(), mw.WithSecrets(secrets...)}
	if len(params) > 0 {
		opts = append(opts, mw.WithParameters(params...))
	}
	return opts
}

// readinessTimes is how many trials BenchmarkReadiness makes per op: the
// runtime turns ready 0, 10, 20, ... 1000 ms after its first request.
const readinessTimes = 101

// BenchmarkReadiness is the readiness penalty of a cold start that meets
// the Cloud Extensions runtime while it loads: the fake answers 503
// PROFILE_LOADING for the first two thirds of its loading window and 503
// EXTENSION_LOADING for the rest, from its first request, then serves;
// the windows are spread evenly from 0 to 1 s. Each op is one trial per
// window, each a fresh Wrap of n items (secrets and parameters) with
// default settings and its first invoke. Per trial, the penalty is the
// time from the moment the runtime served to the moment the handler ran,
// every value in hand; the requests before ready are those the fake
// answered 503. Reported: the penalty's p50, p99 and max (ms), and the
// requests before ready (p50, max), over every trial.
func BenchmarkReadiness(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			var penalties []time.Duration
			var early []int64
			for range b.N {
				for i := range readinessTimes {
					window := time.Duration(i) * time.Second / (readinessTimes - 1)
					p, e := readinessTrial(b, n, window)
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

func readinessTrial(b *testing.B, n int, window time.Duration) (time.Duration, int64) {
	f := cloudexttest.New(cloudexttest.Settings{})
	srv := httptest.NewServer(f)
	defer srv.Close()
	defer f.Close()
	opts := benchFixture(f, n)
	f.SetLoadingWindow(window*2/3, window-window*2/3)
	var ran time.Time
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		ran = time.Now()
		return "", nil
	}, append(opts, mw.WithSource(f.NewSource(srv.URL)))...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := h(ctx, struct{}{}); err != nil {
		b.Fatalf("ready after %v: %v", window, err)
	}
	readyAt, _ := f.ReadyAt()
	return ran.Sub(readyAt), f.Stats().NotReady
}

// quantile returns the q-quantile of sorted, by nearest rank.
func quantile[T any](sorted []T, q float64) T {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(k, 0)]
}

// BenchmarkColdStart is a fresh Wrap (default settings) and its first
// invoke, N items (secrets and parameters alternately), every request
// answered after 20 ms, with the runtime serving. requests/op is what the
// fake received: one per secret, one per 10 parameters.
func BenchmarkColdStart(b *testing.B) {
	for _, n := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			f, srv := cloudexttest.Start(b, cloudexttest.Settings{})
			opts := benchFixture(f, n)
			f.SetLatency(benchLatency)
			before := f.Requests()
			var elapsed time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h := mw.Wrap(func(context.Context, struct{}) (string, error) { return "", nil },
					append(opts, mw.WithSource(f.NewSource(srv.URL)))...)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				start := time.Now()
				_, err := h(ctx, struct{}{})
				elapsed += time.Since(start)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				srv.CloseClientConnections()
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(float64(f.Requests()-before)/float64(b.N), "requests/op")
			b.ReportMetric(float64(elapsed)/float64(b.N)/float64(benchLatency), "ratio-to-one-fetch")
		})
	}
}

// BenchmarkFetch is one Fetch of one secret on loopback, with no added
// latency, in each authentication: what signing (and the fake's check of
// the signature) costs a request.
func BenchmarkFetch(b *testing.B) {
	for _, mode := range []struct {
		name string
		auth cloudexttest.AuthMode
	}{{"runtimeCredentials", cloudexttest.AuthRuntimeCredentials}, {"extensionKey", cloudexttest.AuthExtensionKey}, {"none", cloudexttest.AuthNone}} {
		b.Run(mode.name, func(b *testing.B) {
			f, srv := cloudexttest.Start(b, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: mode.auth}})
			f.PutSecret("bench/secret", "value")
			src := f.NewSource(srv.URL)
			items := []mw.Item{{Kind: mw.KindSecret, Name: "bench/secret"}}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if r := src.Fetch(ctx, "GET /secretsmanager/get", items); r[0].Err != nil {
					b.Fatal(r[0].Err)
				}
			}
		})
	}
}
