// Package gate polls a source that may still be starting, such as the AWS
// Parameters and Secrets Lambda Extension, which answers a bare HTTP 400
// until it serves: one probe at a time per source and Wrap, quick at first,
// then backing off (see pace). Calls whose items got a "not ready" answer
// wait at the gate; one of them probes, the others sleep; once any answer
// shows the source serving, every waiter tries again at once.
//
// The gate knows nothing of sources: a Target probes its item with a
// function, and R is what a probe brings back.
package gate

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambda-mw/mw/internal/retry"
)

// A Gate is the readiness of one source for one Wrap.
type Gate[R any] struct {
	ready atomic.Bool
	local time.Duration // the longest a loopback answer takes

	mu      sync.Mutex
	probing bool
	wake    chan struct{} // closed, and replaced, when ready or when a prober stops
	waiting []*Target[R]  // what the prober may ask for: every waiter's items
	turn    int           // the next of waiting to probe
}

// New returns the gate of a source whose answers taking longer than local
// are taken for answers that asked AWS first.
func New[R any](local time.Duration) *Gate[R] {
	return &Gate[R]{wake: make(chan struct{}), local: local}
}

// Local is the longest a loopback answer takes.
func (g *Gate[R]) Local() time.Duration { return g.local }

// Ready reports whether the source has shown that it serves.
func (g *Gate[R]) Ready() bool { return g.ready.Load() }

// SetReady records that the source serves, and wakes every waiter.
func (g *Gate[R]) SetReady() {
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
func (g *Gate[R]) signal() {
	close(g.wake)
	g.wake = make(chan struct{})
}

// A Target is an item a waiter waits to fetch, how to probe it, and what
// the probes of it got: the answer that showed the source serving is the
// item's answer, and is not asked for again.
type Target[R any] struct {
	probe func(context.Context) Answer[R]

	probes []Probe // guarded by the gate's mu
	res    *R      // the answer that showed the source serving, if it was this item's
}

// NewTarget returns a target that probe asks for.
func NewTarget[R any](probe func(context.Context) Answer[R]) *Target[R] {
	return &Target[R]{probe: probe}
}

// An Answer is what one probe got: whether it shows the source serving,
// and if not, its class and HTTP status.
type Answer[R any] struct {
	Result R
	Served bool
	Class  string
	Status int
}

// A Probe is one request a prober made for an item, and how it ended.
type Probe struct {
	At     time.Time
	Served bool
	Class  string
	Status int
}

// Await waits until the source is ready or ctx ends, and reports whether
// it is ready. While it waits, targets are among the items probed; once it
// returns, their probes and answers may be read with Answer.
func (g *Gate[R]) Await(ctx context.Context, targets []*Target[R]) bool {
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
			return g.probeAll(ctx)
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
func (g *Gate[R]) leave(targets []*Target[R]) {
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

// probeAll asks for the waiting items in turn, one request at a time,
// until an answer shows the source serving or ctx ends. However it ends,
// another waiter may take over probing.
func (g *Gate[R]) probeAll(ctx context.Context) (ready bool) {
	defer func() {
		g.mu.Lock()
		g.probing = false
		g.signal()
		g.mu.Unlock()
	}()
	var p pacer
	p.start = time.Now()
	wait := probeFirst
	for retry.Sleep(ctx, wait) {
		t, ok := g.next()
		if !ok {
			return g.ready.Load()
		}
		at := time.Now()
		a := t.probe(ctx)
		g.mu.Lock()
		t.probes = append(t.probes, Probe{At: at, Served: a.Served, Class: a.Class, Status: a.Status})
		if a.Served {
			t.res = &a.Result
		}
		g.mu.Unlock()
		if a.Served {
			g.SetReady()
			return true
		}
		if g.ready.Load() {
			return true
		}
		wait = p.next(time.Since(at), time.Since(p.start), g.local, rand.Float64())
	}
	return g.ready.Load()
}

// Answer returns the probes of t, and the answer that showed the source
// serving if it was t's, once t has left the gate.
func (g *Gate[R]) Answer(t *Target[R]) ([]Probe, *R) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return t.probes, t.res
}

// next returns the item to probe now.
func (g *Gate[R]) next() (*Target[R], bool) {
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
