package mw_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace/noop"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// stormTransport panics on a share of its requests, as a user's
// instrumented transport with a bug might.
type stormTransport struct {
	mu    sync.Mutex
	rng   *rand.Rand
	share float64
}

func (s *stormTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	boom := s.rng.Float64() < s.share
	s.mu.Unlock()
	if boom {
		panic("storm: transport bug")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestStorm throws everything at once at one Wrap: concurrent invokes,
// startup 400s, TTL expiry, refreshes ahead, RefreshSecret, invokes
// canceled mid-fetch, transport panics, server errors, throttling and
// resets. Every invoke must end (no deadlock), before its deadline; every
// value a handler reads must be a version of that item that was put; and
// no goroutine may be left. Opt in with MW_STORM=1.
func TestStorm(t *testing.T) {
	if os.Getenv("MW_STORM") != "1" {
		t.Skip("storm: set MW_STORM=1")
	}
	before := runtime.NumGoroutine()
	t.Setenv("AWS_SESSION_TOKEN", soakToken)
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken(soakToken)
	srv := httptest.NewServer(ext)
	items := []soakItem{{"secret", "a", ""}, {"secret", "b", ""}, {"parameter", "/p", "String"}, {"secret", "opt", ""}}
	book := &soakBook{ext: ext, vs: map[string]map[string]int{}, seen: map[string]map[int]bool{}}
	for _, it := range items {
		book.put(it)
	}
	ext.SetFaults(mwtest.Faults{ServerError: .10, Throttle: .08, Reset: .05, Seed: 7})
	ext.SetLatency(time.Millisecond)
	tr := &stormTransport{rng: rand.New(rand.NewPCG(1, 2)), share: .005}
	var wrong soakLog
	newHandler := func() func(context.Context, int) (int, error) {
		return mw.Wrap(func(ctx context.Context, i int) (int, error) {
			for _, it := range items {
				var v string
				var err error
				if it.kind == "secret" {
					v, err = mw.Secret(ctx, it.name)
				} else {
					v, err = mw.Parameter(ctx, it.name)
				}
				if it.name == "opt" && errors.Is(err, mw.ErrNotFound) {
					continue
				}
				if err != nil {
					wrong.add("invoke %d: %s: %v", i, it.key(), err)
				} else if !book.check(it, v) {
					wrong.add("invoke %d: %s = %q, no version of it", i, it.key(), v)
				}
			}
			if i%13 == 0 {
				v, err := mw.RefreshSecret(ctx, "a")
				if err == nil && !book.check(items[0], v) {
					wrong.add("invoke %d: RefreshSecret(a) = %q, no version of it", i, v)
				}
			}
			time.Sleep(time.Millisecond)
			return i, nil
		}, mw.WithEndpoint(srv.URL), mw.WithTracerProvider(noop.NewTracerProvider()),
			mw.WithHTTPClient(&http.Client{Transport: tr}),
			mw.WithSecrets("a", "b"), mw.WithParameters("/p"), mw.WithSecret("opt", mw.Optional(), mw.TTL(7*time.Millisecond)),
			mw.WithTTL(15*time.Millisecond), mw.WithRefreshAhead(5*time.Millisecond), mw.WithMaxStale(30*time.Millisecond))
	}
	// Each of the Wraps starts cold against an extension that is still
	// starting: the readiness gate is met on every round.
	const rounds = 10
	ext.NotReadyFor(30)
	h := newHandler() // before any invoke: each round's first invoke replaces it
	var hmu sync.Mutex

	const invokes, conc = 30000, 64
	var next atomic.Int64
	var panics, ok, failed, late atomic.Int64
	stall := watchStalls(t)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= invokes {
					return
				}
				if i%40 == 0 {
					book.put(items[(i/40)%len(items)])
				}
				hmu.Lock()
				if i%(invokes/rounds) == 0 && i > 0 {
					ext.NotReadyFor(30)
					h = newHandler()
				}
				h := h
				hmu.Unlock()
				deadline := time.Duration(50+i%200) * time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				if i%7 == 0 {
					go func() { time.Sleep(time.Duration(i%5) * time.Millisecond); cancel() }()
				}
				start := time.Now()
				func() {
					defer func() {
						if r := recover(); r != nil {
							if !strings.Contains(fmt.Sprint(r), "storm: transport bug") {
								wrong.add("invoke %d: panic %v", i, r)
							}
							panics.Add(1)
						}
					}()
					if _, err := h(ctx, i); err != nil {
						failed.Add(1)
					} else {
						ok.Add(1)
					}
				}()
				// Late past a bound, and past how long the process ran
				// nothing during this invoke: a machine too loaded to run
				// the test's own timer on time cannot tell mw's lateness.
				if el := time.Since(start); el > deadline+200*time.Millisecond {
					if st := stall.during(start, start.Add(el)); el > deadline+200*time.Millisecond+st {
						late.Add(1)
						wrong.add("invoke %d took %v of its %v (the process stalled %v meanwhile)", i, el, deadline, st)
					}
				}
				cancel()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		buf := make([]byte, 1<<22)
		t.Fatalf("storm did not end: stuck invokes\n%s", buf[:runtime.Stack(buf, true)])
	}
	ext.Close()
	srv.Close()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	after := soakSettle(before)
	t.Logf("ok %d, failed %d, panics %d, late %d; the process stalled %v at worst; goroutines %d -> %d; stats %+v",
		ok.Load(), failed.Load(), panics.Load(), late.Load(), stall.worst(), before, after, ext.Stats().Faults)
	for _, s := range wrong.first {
		t.Error(s)
	}
	if wrong.n > 0 {
		t.Errorf("%d wrong outcomes", wrong.n)
	}
	if after > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// stalls records when the process ran nothing, as seen by a goroutine
// that asks to wake every millisecond: each time it ran late, the span it
// waited past its tick. A test judges an invoke's lateness beside the
// stalls during that invoke alone.
type stalls struct {
	mu    sync.Mutex
	spans []stallSpan // in order
	max   time.Duration
}

type stallSpan struct{ from, to time.Time }

// worst is the longest stall seen.
func (s *stalls) worst() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}

// during is how long the process stalled between from and to: the sum of
// the stalls' overlaps with it.
func (s *stalls) during(from, to time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, _ := slices.BinarySearchFunc(s.spans, from, func(sp stallSpan, t time.Time) int { return sp.to.Compare(t) })
	var d time.Duration
	for ; i < len(s.spans) && s.spans[i].from.Before(to); i++ {
		a, b := s.spans[i].from, s.spans[i].to
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		d += b.Sub(a)
	}
	return d
}

// watchStalls watches the process until the test ends.
func watchStalls(t *testing.T) *stalls {
	s := &stalls{}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				now := time.Now() // when this goroutine ran, not when the tick was due
				if lag := now.Sub(last) - time.Millisecond; lag > time.Millisecond {
					s.mu.Lock()
					s.spans = append(s.spans, stallSpan{now.Add(-lag), now})
					s.max = max(s.max, lag)
					s.mu.Unlock()
				}
				last = now
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
	return s
}
