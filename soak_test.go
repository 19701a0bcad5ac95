package mw_test

import (
	"context"
	"errors"
	"fmt"
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

// TestSoak runs many concurrent invokes of one Wrap against a fake extension
// that fails a share of its requests, with a TTL short enough that values
// are refreshed, and rotated, all through the run. It is not part of the
// default run; opt in with
//
//	MW_SOAK=1 go test -race -run TestSoak -v .
func TestSoak(t *testing.T) {
	if os.Getenv("MW_SOAK") != "1" {
		t.Skip("soak test: set MW_SOAK=1 to run it (MW_SOAK=1 go test -race -run TestSoak -v .)")
	}
	for _, r := range []soakRun{
		{name: "managed", dialect: mwtest.Managed, faults: soakFaults, deadline: soakDeadline, minSuccess: 0.9},
		{name: "agent", dialect: mwtest.Agent, faults: soakFaults, deadline: soakDeadline, minSuccess: 0.9,
			opts: []mw.Option{mw.WithSecretsManagerAgent()}},
		{name: "managed-refresh-ahead", dialect: mwtest.Managed, faults: soakFaults, deadline: soakDeadline, minSuccess: 0.9,
			opts: []mw.Option{mw.WithRefreshAhead(soakTTL / 2)}},
		// Half the requests fail, deadlines are short, and no stale value
		// is served, so that invokes fail too: their errors must be
		// *PrefetchErrors of sensible classes.
		{name: "managed-harsh", dialect: mwtest.Managed, faults: soakHarsh, deadline: soakHarshDeadline, minSuccess: 0,
			opts: []mw.Option{mw.WithMaxStale(0)}},
	} {
		t.Run(r.name, func(t *testing.T) { soak(t, r) })
	}
}

// soakRun is one soak: its dialect, faults, invoke deadline, more options,
// and the share of invokes that must succeed (0: some, but not all).
type soakRun struct {
	name       string
	dialect    mwtest.Dialect
	faults     mwtest.Faults
	deadline   time.Duration
	opts       []mw.Option
	minSuccess float64
}

const (
	soakInvokes     = 10_000
	soakConcurrency = 64
	soakTTL         = 20 * time.Millisecond
	soakDeadline    = 2 * time.Second
	// The harsh run's deadline leaves time for about four attempts.
	soakHarshDeadline = 150 * time.Millisecond
	soakRotateEvery   = 50                    // invokes between two new versions of an item
	soakRefreshEvery  = 97                    // invokes between two RefreshSecret calls
	soakWork          = 10 * time.Millisecond // a handler's own work, so that TTLs pass during the run
	soakLatency       = time.Millisecond      // the fake's answer time
	soakToken         = "soak-session-token"
)

var (
	soakFaults = mwtest.Faults{ServerError: .04, Throttle: .03, Reset: .03, Seed: 1}
	soakHarsh  = mwtest.Faults{ServerError: .20, Throttle: .15, Reset: .15, Seed: 1}
	// soakSensible are the classes a fetch may fail with here: the fake
	// only injects retryable faults, and deadlines end retries.
	soakSensible = map[mw.Class]bool{mw.ClassThrottled: true, mw.ClassServerError: true, mw.ClassUnavailable: true, mw.ClassTimeout: true}
)

// soakItem is one declared item and how to put a new version of it.
type soakItem struct {
	kind string // "secret" or "parameter"
	name string
	typ  string // parameter type, or "binary" for a SecretBinary secret
}

func (it soakItem) key() string { return it.kind + ":" + it.name }

// soakBook records every version of every item ever put, so that a value a
// handler sees can be checked: it must be a version of that very item.
type soakBook struct {
	ext  *mwtest.Extension
	mu   sync.Mutex
	vs   map[string]map[string]int // key -> value -> version
	seen map[string]map[int]bool   // key -> versions handlers saw
}

// soakValue is version v of it: it names the item and the version, and
// holds bytes that JSON must escape.
func soakValue(it soakItem, v int) string {
	s := fmt.Sprintf("%s#v%d|é\"\\\t/<&>|%s", it.key(), v, strings.Repeat("x", v%37))
	if it.typ == "binary" {
		s += "\x00\xff\x80"
	}
	return s
}

// put stores the next version of it in the fake, and records it first, so
// that no handler can see a version the book does not know.
func (b *soakBook) put(it soakItem) {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.vs[it.key()]
	if m == nil {
		m = map[string]int{}
		b.vs[it.key()] = m
	}
	v := len(m) + 1
	val := soakValue(it, v)
	m[val] = v
	switch {
	case it.kind == "parameter":
		b.ext.PutParameter(it.name, it.typ, val)
	case it.typ == "binary":
		b.ext.PutSecretBinary(it.name, []byte(val))
	default:
		b.ext.PutSecret(it.name, val)
	}
}

// check reports whether val is a version of it that was put.
func (b *soakBook) check(it soakItem, val string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.vs[it.key()][val]
	if ok {
		if b.seen[it.key()] == nil {
			b.seen[it.key()] = map[int]bool{}
		}
		b.seen[it.key()][v] = true
	}
	return ok
}

// versions returns how many versions of it were put, and how many of them
// handlers saw.
func (b *soakBook) versions(it soakItem) (put, seen int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.vs[it.key()]), len(b.seen[it.key()])
}

