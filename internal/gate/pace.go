package gate

import "time"

// The pace of the probes. A loopback request costs nothing while the
// extension is not serving, so the probes are quick at first. They slow
// down after probeFastFor, or once two answers in a row took longer than a
// loopback answer: an extension that answers 400 that slowly asked AWS
// first (it serves, and the item is missing, or AWS throttles it), and each
// fast probe would cost another call to AWS. Slowed, they back off as
// throttled calls do, doubling to probeSlowest, ±50 %, so that
// environments that start together do not probe together.
//
// probeEvery bounds the readiness penalty: up to one probe's interval,
// plus the round of requests for the items that waited (BENCHMARKS.md
// measures it).
const (
	probeFirst   = time.Millisecond
	probeEvery   = 3 * time.Millisecond
	probeFastFor = time.Second
	probeSlowest = time.Second
)

// ProbeEvery is the interval of the quick probes.
const ProbeEvery = probeEvery

// DefaultLocal is the longest a loopback answer takes: well under a
// millisecond, where AWS's take several.
const DefaultLocal = 5 * time.Millisecond

// pacer is the state of one prober's pace.
type pacer struct {
	start   time.Time
	delay   time.Duration
	slowRun int // slow answers in a row
}

// next returns the wait before the next probe, given how long the last
// answer took, how long the prober has been probing, the longest a
// loopback answer takes, and a uniform random number in [0, 1) for the
// jitter. A quick answer keeps the pace quick; a slow one alone (a loopback
// request held up by a busy CPU, as at a cold start on a small function)
// changes nothing; from the second slow one in a row the probes back off.
func (p *pacer) next(took, probing, local time.Duration, r float64) time.Duration {
	if p.delay == 0 {
		p.delay = probeFirst
	}
	if took < local {
		p.slowRun = 0
	} else {
		p.slowRun++
	}
	if probing < probeFastFor && p.slowRun < 2 {
		p.delay = min(2*p.delay, probeEvery)
		return p.delay
	}
	p.delay = min(max(p.delay, probeEvery)*2, probeSlowest)
	return p.delay/2 + time.Duration(r*float64(p.delay))
}
