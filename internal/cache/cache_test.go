package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/internal/resolved"
)

// The kinds of the test index: declared paths list parameters.
const (
	parameter resolved.Kind = 1
	secret    resolved.Kind = 2
)

// t0 is when the tests' clock starts. The cache reads time from its
// callers, but for the stale budget of a flight, which is on the monotonic
// clock (time.Now).
var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

var errDenied = errors.New("denied")

// newCache returns a cache of secrets named a, b, ..., one per item of
// items, and cfg's other settings.
func newCache(cfg Config, items ...Item) *Cache {
	cfg.Items = items
	cfg.Index = resolved.NewIndex(parameter)
	for i := range items {
		cfg.Index.Add(secret, name(i), i)
	}
	return New(cfg)
}

func name(i int) string { return string(rune('a' + i)) }

// fetch leads and lands the fetch of every item need, each with value
// (followed by its name), as an invoke at now does, and settles.
func fetch(t *testing.T, c *Cache, now time.Time, value string) Settled {
	t.Helper()
	p := c.Plan(now)
	tix, _ := c.Acquire(p.Need, false, now)
	for _, tk := range tix {
		if !tk.Lead {
			t.Fatalf("item %d: joined a flight; want to lead it", tk.I)
		}
		c.Land(tk, Result{Value: value + name(tk.I)}, now)
	}
	return c.Settle(now, nil)
}

// served is what a handler reads for item i from the published Set.
func served(t *testing.T, c *Cache, i int) string {
	t.Helper()
	s := c.Holder().Load()
	if s == nil {
		t.Fatal("no Set published")
	}
	v, err, ok := s.Lookup(secret, name(i))
	if !ok || err != nil {
		t.Fatalf("%s: declared %v, error %v", name(i), ok, err)
	}
	return v
}

// An invoke's plan: what it must fetch first, what is fresh (a hit), and
// what it refreshes beside the handler, within the refresh-ahead window.
func TestPlanSortsHitsNeedsAndRefreshesAhead(t *testing.T) {
	c := newCache(Config{Ahead: 10 * time.Second}, Item{TTL: time.Minute}, Item{TTL: time.Hour})
	if p := c.Plan(t0); p.Hits != 0 || fmt.Sprint(p.Need) != "[0 1]" || len(p.Ahead) != 0 {
		t.Fatalf("cold: %+v; want both needed", p)
	}
	tix, _ := c.Acquire([]int{0, 1}, false, t0)
	for _, tk := range tix {
		if tk.Reason() != Initial || tk.HasStale() || tk.Detached() {
			t.Errorf("cold flight of %d: %v, stale %v, detached %v; want initial, neither", tk.I, tk.Reason(), tk.HasStale(), tk.Detached())
		}
		c.Land(tk, Result{Value: "v"}, t0)
	}
	if st := c.Settle(t0, nil); len(st.Failed)+len(st.Stale)+len(st.Absent) != 0 {
		t.Fatalf("settled %+v", st)
	}
	if _, warm := c.Warm(t0.Add(49 * time.Second)); !warm {
		t.Error("before the refresh-ahead window: want the warm path")
	}
	if _, warm := c.Warm(t0.Add(50 * time.Second)); warm {
		t.Error("in a's refresh-ahead window: want a look at the entries")
	}
	p := c.Plan(t0.Add(55 * time.Second))
	if p.Hits != 2 || len(p.Need) != 0 || len(p.Ahead) != 1 || p.Ahead[0].I != 0 || !p.Ahead[0].Lead || p.Ahead[0].Reason() != Ahead {
		t.Fatalf("in a's window: %+v; want 2 hits and a refreshed ahead", p)
	}
	// While a's refresh ahead flies, no other invoke starts another.
	if p := c.Plan(t0.Add(56 * time.Second)); len(p.Ahead) != 0 || len(p.Need) != 0 {
		t.Errorf("with a's refresh ahead in flight: %+v; want nothing more", p)
	}
	c.Land(p.Ahead[0], Result{Value: "v2"}, t0.Add(56*time.Second))
	if p := c.Plan(t0.Add(2 * time.Hour)); fmt.Sprint(p.Need) != "[0 1]" {
		t.Errorf("past both TTLs: %+v; want both needed", p)
	}
	tix, _ = c.Acquire([]int{0}, false, t0.Add(2*time.Hour))
	if tix[0].Reason() != Expired {
		t.Errorf("the fetch of an expired item: %v; want expired", tix[0].Reason())
	}
}

