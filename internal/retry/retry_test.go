package retry

import (
	"context"
	"testing"
	"time"
)

// within reports whether d lies in [lo, hi].
func within(d, lo, hi time.Duration) bool { return lo <= d && d <= hi }

// The quick schedule: 20 ms doubling to 250 ms, each wait within ±25 %.
// Many schedules are drawn, so that the jitter's whole range is met.
func TestTheQuickScheduleDoublesWithinItsJitter(t *testing.T) {
	intervals := []time.Duration{20, 40, 80, 160, 250, 250, 250}
	for range 200 {
		s := New(context.Background())
		for k, iv := range intervals {
			iv *= time.Millisecond
			if d := s.Next(false, 0); !within(d, iv*3/4, iv*5/4) {
				t.Fatalf("wait %d: %v; want %v ±25 %%", k+1, d, iv)
			}
		}
	}
}

// The throttling schedule: full jitter, from 0 to twice 100 ms doubling to
// 1 s, so that environments throttled together do not retry together.
func TestTheThrottledScheduleHasFullJitter(t *testing.T) {
	intervals := []time.Duration{100, 200, 400, 800, 1000, 1000}
	var short, long bool
	for range 200 {
		s := New(context.Background())
		for k, iv := range intervals {
			iv *= time.Millisecond
			d := s.Next(true, 0)
			if !within(d, 0, 2*iv) {
				t.Fatalf("wait %d: %v; want within [0, %v]", k+1, d, 2*iv)
			}
			short = short || d < iv/2
			long = long || d > 3*iv/2
		}
	}
	if !short || !long {
		t.Errorf("in 200 schedules, a wait under half its interval %v, over one and a half %v: want both", short, long)
	}
}

// The two schedules of one call are apart: throttled answers do not slow
// the retries of other failures, nor the reverse.
func TestTheSchedulesAreApart(t *testing.T) {
	s := New(context.Background())
	for range 5 {
		s.Next(true, 0)
	}
	if d := s.Next(false, 0); !within(d, 15*time.Millisecond, 25*time.Millisecond) {
		t.Errorf("the first quick wait after five throttled ones: %v; want 20 ms ±25 %%", d)
	}
}

// atLeast is a floor, as a server's Retry-After asks: the wait is never
// shorter, and may be longer.
func TestAtLeastIsAFloor(t *testing.T) {
	s := New(context.Background())
	if d := s.Next(false, time.Minute); d != time.Minute {
		t.Errorf("Next(false, 1m) = %v; want 1m", d)
	}
	if d := s.Next(true, time.Millisecond); !within(d, time.Millisecond, 200*time.Millisecond) {
		t.Errorf("Next(true, 1ms) = %v; want the schedule's own wait, at least 1 ms", d)
	}
}

// A wait that would end past the context's deadline is not started: Next
// says Stop, so that the last real error is reported, not the deadline.
func TestNoWaitEndsPastTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	s := New(ctx)
	if d := s.Next(false, 0); d == Stop || d > 25*time.Millisecond {
		t.Fatalf("a short wait, well within the deadline: %v", d)
	}
	if d := s.Next(false, 2*time.Second); d != Stop {
		t.Errorf("a Retry-After past the deadline: %v; want Stop", d)
	}
	if d := s.Next(false, 500*time.Millisecond); d != 500*time.Millisecond {
		t.Errorf("a Retry-After within the deadline: %v; want it", d)
	}
	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	if d := New(past).Next(false, 0); d != Stop {
		t.Errorf("past the deadline: %v; want Stop", d)
	}
}

// Sleep waits out d, or returns false when the context ends first.
func TestSleepEndsWithTheContext(t *testing.T) {
	if !Sleep(context.Background(), 0) {
		t.Error("Sleep(0) did not wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep with an ended context waited")
	}
}
