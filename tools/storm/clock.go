package main

import "time"

// clock is the simulated time: real time since the run started, times the
// scale. Every duration of the simulation (quotas, latencies, Lambda's
// scaling, init times, the function's timeout, the TTLs) is simulated;
// mw's own constants (its backoff, its readiness probes, its startup
// window) are real time, and so look scale times longer.
type clock struct {
	start time.Time
	scale float64
}

// now is the simulated time since the start.
func (c *clock) now() time.Duration { return c.sim(time.Since(c.start)) }

// real converts a simulated duration to real time.
func (c *clock) real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.scale) }

// sim converts a real duration to simulated time.
func (c *clock) sim(d time.Duration) time.Duration { return time.Duration(float64(d) * c.scale) }

// until waits until simulated time t.
func (c *clock) until(t time.Duration) {
	if d := c.real(t) - time.Since(c.start); d > 0 {
		time.Sleep(d)
	}
}
