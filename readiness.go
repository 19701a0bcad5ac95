package mw

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Polling a source that may still be starting, such as the managed
// extension, which answers a bare HTTP 400 until it serves. One probe at a
// time per source and Wrap, quick at first: a loopback request costs
// nothing while the extension is not serving. The probes slow down after
// probeFastFor, or once two answers in a row took longer than probeLocal:
// an extension that answers 400 that slowly asked AWS first (it serves,
// and the item is missing, or AWS throttles it), and each fast probe would
// cost another call to AWS. Slowed, they back off as throttled calls do,
// doubling to probeSlowest, ±50 %, so that environments that start
// together do not probe together.
//
// probeLocal: a loopback answer takes well under a millisecond, AWS's
// several (15 ms on average in tools/storm). Issue 16's storm simulation
// measured the former 20 ms: AWS's throttled answers came back faster,
// and each environment's prober kept sending AWS calls every few
// milliseconds (SCALE.md).
//
// probeEvery: the readiness penalty is up to one probe's interval, plus
// the round of requests for the items that waited; 3 ms keeps its p99
// within 10 ms (BenchmarkReadiness, BENCHMARKS.md), for about 280
// loopback requests in a second of waiting, one at a time.
const (
	probeFirst   = time.Millisecond
	probeEvery   = 3 * time.Millisecond
	probeFastFor = time.Second
	probeLocal   = 5 * time.Millisecond
	probeSlowest = time.Second
)

// gate is the readiness of one source for one Wrap. Calls whose items got
// a "not ready" answer wait at the gate; one of them probes, the others
// sleep; once any answer shows the source serving, every waiter tries
// again at once.
type gate struct {
	ready atomic.Bool
	local time.Duration // the longest a loopback answer takes: probeLocal

	mu      sync.Mutex
	probing bool
	wake    chan struct{}  // closed, and replaced, when ready or when a prober stops
	waiting []*probeTarget // what the prober may ask for: every waiter's items
	turn    int            // the next of waiting to probe
}

// probeTarget is an item a waiter waits to fetch, how to fetch it, and
// what the probes of it got: the answer that showed the source serving is
// the item's answer, and is not asked for again.
type probeTarget struct {
	src Source
	op  string
	it  Item

	probes []probe // the requests made for it; guarded by the gate's mu
	res    *Result // the answer that showed the source serving, if it was this item's
}

// probe is one request a prober made for an item, and how it ended.
type probe struct {
	at     time.Time
	served bool
	class  Class
	status int
}

// newGate returns the gate of a source whose answers taking longer than
// local are taken for answers that asked AWS first.
func newGate(local time.Duration) *gate { return &gate{wake: make(chan struct{}), local: local} }

// isReady reports whether the source has shown that it serves.
func (g *gate) isReady() bool { return g.ready.Load() }

// setReady records that the source serves, and wakes every waiter.
func (g *gate) setReady() {
	if g.ready.Load() {
		return
	}
	g.mu.Lock()
	if !g.ready.Load() {
		g.ready.Store(true)
		g.signal()
	}
	g.mu.Unlock()
}

// signal wakes every waiter. g.mu must be held.
func (g *gate) signal() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// await waits until the source is ready or ctx ends, and reports whether
// it is ready. While it waits, targets are among the items probed; once it
// returns, their probes and answers may be read.
func (g *gate) await(ctx context.Context, targets []*probeTarget) bool {
	g.mu.Lock()
	g.waiting = append(g.waiting, targets...)
	g.mu.Unlock()
	defer g.leave(targets)
	for {
		g.mu.Lock()
		switch {
		case g.ready.Load():
			g.mu.Unlock()
			return true
		case !g.probing:
			g.probing = true
			g.mu.Unlock()
			return g.probe(ctx)
		}
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return g.ready.Load()
		}
	}
}

// leave removes targets from the items probed.
func (g *gate) leave(targets []*probeTarget) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range targets {
		for k, w := range g.waiting {
			if w == t {
				g.waiting = append(g.waiting[:k], g.waiting[k+1:]...)
				break
			}
		}
	}
}

// probe asks for the waiting items in turn, one request at a time, until
// an answer shows the source serving or ctx ends. However it ends, another
// waiter may take over probing.
func (g *gate) probe(ctx context.Context) (ready bool) {
	defer func() {
		g.mu.Lock()
		g.probing = false
		g.signal()
		g.mu.Unlock()
	}()
	start, delay, wait := time.Now(), probeFirst, probeFirst
	slowRun := 0 // slow answers in a row
	for sleep(ctx, wait) {
		t, ok := g.next()
		if !ok {
			return g.ready.Load()
		}
		at := time.Now()
		res := callSource(ctx, t.src, t.op, []Item{t.it})
		p := probe{at: at}
		if len(res) == 1 {
			if p.served = answered(res[0].Err); !p.served {
				se := judge(ctx, res[0].Err).se
				p.class, p.status = se.Class, se.Status
			}
		}
		g.mu.Lock()
		t.probes = append(t.probes, p)
		if p.served {
			t.res = &res[0]
		}
		g.mu.Unlock()
		if t.res != nil {
			g.setReady()
			return true
		}
		if g.ready.Load() {
			return true
		}
		// The answers set the pace: a quick one keeps it quick, a slow one
		// alone (a loopback request held up by a busy CPU, as at a cold
		// start on a small function) changes nothing, and from the second
		// slow one in a row the probes back off: an extension that keeps
		// asking AWS keeps slowing them.
		if time.Since(at) < g.local {
			slowRun = 0
		} else {
			slowRun++
		}
		switch {
		case time.Since(start) < probeFastFor && slowRun < 2:
			delay = min(2*delay, probeEvery)
			wait = delay
		default:
			delay = min(max(delay, probeEvery)*2, probeSlowest)
			wait = delay/2 + rand.N(delay)
		}
	}
	return g.ready.Load()
}

// answer returns the probes of t, and the answer that showed the source
// serving if it was t's, once t has left the gate.
func (g *gate) answer(t *probeTarget) ([]probe, *Result) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return t.probes, t.res
}

// next returns the item to probe now.
func (g *gate) next() (*probeTarget, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) == 0 {
		return nil, false
	}
	g.turn %= len(g.waiting)
	t := g.waiting[g.turn]
	g.turn++
	return t, true
}

// answered reports whether a fetch that ended with err got an answer that
// shows the source serving: a value, or a refusal it gives only when
// serving.
func answered(err error) bool {
	if err == nil {
		return true
	}
	var se *SourceError
	return errors.As(err, &se) && !se.NotReady && se.Status != 0
}