// soakLog keeps the first few of many messages, and counts them all.
type soakLog struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (l *soakLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.first) < 10 {
		l.first = append(l.first, fmt.Sprintf(format, args...))
	}
}

func soak(t *testing.T, r soakRun) {
	stall := watchStalls(t)
	items := []soakItem{
		{"secret", "soak/db", ""},
		{"secret", "soak/api+key=1@team", ""},
		{"secret", "soak/tls.cert_v2", ""},
		{"secret", "soak/bin", "binary"},
	}
	if r.dialect == mwtest.Managed { // the agent has no Parameter Store
		items = append(items,
			soakItem{"parameter", "/soak/flags", "String"},
			soakItem{"parameter", "/soak/db/password", "SecureString"})
	}
	var secrets, params []string
	declared := map[string]bool{}
	for _, it := range items {
		declared[it.key()] = true
		if it.kind == "secret" {
			secrets = append(secrets, it.name)
		} else {
			params = append(params, it.name)
		}
	}

	before := runtime.NumGoroutine()
	t.Setenv("AWS_SESSION_TOKEN", soakToken)
	ext := mwtest.New(r.dialect)
	ext.SetToken(soakToken)
	srv := httptest.NewServer(ext)
	var closeOnce sync.Once
	shutdown := func() {
		closeOnce.Do(func() {
			ext.Close() // release held requests first
			srv.Close()
		})
	}
	defer shutdown()

	book := &soakBook{ext: ext, vs: map[string]map[string]int{}, seen: map[string]map[int]bool{}}
	for _, it := range items {
		book.put(it)
	}
	ext.SetFaults(r.faults)
	ext.SetLatency(soakLatency)

	var (
		ran, refreshed, successes atomic.Int64
		wrong, failures           soakLog // wrong values; unexpected failures
		mu                        sync.Mutex
		byClass                   = map[mw.Class]int{}
		refreshErrs               = map[mw.Class]int{}
		latency                   = make([]time.Duration, soakInvokes)
		maxFailed                 time.Duration // the slowest failed invoke
	)
	h := mw.Wrap(func(ctx context.Context, i int) (int, error) {
		ran.Add(1)
		for _, it := range items {
			var v string
			var err error
			if it.kind == "secret" {
				v, err = mw.Secret(ctx, it.name)
			} else {
				v, err = mw.Parameter(ctx, it.name)
			}
			if err != nil {
				wrong.add("invoke %d: %s: %v", i, it.key(), err)
			} else if !book.check(it, v) {
				wrong.add("invoke %d: %s = %q, which is no version of it", i, it.key(), v)
			}
		}
		if i%soakRefreshEvery == 0 {
			// A handler whose login failed after a rotation.
			it := items[(i/soakRefreshEvery)%len(secrets)]
			v, err := mw.RefreshSecret(ctx, it.name)
			var fe *mw.FetchError
			switch {
			case err == nil:
				refreshed.Add(1)
				if !book.check(it, v) {
					wrong.add("invoke %d: RefreshSecret(%s) = %q, which is no version of it", i, it.name, v)
				}
			case errors.As(err, &fe) && soakSensible[fe.Class] && fe.Name == it.name:
				mu.Lock()
				refreshErrs[fe.Class]++
				mu.Unlock()
			default:
				failures.add("invoke %d: RefreshSecret(%s): unexpected error %T: %v", i, it.name, err, err)
			}
		}
		time.Sleep(soakWork)
		return i, nil
	}, append([]mw.Option{
		mw.WithEndpoint(srv.URL),
		mw.WithTracerProvider(noop.NewTracerProvider()),
		mw.WithSecrets(secrets...),
		mw.WithParameters(params...),
		mw.WithTTL(soakTTL),
	}, r.opts...)...)

	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range soakConcurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= soakInvokes {
					return
				}
				if i%soakRotateEvery == 0 && i > 0 {
					book.put(items[(i/soakRotateEvery)%len(items)])
				}
				ctx, cancel := context.WithTimeout(context.Background(), r.deadline)
				t0 := time.Now()
				got, err := h(ctx, i)
				latency[i] = time.Since(t0)
				cancel()
				if err == nil {
					if got != i {
						failures.add("invoke %d returned %d", i, got)
					}
					successes.Add(1)
					continue
				}
				var pe *mw.PrefetchError
				if !errors.As(err, &pe) {
					failures.add("invoke %d: error %T is not a *PrefetchError: %v", i, err, err)
					continue
				}
				if len(pe.Failed) == 0 || pe.Declared != len(items) {
					failures.add("invoke %d: PrefetchError with %d failed of %d declared", i, len(pe.Failed), pe.Declared)
				}
				mu.Lock()
				for _, fe := range pe.Failed {
					byClass[fe.Class]++
				}
				maxFailed = max(maxFailed, latency[i])
				mu.Unlock()
				// mw gives up early enough to return before the deadline;
				// the slack is for a loaded machine: a fixed margin, and
				// how long the process ran nothing during this invoke.
				if el := latency[i]; el > r.deadline+100*time.Millisecond {
					if st := stall.during(t0, t0.Add(el)); el > r.deadline+100*time.Millisecond+st {
						failures.add("a failed invoke took %s, past its deadline of %s (the process stalled %s meanwhile)", el, r.deadline, st)
					}
				}
				for _, fe := range pe.Failed {
					if !soakSensible[fe.Class] || !declared[fe.Kind.String()+":"+fe.Name] {
						failures.add("invoke %d: unexpected failure: %v", i, fe)
					}
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	stats := ext.Stats()

	shutdown()
	after := soakSettle(before)

	slices.Sort(latency)
	ok := successes.Load()
	t.Logf("%s: %d invokes at concurrency %d in %s (%.0f invokes/s); TTL %s, handler work %s, extension latency %s, invoke deadline %s, faults %+v",
		r.name, soakInvokes, soakConcurrency, wall.Round(time.Millisecond), float64(soakInvokes)/wall.Seconds(),
		soakTTL, soakWork, soakLatency, r.deadline, r.faults)
	t.Logf("successes %d, failed invokes %d, failed items by class %v; RefreshSecret: %d ok, failed by class %v",
		ok, soakInvokes-int(ok), byClass, refreshed.Load(), refreshErrs)
	t.Logf("extension requests %d (value requests %d, refreshNow %d), answers by status %v, faults injected %+v",
		stats.Total, stats.Fetches, stats.RefreshNow, stats.ByStatus, stats.Faults)
	for _, it := range items {
		put, seen := book.versions(it)
		t.Logf("  %s: %d fetches, %d versions put, %d of them seen by handlers", it.key(), stats.ByName[it.name], put, seen)
	}
	t.Logf("invoke latency p50 %s, p99 %s, max %s (handler work included); slowest failed invoke %s",
		soakPct(latency, 50), soakPct(latency, 99), latency[len(latency)-1], maxFailed)
	t.Logf("goroutines before %d, after %d; the process stalled %s at worst", before, after, stall.worst())

	for _, s := range wrong.first {
		t.Error(s)
	}
	if wrong.n > 0 {
		t.Errorf("handlers saw %d wrong or missing values", wrong.n)
	}
	for _, s := range failures.first {
		t.Error(s)
	}
	if n := ran.Load(); n != ok {
		t.Errorf("the handler ran %d times for %d successful invokes; a failed invoke must not run it", n, ok)
	}
	if float64(ok) < r.minSuccess*soakInvokes {
		t.Errorf("only %d of %d invokes succeeded; want %.0f%%", ok, soakInvokes, 100*r.minSuccess)
	}
	if r.minSuccess == 0 && (ok == 0 || ok == soakInvokes) {
		t.Errorf("%d of %d invokes succeeded; this run wants some of each", ok, soakInvokes)
	}
	if f := stats.Faults; f.ServerError == 0 || f.Throttle == 0 || f.Reset == 0 {
		t.Errorf("faults injected %+v; want some of each kind", f)
	}
	for _, it := range items {
		if n := stats.ByName[it.name]; n < 10 {
			t.Errorf("%s was fetched %d times; want refreshes throughout the run", it.key(), n)
		}
		if _, seen := book.versions(it); seen < 2 {
			t.Errorf("handlers saw %d version(s) of %s; want the rotations to reach them", seen, it.key())
		}
	}
	if after > before+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before, %d after the run; stacks:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// soakSettle waits, up to 5 s, for the runtime to end the goroutines that
// are on their way out (connection readers, timers) until no more than
// baseline run, and returns how many remain.
func soakSettle(baseline int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline || time.Now().After(deadline) {
			return n
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond)
	}
}

// soakPct returns the p-th percentile of sorted.
func soakPct(sorted []time.Duration, p int) time.Duration {
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}
