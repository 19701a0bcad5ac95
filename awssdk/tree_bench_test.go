package awssdk_test

// The cost of a parameter tree, for BENCHMARKS.md: how long a tree of N
// parameters takes to load on a cold start and to refresh once expired,
// and the GetParametersByPath calls each costs, with mw's default settings
// (the fetch timeout above all) but a short TTL. Two worlds:
//
//   - moto: the tree seeded into moto, listed through the counting proxy;
//     moto's own time per page grows with the parameters it holds;
//   - aws-25ms: serveAnswers in Go, every page answered after 25 ms, about
//     what a GetParametersByPath call takes inside an AWS Region.
//
// Each op is a fresh Wrap invoked back to back until its first invoke
// succeeds (cold), then, once its TTL has passed and one parameter has a
// new value, invoked every refreshGap until an invoke serves the new value
// (refresh). The metrics say how long each took, in how many invokes and
// fetches (Source.Fetch calls: attempts) and calls; refresh-waits counts
// the invokes that waited for the refresh (longer than waited), the others
// being served from memory. Trees of 100 and 1,000 parameters run by default (CI runs them
// once); MW_BIG_TREE=1 adds 10,000, which takes moto most of a minute to
// seed. They are not timed assertions, and run only with -bench.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

const (
	// treePageLatency is how long aws-25ms takes to answer one page.
	treePageLatency = 25 * time.Millisecond
	// treeTTL expires the tree soon after it loads.
	treeTTL = time.Second
	// treeFunctionTimeout is the function's timeout: each invoke's
	// deadline, above the default fetch timeout, which bounds each fetch.
	treeFunctionTimeout = 30 * time.Second
	// refreshGap is the time between invokes while the tree refreshes: a
	// steady 10 invokes a second.
	refreshGap = 100 * time.Millisecond
	// treeGiveUp is how long a cold load or a refresh may take before the
	// op fails.
	treeGiveUp = 30 * time.Minute
	// waited is how long an invoke takes at least when it waited for a
	// fetch: warm invokes take microseconds.
	waited = 100 * time.Millisecond
	// treeRoot is the tree's path.
	treeRoot = "/tree"
)

// treeSizes returns the trees measured: 10,000 parameters only with
// MW_BIG_TREE=1.
func treeSizes() []int {
	if os.Getenv("MW_BIG_TREE") == "1" {
		return []int{100, 1000, 10000}
	}
	return []int{100, 1000}
}

// counted is a Source that counts its Fetch calls: the fetches of the
// tree mw makes, each one attempt.
type counted struct {
	mw.Source
	fetches atomic.Int64
}

func (c *counted) Fetch(ctx context.Context, op string, items []mw.Item) []mw.Result {
	c.fetches.Add(1)
	return c.Source.Fetch(ctx, op, items)
}

// treeWorld is where a tree is listed from.
type treeWorld struct {
	source func() *awssdk.Source // a fresh Source, as a new process has
	calls  func() int64          // GetParametersByPath calls so far
	set    func(name, value string)
	seeded time.Duration // how long seeding it took, if it had to be
}

// treeValues returns a tree of n parameters under treeRoot, spread over
// ten subpaths, by name.
func treeValues(n int) map[string]string {
	out := make(map[string]string, n)
	for i := range n {
		name := fmt.Sprintf("%s/d%d/p%05d", treeRoot, i%10, i)
		out[name] = "value-of-" + name
	}
	return out
}

func BenchmarkTree(b *testing.B) {
	for _, world := range []string{"moto", "aws-25ms"} {
		for _, n := range treeSizes() {
			b.Run(fmt.Sprintf("%s/params=%d", world, n), func(b *testing.B) {
				values := treeValues(n)
				var w treeWorld
				if world == "moto" {
					w = motoTree(b, values)
				} else {
					w = answeredTree(b, values, treePageLatency)
				}
				benchTree(b, w, values)
			})
		}
	}
}

// motoTree seeds values into moto, and reports how long that took.
func motoTree(b *testing.B, values map[string]string) treeWorld {
	be := moto.NewBackend(b, server)
	start := time.Now()
	be.PutParameters("SecureString", values, 8)
	return treeWorld{
		seeded: time.Since(start),
		source: func() *awssdk.Source { return awssdk.New(be.Config()) },
		calls:  func() int64 { return be.Calls("GetParametersByPath") },
		set:    func(name, value string) { be.PutParameter(name, "SecureString", value) },
	}
}

