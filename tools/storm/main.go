// Command storm simulates a function scaling out against one account's
// API quotas: M execution environments, each its own mw.Wrap with its own
// extension (and the extension's own cache) or its own AWS SDK source,
// cold-starting along Lambda's scaling rate, each with N items, against
// one simulated AWS endpoint that enforces Parameter Store's and Secrets
// Manager's quotas as token buckets. It compares, in one run, the seed's
// pattern (every invoke calls the extension for every item, no retry), mw
// through the extension, and mw through the SDK source with batching, and
// prints a table per case; -chart draws the environments that have their
// values over time. SCALE.md at the root of the repository reads it.
//
//	go -C tools run ./storm                    # the full run, about 5 minutes
//	go -C tools run ./storm -envs 10 -items 1  # one row per tier and pattern
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

// settings are the flags.
type settings struct {
	tiers, patterns []string
	envs, items     []int

	timeout, horizon time.Duration
	gap              time.Duration
	scale            float64
	latency          time.Duration
	burst            float64
	scalingBurst     int
	scalingRate      float64
	initMin, initMax time.Duration
	extReady         time.Duration
	extConns         int
	extTTL           time.Duration
	seed             uint64

	out, chart string
	chartItems int
	strict     bool
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("storm: ")
	var s settings
	tiersFlag := flag.String("tiers", "ps-standard,ps-high,sm", "quota tiers: ps-standard (Parameter Store, 40 TPS shared), ps-high (higher throughput), sm (Secrets Manager)")
	patternsFlag := flag.String("patterns", strings.Join(patterns, ","), "patterns: seed, mw-ext, mw-ext429 (the extension passes AWS's throttling on as a 429), mw-sdk")
	envsFlag := flag.String("envs", "10,100,1000", "execution environments, M")
	itemsFlag := flag.String("items", "1,10,40", "items each environment declares, N")
	flag.DurationVar(&s.timeout, "timeout", 10*time.Second, "the function's timeout: each invoke's deadline (simulated)")
	flag.DurationVar(&s.gap, "gap", 10*time.Millisecond, "between an environment's invokes: the next request's way to it (simulated)")
	flag.DurationVar(&s.horizon, "horizon", 10*time.Second, "simulated time after which environments stop trying")
	flag.Float64Var(&s.scale, "scale", 1, "time compression: simulated seconds per real second (mw's own timings stay real: see SCALE.md)")
	flag.DurationVar(&s.latency, "latency", 15*time.Millisecond, "AWS's answer time per call, ± a third (simulated)")
	flag.Float64Var(&s.burst, "burst", 1, "seconds of quota a token bucket holds (AWS does not publish it)")
	flag.IntVar(&s.scalingBurst, "scaling-burst", 1000, "environments Lambda may add at once (its scaling rate's bucket)")
	flag.Float64Var(&s.scalingRate, "scaling-rate", 100, "environments Lambda adds a second once that is spent (1,000 per 10 s)")
	flag.DurationVar(&s.initMin, "init-min", 150*time.Millisecond, "shortest init before an environment's first invoke (simulated)")
	flag.DurationVar(&s.initMax, "init-max", 400*time.Millisecond, "longest init before an environment's first invoke (simulated)")
	flag.DurationVar(&s.extReady, "ext-ready", 20*time.Millisecond, "the extension serves up to this long after the first invoke starts (simulated)")
	flag.IntVar(&s.extConns, "ext-conns", 3, "the extension's upstream connections (PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS)")
	flag.DurationVar(&s.extTTL, "ext-ttl", 300*time.Second, "the extension's cache TTL (SSM_PARAMETER_STORE_TTL, SECRETS_MANAGER_TTL)")
	flag.Uint64Var(&s.seed, "seed", 1, "seed of the environments' init times")
	flag.StringVar(&s.out, "out", "", "also write the table to this file")
	flag.StringVar(&s.chart, "chart", "", "draw the environments with values over time to this PNG")
	flag.IntVar(&s.chartItems, "chart-items", 10, "the N the chart shows, at the largest M")
	flag.BoolVar(&s.strict, "strict", false, "fail if mw (mw-ext, mw-ext429, mw-sdk) leaves an environment without its values at the horizon")
	gcPercent := flag.Int("gc", 800, "GOGC for the run: the simulation runs every environment's heap in one process, whose collections would stall them all together")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	debug.SetGCPercent(*gcPercent)
	debug.SetMemoryLimit(8 << 30)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	s.tiers, s.patterns = split(*tiersFlag), split(*patternsFlag)
	if s.envs, err = ints(*envsFlag); err == nil {
		s.items, err = ints(*itemsFlag)
	}
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range s.tiers {
		if _, ok := tierByName(t); !ok {
			log.Fatalf("unknown tier %q", t)
		}
	}
	for _, p := range s.patterns {
		if !validPattern(p) {
			log.Fatalf("unknown pattern %q", p)
		}
	}

	w := io.Writer(os.Stdout)
	if s.out != "" {
		f, err := os.Create(s.out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = io.MultiWriter(os.Stdout, f)
	}
	fmt.Fprintln(w, header)
	var results []result
	var bad []string
	for _, tn := range s.tiers {
		t, _ := tierByName(tn)
		for _, m := range s.envs {
			for _, n := range s.items {
				for _, p := range s.patterns {
					r := runCase(s, t, m, n, p)
					results = append(results, r)
					fmt.Fprintln(w, r.row())
					if r.overruns > 0 {
						bad = append(bad, fmt.Sprintf("%s %s M=%d N=%d: %d invokes returned past their deadline", r.tier, r.pattern, m, n, r.overruns))
					}
					if s.strict && r.pattern != patternSeed && r.never > 0 {
						bad = append(bad, fmt.Sprintf("%s %s M=%d N=%d: %d environments without their values", r.tier, r.pattern, m, n, r.never))
					}
				}
			}
		}
	}
	if s.chart != "" {
		if err := drawChart(s, results); err != nil {
			log.Fatal(err)
		}
	}
	if len(bad) > 0 {
		log.Fatal(strings.Join(bad, "; "))
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want positive numbers, got %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func validPattern(p string) bool {
	switch p {
	case patternSeed, patternExt, patternExt429, patternSDK:
		return true
	}
	return false
}
