package gate

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw/internal/busy"
)

const local = DefaultLocal

// paceOf returns the waits a new pacer gives for answers that took took,
// each at probing, with jitter r.
func paceOf(took []time.Duration, probing time.Duration, r float64) []time.Duration {
	var p pacer
	out := make([]time.Duration, len(took))
	for k, d := range took {
		out[k] = p.next(d, probing, local, r)
	}
	return out
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k] != b[k] {
			return false
		}
	}
	return true
}

// Quick answers keep the probes quick, from probeFirst doubling to
// probeEvery, with no jitter: a loopback request costs nothing.
func TestThePaceIsQuickAtFirst(t *testing.T) {
	quick := []time.Duration{0, 0, 0, 0}
	for _, r := range []float64{0, 0.5, 0.999} {
		if got, want := paceOf(quick, 0, r), []time.Duration{2 * time.Millisecond, probeEvery, probeEvery, probeEvery}; !equal(got, want) {
			t.Errorf("r=%v: %v; want %v", r, got, want)
		}
	}
}

// One slow answer alone (a loopback request held up by a busy CPU) changes
// nothing; from the second slow one in a row the probes back off, doubling
// (r=0.5: the delay itself), and a quick answer brings the quick pace back.
func TestThePaceBacksOffAfterTwoSlowAnswers(t *testing.T) {
	slow := local
	got := paceOf([]time.Duration{0, slow, 0, slow, slow, slow, 0}, 0, 0.5)
	ms := time.Millisecond
	want := []time.Duration{2 * ms, 3 * ms, 3 * ms, 3 * ms, 6 * ms, 12 * ms, 3 * ms}
	if !equal(got, want) {
		t.Errorf("%v; want %v", got, want)
	}
}

// After probeFastFor of probing, even quick answers back off, doubling to
// probeSlowest, whose jittered wait stays within ±50 %.
func TestThePaceBacksOffAfterASecond(t *testing.T) {
	var p pacer
	var last time.Duration
	for range 20 {
		last = p.next(0, probeFastFor, local, 0.5) // r=0.5: the delay itself
	}
	if last != probeSlowest {
		t.Errorf("after 20 probes past probeFastFor: %v; want probeSlowest, %v", last, probeSlowest)
	}
	if d := paceOf([]time.Duration{0}, probeFastFor, 0.5)[0]; d != 2*probeEvery {
		t.Errorf("the first probe past probeFastFor waits %v; want %v", d, 2*probeEvery)
	}
}

// The jitter of a backed-off wait is ±50 % of the delay: r in [0, 1) maps
// to [delay/2, 3·delay/2).
func TestTheJitterIsWithinHalfTheDelay(t *testing.T) {
	for _, r := range []float64{0, 0.25, 0.5, 0.75, 0.999999} {
		var p pacer
		var d time.Duration
		for range 30 {
			d = p.next(0, probeFastFor, local, r)
		}
		lo, hi := probeSlowest/2, 3*probeSlowest/2
		if d < lo || d >= hi {
			t.Errorf("r=%v: %v; want within [%v, %v)", r, d, lo, hi)
		}
		if want := probeSlowest/2 + time.Duration(r*float64(probeSlowest)); d != want {
			t.Errorf("r=%v: %v; want %v", r, d, want)
		}
	}
}

// prober is a probe that counts its calls and how many run at once, says
// on called that it was called, and shows the source serving from the nth
// call on.
type prober struct {
	n       int32
	called  chan struct{}
	calls   atomic.Int32
	running atomic.Int32
	most    atomic.Int32
}

func newProber(n int32) *prober { return &prober{n: n, called: make(chan struct{}, 1)} }

func (p *prober) probe(context.Context) Answer[string] {
	k := p.calls.Add(1)
	now := p.running.Add(1)
	for m := p.most.Load(); now > m && !p.most.CompareAndSwap(m, now); m = p.most.Load() {
	}
	defer p.running.Add(-1)
	select {
	case p.called <- struct{}{}:
	default:
	}
	if k >= p.n {
		return Answer[string]{Result: "value", Served: true}
	}
	return Answer[string]{Class: "not_ready", Status: 400}
}

// Waiters share one prober: one probe at a time, whoever probes, and when
// an answer shows the source serving, every waiter goes on at once; the
// answer is its item's, and is kept.
func TestWaitersShareOneProberUntilTheSourceServes(t *testing.T) {
	busy.Goroutines(t, 2)
	g := New[string](local)
	p := newProber(5)
	targets := make([]*Target[string], 8)
	for k := range targets {
		targets[k] = NewTarget(p.probe)
	}
	var wg sync.WaitGroup
	for _, tg := range targets {
		wg.Go(func() {
			if !g.Await(context.Background(), []*Target[string]{tg}) {
				t.Error("a waiter returned before the source served")
			}
		})
	}
	wg.Wait()
	if !g.Ready() {
		t.Fatal("the gate is not ready")
	}
	if n := p.most.Load(); n != 1 {
		t.Errorf("%d probes ran at once; want 1", n)
	}
	if n := p.calls.Load(); n != p.n {
		t.Errorf("%d probes; want %d, the last of which served", n, p.n)
	}
	probes, served := 0, 0
	for _, tg := range targets {
		ps, res := g.Answer(tg)
		probes += len(ps)
		if res != nil {
			served++
			if *res != "value" || !ps[len(ps)-1].Served {
				t.Errorf("the serving answer: %q, %+v", *res, ps)
			}
		}
	}
	if probes != int(p.n) || served != 1 {
		t.Errorf("%d probes recorded, %d answers kept; want %d and 1", probes, served, p.n)
	}
	// Ready, the gate lets every later waiter through without a probe.
	if !g.Await(context.Background(), []*Target[string]{NewTarget(p.probe)}) || p.calls.Load() != p.n {
		t.Error("a waiter at a ready gate probed")
	}
}

// A waiter whose context ends returns, not ready; SetReady, from an answer
// to a request of the waiter's own, wakes every waiter.
func TestWaitersLeaveWithTheirContextOrWhenReady(t *testing.T) {
	g := New[string](local)
	never := newProber(1 << 30)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { done <- g.Await(ctx, []*Target[string]{NewTarget(never.probe)}) }()
	<-never.called
	cancel()
	if <-done {
		t.Fatal("a canceled waiter reported the source ready")
	}
	waiters := make(chan bool, 4)
	for range 4 {
		go func() { waiters <- g.Await(context.Background(), []*Target[string]{NewTarget(never.probe)}) }()
	}
	<-never.called // (one of) the waiters probes
	<-never.called
	g.SetReady()
	for range 4 {
		if !<-waiters {
			t.Error("a waiter was not woken ready")
		}
	}
}