// answeredTree serves values with serveAnswers, each page after latency,
// as Parameter Store pages them: 10 a page, in name order, with a
// NextToken while more follow.
func answeredTree(b *testing.B, values map[string]string, latency time.Duration) treeWorld {
	var mu sync.Mutex
	names := slices.Sorted(maps.Keys(values))
	current := maps.Clone(values)
	var calls atomic.Int64
	srv := serveAnswers(b, latency, map[string]func(map[string]any) any{
		"GetParametersByPath": func(req map[string]any) any {
			from := 0
			if t, ok := req["NextToken"].(string); ok {
				from, _ = strconv.Atoi(t)
			}
			size := int(req["MaxResults"].(float64))
			to := min(from+size, len(names))
			page := make([]map[string]any, 0, to-from)
			mu.Lock()
			for _, n := range names[from:to] {
				page = append(page, map[string]any{"Name": n, "Type": "SecureString", "Value": current[n],
					"Version": 1, "ARN": moto.ParameterARN(n), "DataType": "text"})
			}
			mu.Unlock()
			out := map[string]any{"Parameters": page}
			if to < len(names) {
				out["NextToken"] = strconv.Itoa(to)
			}
			return out
		},
	}, &calls)
	return treeWorld{
		source: func() *awssdk.Source { return awssdk.New(moto.Config(srv.URL)) },
		calls:  calls.Load,
		set: func(name, value string) {
			mu.Lock()
			defer mu.Unlock()
			current[name] = value
		},
	}
}

// treePhase is what one phase of an op took.
type treePhase struct {
	elapsed time.Duration
	invokes int
	waits   int // invokes that waited for a fetch
	fetches int64
	calls   int64
}

func (p *treePhase) add(q treePhase) {
	p.elapsed += q.elapsed
	p.invokes += q.invokes
	p.waits += q.waits
	p.fetches += q.fetches
	p.calls += q.calls
}

// benchTree measures the cold load and the refresh of the tree values in
// w, b.N times.
func benchTree(b *testing.B, w treeWorld, values map[string]string) {
	marker := slices.Min(slices.Collect(maps.Keys(values)))
	var cold, refresh treePhase
	b.ResetTimer()
	for i := range b.N {
		var got map[string]string
		var seen string
		src := &counted{Source: w.source()}
		h := mw.WrapFunc(func(ctx context.Context) error {
			var err error
			if got == nil {
				got, err = mw.ParametersByPath(ctx, treeRoot)
			}
			seen, _ = mw.Parameter(ctx, marker)
			return err
		}, mw.WithSource(src), mw.WithoutEnvironment(), mw.WithParametersByPath(treeRoot), mw.WithTTL(treeTTL))

		c := invokeUntil(b, w, src, h, 0, func(err error) bool { return err == nil })
		loaded := time.Now()
		if len(got) != len(values) {
			b.Fatalf("cold: %d parameters, want %d", len(got), len(values))
		}
		cold.add(c)

		fresh := fmt.Sprintf("refreshed-%d", i)
		w.set(marker, fresh)
		time.Sleep(time.Until(loaded.Add(treeTTL))) // the TTL passes
		refresh.add(invokeUntil(b, w, src, h, refreshGap, func(err error) bool {
			if err != nil {
				b.Fatalf("refresh: an invoke failed, with a stale tree to serve: %v", err)
			}
			return seen == fresh
		}))
	}
	b.StopTimer()
	if w.seeded > 0 {
		b.ReportMetric(w.seeded.Seconds(), "seed-s")
	}
	n := float64(b.N)
	b.ReportMetric(cold.elapsed.Seconds()/n, "cold-s")
	b.ReportMetric(float64(cold.invokes)/n, "cold-invokes")
	b.ReportMetric(float64(cold.fetches)/n, "cold-fetches")
	b.ReportMetric(float64(cold.calls)/n, "cold-calls")
	b.ReportMetric(refresh.elapsed.Seconds()/n, "refresh-s")
	b.ReportMetric(float64(refresh.invokes)/n, "refresh-invokes")
	b.ReportMetric(float64(refresh.waits)/n, "refresh-waits")
	b.ReportMetric(float64(refresh.fetches)/n, "refresh-fetches")
	b.ReportMetric(float64(refresh.calls)/n, "refresh-calls")
}

// invokeUntil invokes h, gap apart, until done says so of an invoke's
// error, and returns how long that took, in how many invokes (how many of
// them waited for a fetch), fetches of src and calls.
func invokeUntil(b *testing.B, w treeWorld, src *counted, h func(context.Context) error, gap time.Duration, done func(error) bool) treePhase {
	start, before, fetched := time.Now(), w.calls(), src.fetches.Load()
	waits := 0
	for n := 1; ; n++ {
		at := time.Now()
		err := invoke(h, treeFunctionTimeout)
		if time.Since(at) >= waited {
			waits++
		}
		if done(err) {
			return treePhase{elapsed: time.Since(start), invokes: n, waits: waits,
				fetches: src.fetches.Load() - fetched, calls: w.calls() - before}
		}
		if time.Since(start) > treeGiveUp {
			b.Fatalf("not done after %d invokes in %v (%d calls): %v", n, time.Since(start).Round(time.Second),
				w.calls()-before, cmp.Or(err, errors.New("the tree served is still the old one")))
		}
		time.Sleep(gap)
	}
}
