package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// result is what one case showed.
type result struct {
	tier    string
	pattern string
	m, n    int
	scale   float64

	done      []time.Duration // per environment that got its values: from its first invoke
	doneAt    []time.Duration // the same, from the start of the run, sorted
	never     int             // environments without values at the horizon
	invokes   int
	failed    int
	calls     int64
	throttled int64
	overruns  int
	overrun   time.Duration
	wall      time.Duration // real time the case took
	cpu       float64       // the share of the machine's CPUs the case used
}

const header = "| tier | pattern | M | N | scale | values p50 | p99 | max | all by | without values | invokes failed / made | upstream calls | throttled | past deadline | CPU used |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"

func (r result) row() string {
	q := func(p float64) string {
		if len(r.done) == 0 || r.never > 0 && p*float64(r.m) > float64(len(r.done)) {
			return "—"
		}
		return ms(r.done[min(len(r.done)-1, int(p*float64(r.m)+0.999999)-1)])
	}
	all := "—"
	if r.never == 0 && len(r.doneAt) > 0 {
		all = ms(r.doneAt[len(r.doneAt)-1])
	}
	past := "never"
	if r.overruns > 0 {
		past = fmt.Sprintf("%d, up to %s", r.overruns, ms(r.overrun))
	}
	return fmt.Sprintf("| %s | %s | %d | %d | %g | %s | %s | %s | %s | %d | %d / %d | %d | %d | %s | %.0f %% |",
		r.tier, r.pattern, r.m, r.n, r.scale, q(0.5), q(0.99), q(1), all, r.never, r.failed, r.invokes, r.calls, r.throttled, past,
		100*r.cpu)
}

// ms formats a simulated duration for the table.
func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

// runCase runs m environments of n items of tier t's kind, in pattern p.
func runCase(s settings, t tier, m, n int, p string) result {
	scale := s.scale
	c := &clock{scale: scale}
	up := newUpstream(c, t, s.burst, s.latency)
	srv := httptest.NewServer(up)
	defer srv.Close()
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 8192, 8192
	})
	defer hc.GetTransport().CloseIdleConnections()
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIMULATED", "simulated", ""),
		BaseEndpoint: aws.String(srv.URL),
		HTTPClient:   hc,
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}

	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("/storm/param-%02d", i)
		if t.items == "secret" {
			names[i] = fmt.Sprintf("storm/secret-%02d", i)
		}
	}
	rng := rand.New(rand.NewPCG(s.seed, uint64(m)<<32|uint64(n)))
	envs := make([]*env, m)
	for i := range envs {
		start := scalingStart(i, s.scalingBurst, s.scalingRate) + s.initMin +
			time.Duration(rng.Float64()*float64(s.initMax-s.initMin))
		ready := start + time.Duration(rng.Float64()*float64(s.extReady))
		envs[i] = &env{id: i, start: start,
			ext: newExtension(c, up, names, t.items, ready, s.extTTL, s.extConns, p == patternExt429)}
	}
	ext := &http.Client{Transport: inproc{envs}}
	for _, e := range envs {
		e.handle = newHandler(p, e, t.items, names, ext, cfg)
	}

	cpu0 := cpuTime()
	c.start = time.Now()
	runAll(c, envs, s.timeout, s.gap, s.horizon)
	r := result{tier: t.name, pattern: p, m: m, n: n, scale: scale, wall: time.Since(c.start),
		cpu:   float64(cpuTime()-cpu0) / float64(time.Since(c.start)) / float64(runtime.GOMAXPROCS(0)),
		calls: total(&up.calls), throttled: total(&up.throttled)}
	for _, e := range envs {
		r.invokes += e.invokes
		r.failed += e.failed
		r.overruns += e.overruns
		r.overrun = max(r.overrun, e.overrun)
		if e.done < 0 {
			r.never++
			continue
		}
		r.done = append(r.done, e.done)
		r.doneAt = append(r.doneAt, e.start+e.done)
	}
	slices.Sort(r.done)
	slices.Sort(r.doneAt)
	return r
}

// scalingStart is when Lambda may start environment i of a function with
// no environments and a demand for many: its scaling rate is a bucket of
// burst environments, full, refilled at rate a second ("1,000 execution
// environment instances every 10 seconds", refilled continuously, not
// accrued).
func scalingStart(i, burst int, rate float64) time.Duration {
	if i < burst {
		return 0
	}
	return time.Duration(float64(i-burst+1) / rate * float64(time.Second))
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