// Callers that need an item while its fetch flies join that flight; when
// it lands, every one of them has its result.
func TestAcquireJoinsTheFlightInFlight(t *testing.T) {
	c := newCache(Config{}, Item{TTL: time.Minute})
	lead, _ := c.Acquire([]int{0}, false, t0)
	var joined []Ticket
	for range 3 {
		tix, _ := c.Acquire([]int{0}, false, t0)
		joined = append(joined, tix...)
	}
	if !lead[0].Lead {
		t.Fatal("the first caller does not lead")
	}
	for _, tk := range joined {
		if tk.Lead {
			t.Fatal("a second caller leads a second flight")
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, tk := range joined {
		wg.Go(func() {
			if !Await(ctx, tk) || tk.Landed().Value != "v" {
				t.Errorf("a waiter: landed %v, %+v", Await(ctx, tk), tk.Landed())
			}
		})
	}
	c.Land(lead[0], Result{Value: "v"}, t0)
	wg.Wait()
}

// A forced request is served by a forced flight only: it never takes an
// ordinary fetch in flight, which a cache in the source would answer. Any
// other request joins either, the forced one first.
func TestForcedAndOrdinaryFlights(t *testing.T) {
	c := newCache(Config{}, Item{TTL: time.Minute})
	ordinary, _ := c.Acquire([]int{0}, false, t0)
	forced, _ := c.Acquire([]int{0}, true, t0)
	if !forced[0].Lead || forced[0].Reason() != Forced {
		t.Fatalf("a forced request beside an ordinary flight: lead %v, %v; want a forced flight of its own", forced[0].Lead, forced[0].Reason())
	}
	if again, _ := c.Acquire([]int{0}, true, t0); again[0].Lead {
		t.Error("a second forced request leads a second forced flight")
	}
	if other, _ := c.Acquire([]int{0}, false, t0); other[0].Lead || other[0].f != forced[0].f {
		t.Error("an ordinary request does not join the forced flight")
	}
	// The forced flight lands first; the ordinary one, older, after it:
	// its value does not replace the forced one's.
	c.Land(forced[0], Result{Value: "new"}, t0)
	c.Land(ordinary[0], Result{Value: "old"}, t0)
	c.Settle(t0, nil)
	if v := served(t, c, 0); v != "new" {
		t.Errorf("served %q; want the later flight's value, new", v)
	}
}

// An item that a concurrent flight fetched since the caller drew up what it
// needs is skipped, unless the caller forces a fetch.
func TestAcquireSkipsWhatNoLongerNeedsAFetch(t *testing.T) {
	c := newCache(Config{}, Item{TTL: time.Minute})
	need := c.Plan(t0).Need
	fetch(t, c, t0, "v")
	if tix, skipped := c.Acquire(need, false, t0); len(tix) != 0 || skipped != 1 {
		t.Errorf("%d tickets, %d skipped; want the item skipped", len(tix), skipped)
	}
	if tix, skipped := c.Acquire(need, true, t0); len(tix) != 1 || skipped != 0 {
		t.Errorf("forced: %d tickets, %d skipped; want a flight", len(tix), skipped)
	}
}

// A failed refresh never touches the last good value: it is served stale,
// within MaxStale, and not fetched again before RetryFailedAfter. A fetch
// abandoned by its caller says nothing of the item and is not recorded.
func TestAFailureIsHeldAndServedStale(t *testing.T) {
	c := newCache(Config{MaxStale: time.Hour}, Item{TTL: time.Minute})
	fetch(t, c, t0, "v")
	now := t0.Add(2 * time.Minute)
	tix, _ := c.Acquire(c.Plan(now).Need, false, now)
	c.Land(tix[0], Result{Err: context.Canceled, Abandoned: true}, now)
	if p := c.Plan(now); len(p.Need) != 1 {
		t.Fatalf("after an abandoned fetch: %+v; want the item needed at once", p)
	}
	tix, _ = c.Acquire([]int{0}, false, now)
	c.Land(tix[0], Result{Err: errDenied}, now)
	st := c.Settle(now, nil)
	if len(st.Failed) != 0 || fmt.Sprint(st.Stale) != "[0]" || served(t, c, 0) != "va" {
		t.Fatalf("settled %+v, serving %q; want the last good value, stale", st, served(t, c, 0))
	}
	if d := c.Staleness(0, now); d != time.Minute {
		t.Errorf("staleness %v; want 1m past the TTL", d)
	}
	if p := c.Plan(now.Add(RetryFailedAfter - time.Millisecond)); len(p.Need) != 0 || p.Hits != 1 {
		t.Errorf("before the retry time: %+v; want it served as it is", p)
	}
	if p := c.Plan(now.Add(RetryFailedAfter)); len(p.Need) != 1 {
		t.Errorf("at the retry time: %+v; want it needed", p)
	}
	// Past MaxStale, a required item with no fresh value fails, and the Set
	// served before stays published.
	late := t0.Add(time.Minute + time.Hour + time.Second)
	st = c.Settle(late, nil)
	if len(st.Failed) != 1 || st.Failed[0].Err != errDenied || served(t, c, 0) != "va" {
		t.Errorf("past MaxStale: %+v; want the item failed with its error, nothing new published", st)
	}
}

// An optional item that could not be fetched is served without a value, or
// with its Default; a failure an invoke saw that the entries do not hold
// (seen) counts as the item's.
func TestSettleServesOptionalItemsWithoutAValue(t *testing.T) {
	def := "fallback"
	c := newCache(Config{}, Item{TTL: time.Minute, Optional: true}, Item{TTL: time.Minute, Optional: true, Default: &def}, Item{TTL: time.Minute})
	tix, _ := c.Acquire(c.Plan(t0).Need, false, t0)
	c.Land(tix[0], Result{Err: errDenied}, t0)
	c.Land(tix[1], Result{Err: errDenied}, t0)
	c.Land(tix[2], Result{Err: context.DeadlineExceeded, Abandoned: true}, t0)
	st := c.Settle(t0, map[int]error{2: context.DeadlineExceeded})
	if len(st.Failed) != 1 || st.Failed[0].I != 2 || st.Failed[0].Err != context.DeadlineExceeded || fmt.Sprint(st.Absent) != "[0 1]" {
		t.Fatalf("settled %+v; want a and b absent, c failed as seen", st)
	}
	if c.Holder().Load() != nil {
		t.Fatal("a Set was published with a required item failed")
	}
	tix, _ = c.Acquire([]int{2}, false, t0)
	c.Land(tix[0], Result{Value: "vc"}, t0)
	c.Settle(t0, nil)
	s := c.Holder().Load()
	if _, err, _ := s.Lookup(secret, "a"); err != errDenied {
		t.Errorf("a: %v; want its failure", err)
	}
	if v, err, _ := s.Lookup(secret, "b"); err != nil || v != def {
		t.Errorf("b: %q, %v; want its default", v, err)
	}
	if v := served(t, c, 2); v != "vc" {
		t.Errorf("c: %q", v)
	}
}

// Await reports whether the flight landed: not when the caller's context
// ends first, and always once it has landed.
func TestAwaitEndsWithTheContext(t *testing.T) {
	c := newCache(Config{}, Item{TTL: time.Minute})
	tix, _ := c.Acquire([]int{0}, false, t0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Await(ctx, tix[0]) {
		t.Fatal("Await reported a flight that has not landed")
	}
	c.Land(tix[0], Result{Value: "v"}, t0)
	if !Await(ctx, tix[0]) {
		t.Error("Await with an ended context did not report a landed flight")
	}
}

// The refresh of an expired item with a value to serve is detached: it
// runs apart from the invoke, whose callers wait for it until WaitUntil,
// the stale budget after it started, and then serve the value they have
// without starting another fetch. Once it lands, the warm path looks
// again.
func TestTheDetachedFlightAndItsStaleBudget(t *testing.T) {
	for _, tc := range []struct {
		budget    time.Duration
		waitedFor bool // the stale budget has not passed
	}{{time.Hour, true}, {0, false}} {
		t.Run(fmt.Sprint(tc.budget), func(t *testing.T) {
			c := newCache(Config{MaxStale: time.Hour, StaleBudget: tc.budget}, Item{TTL: time.Minute})
			fetch(t, c, t0, "v")
			now := t0.Add(2 * time.Minute)
			before := time.Now()
			tix, _ := c.Acquire(c.Plan(now).Need, false, now)
			lead := tix[0]
			if !lead.Lead || !lead.Detached() || !lead.HasStale() || !lead.Stale || lead.Reason() != Expired {
				t.Fatalf("lead %v, detached %v, has stale %v, stale %v, %v; want a detached refresh of an expired item",
					lead.Lead, lead.Detached(), lead.HasStale(), lead.Stale, lead.Reason())
			}
			if w := lead.WaitUntil(); w.Before(before.Add(tc.budget)) || w.After(time.Now().Add(tc.budget)) {
				t.Errorf("WaitUntil %v; want the stale budget after the flight started", w)
			}
			joined, skipped := c.Acquire([]int{0}, false, now)
			switch {
			case tc.waitedFor && (len(joined) != 1 || joined[0].Lead || !joined[0].Stale):
				t.Error("within the budget, a caller with the stale value to serve does not join the flight as one")
			case !tc.waitedFor && (len(joined) != 0 || skipped != 1):
				t.Errorf("past the budget: %d tickets, %d skipped; want the caller to serve what it has", len(joined), skipped)
			}
			p := c.Plan(now)
			if tc.waitedFor && len(p.Need) != 1 || !tc.waitedFor && (len(p.Need) != 0 || p.Hits != 1) {
				t.Errorf("plan %+v; want the item needed while its callers wait for the flight (%v), served as it is after", p, tc.waitedFor)
			}
			c.Settle(now, nil)
			c.Land(lead, Result{Value: "new"}, now)
			if _, warm := c.Warm(now); warm {
				t.Error("after the detached flight landed: the warm path serves the stale Set")
			}
			c.Settle(now, nil)
			if v := served(t, c, 0); v != "new" {
				t.Errorf("served %q after the refresh landed", v)
			}
		})
	}
	// Flights of a fresh item (ahead of expiry) and forced ones are never
	// detached.
	c := newCache(Config{MaxStale: time.Hour, Ahead: time.Hour}, Item{TTL: time.Minute})
	fetch(t, c, t0, "v")
	ahead := c.Plan(t0).Ahead
	forced, _ := c.Acquire([]int{0}, true, t0)
	if len(ahead) != 1 || ahead[0].Detached() || !ahead[0].HasStale() || forced[0].Detached() || forced[0].HasStale() {
		t.Errorf("ahead detached %v, forced detached %v has stale %v; want neither detached, the forced one with no fallback",
			ahead[0].Detached(), forced[0].Detached(), forced[0].HasStale())
	}
}

// RecentlyForced: a forced refresh that succeeded within a second takes
// the place of another. Its value is published before RecentlyForced can
// report it, even when Settle cannot publish a Set (another required item
// has no value): a caller that takes it for its own reads the new value,
// never the old one.
func TestRecentlyForcedIsPublishedBeforeItIsTrue(t *testing.T) {
	c := newCache(Config{}, Item{TTL: time.Minute}, Item{TTL: time.Minute})
	fetch(t, c, t0, "old")
	if c.RecentlyForced(0, t0) {
		t.Fatal("an ordinary fetch counts as forced")
	}
	// b expires and fails: no Set can be published.
	now := t0.Add(2 * time.Minute)
	tix, _ := c.Acquire([]int{1}, false, now)
	c.Land(tix[0], Result{Err: errDenied}, now)
	if st := c.Settle(now, nil); len(st.Failed) != 1 {
		t.Fatalf("settled %+v; want b failed", st)
	}

	forced, _ := c.Acquire([]int{0}, true, now)
	seen := make(chan string)
	go func() { // polls as a concurrent RefreshSecret would
		for !c.RecentlyForced(0, now) {
		}
		v, _, _ := c.Holder().Load().Lookup(secret, "a")
		seen <- v
	}()
	c.Land(forced[0], Result{Value: "new"}, now)
	if v := <-seen; v != "new" {
		t.Fatalf("RecentlyForced reported the refresh while the Set served %q", v)
	}
	if v := served(t, c, 0); v != "new" {
		t.Errorf("served %q; want the forced refresh's value", v)
	}
	if !c.RecentlyForced(0, now.Add(999*time.Millisecond)) || c.RecentlyForced(0, now.Add(time.Second)) {
		t.Error("want RecentlyForced within a second of the refresh only")
	}
	// A later failure of the item ends it.
	failed, _ := c.Acquire([]int{0}, true, now)
	c.Land(failed[0], Result{Err: errDenied}, now)
	if c.RecentlyForced(0, now) {
		t.Error("RecentlyForced after a failed refresh")
	}
}

// OnLand runs after each landing, with whether the flight was forced.
func TestOnLandSaysWhetherTheFlightWasForced(t *testing.T) {
	var got []bool
	c := newCache(Config{OnLand: func(forced bool) { got = append(got, forced) }}, Item{TTL: time.Minute})
	ordinary, _ := c.Acquire([]int{0}, false, t0)
	forced, _ := c.Acquire([]int{0}, true, t0)
	c.Land(ordinary[0], Result{Value: "v"}, t0)
	c.Land(forced[0], Result{Err: errDenied}, t0)
	if fmt.Sprint(got) != "[false true]" {
		t.Errorf("OnLand got %v", got)
	}
}

// The parameters found under declared paths are served by full name,
// after the declared ones: of two paths that list one, the one declared
// first; a parameter declared itself keeps its own value.
func TestSettleIndexesWhatPathsFound(t *testing.T) {
	ix := resolved.NewIndex(parameter)
	ix.AddPath("/app", 0)
	ix.AddPath("/app/prod", 1)
	ix.Add(parameter, "/app/prod/x", 2)
	c := New(Config{Index: ix, Items: []Item{{TTL: time.Minute}, {TTL: time.Minute}, {TTL: time.Minute}}})
	tix, _ := c.Acquire([]int{0, 1, 2}, false, t0)
	c.Land(tix[0], Result{Values: map[string]string{"/app/prod/x": "from /app", "/app/prod/y": "y from /app"}}, t0)
	c.Land(tix[1], Result{Values: map[string]string{"/app/prod/x": "from /app/prod", "/app/prod/y": "y from /app/prod"}}, t0)
	c.Land(tix[2], Result{Value: "declared"}, t0)
	c.Settle(t0, nil)
	s := c.Holder().Load()
	for name, want := range map[string]string{"/app/prod/x": "declared", "/app/prod/y": "y from /app"} {
		if v, err, ok := s.Lookup(parameter, name); !ok || err != nil || v != want {
			t.Errorf("%s: %q, %v, %v; want %q", name, v, err, ok, want)
		}
	}
}

// However many invokes look at once, each item has one flight, which one
// of them leads, on a loaded machine too.
func TestConcurrentAcquiresLeadOneFlightPerItem(t *testing.T) {
	busy.Goroutines(t, 2)
	c := newCache(Config{}, Item{TTL: time.Minute}, Item{TTL: time.Minute})
	var leads atomic.Int32
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			<-start
			now := t0
			tix, _ := c.Acquire(c.Plan(now).Need, false, now)
			for _, tk := range tix {
				if tk.Lead {
					leads.Add(1)
					c.Land(tk, Result{Value: "v"}, now)
				} else if !Await(context.Background(), tk) {
					t.Error("a waiter's flight never landed")
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if n := leads.Load(); n != 2 {
		t.Errorf("%d flights led for 2 items", n)
	}
}
