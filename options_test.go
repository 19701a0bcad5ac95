package mw_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Every duration option means something at zero, refuses a negative
// duration, and refuses a positive one below a millisecond, which is
// almost surely a count of seconds passed as a time.Duration (WithTTL(300)
// is 300 ns): Wrap panics, naming the option, the duration with its unit,
// and what to write instead. What is accepted serves.
func TestDurationOptions(t *testing.T) {
	options := []struct {
		name string
		opt  func(time.Duration) mw.Option
		zero string // what the refusal of a negative duration says 0 does
	}{
		{"WithTTL", mw.WithTTL, "WithTTL(0) fetches on every invoke"},
		{"TTL", func(d time.Duration) mw.Option { return mw.WithSecret("t", mw.TTL(d)) }, "TTL(0) fetches on every invoke"},
		{"WithStartupWindow", mw.WithStartupWindow, "WithStartupWindow(0) never waits"},
		{"WithFetchTimeout", mw.WithFetchTimeout, "WithFetchTimeout(0) leaves the invoke's deadline alone"},
		{"WithMaxStale", mw.WithMaxStale, "WithMaxStale(0) never serves a stale value"},
		{"WithRefreshAhead", mw.WithRefreshAhead, "WithRefreshAhead(0) turns refreshing ahead off"},
	}
	cases := []struct {
		name string
		d    time.Duration
		want []string // what the panic says; none: accepted
	}{
		{"zero", 0, nil},
		{"negative", -5 * time.Second, []string{"(-5s)", "negative"}},
		{"sub-millisecond", 300, []string{"(300ns)", "did you mean 300 * time.Second?"}},
		{"microseconds", 250 * time.Microsecond, []string{"(250µs)", "did you mean 250 * time.Millisecond?"}},
		{"sensible", 30 * time.Second, nil},
		{"a millisecond", time.Millisecond, nil},
	}
	for _, o := range options {
		for _, tc := range cases {
			t.Run(o.name+"/"+tc.name, func(t *testing.T) {
				w := newWorld(t, mwtest.Managed)
				w.ext.PutSecret("s", "v")
				w.ext.PutSecret("t", "w")
				opts := w.opts(mw.WithSecrets("s"), o.opt(tc.d))
				if tc.want != nil {
					err := mustPanic(t, func() { mw.Wrap(echo, opts...) })
					for _, want := range append(tc.want, o.name+"(") {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("panic %q; want it to say %q", err, want)
						}
					}
					if tc.d < 0 && !strings.Contains(err.Error(), o.zero) {
						t.Errorf("panic %q; want it to say %q", err, o.zero)
					}
					return
				}
				h := mw.Wrap(echo, opts...)
				if o.name == "WithFetchTimeout" && tc.d == time.Millisecond {
					// Accepted; whether a loopback answer comes within a
					// millisecond is the machine's business: if not, the
					// fetch timeout is what the error names.
					if _, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil && !strings.Contains(err.Error(), "WithFetchTimeout") {
						t.Errorf("WithFetchTimeout(1ms): %v", err)
					}
					return
				}
				for range 2 {
					got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
					if err != nil || got["secret:s"] != "v" {
						t.Fatalf("%s(%v): got %v, %v", o.name, tc.d, got, err)
					}
				}
				ttlZero := tc.d == 0 && (o.name == "WithTTL" || o.name == "TTL")
				if name := map[bool]string{true: "t", false: "s"}[o.name == "TTL"]; ttlZero && w.ext.Fetches(name) != 2 {
					t.Errorf("%s(0): %q fetched %d times in 2 invokes; want every invoke", o.name, name, w.ext.Fetches(name))
				}
			})
		}
	}
}

// WithFetchTimeout(0) leaves a fetch bounded by the invoke's deadline
// alone: a slow answer is waited for, and a hung one ends at the deadline,
// less the reserve.
func TestFetchTimeoutZeroLeavesTheDeadline(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	w.ext.SetLatency(50 * time.Millisecond)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithFetchTimeout(0))...)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
	w.ext.SetHang(true)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithFetchTimeout(0))...)(ctx, nil)
	if fe := asFetchError(t, err); fe.Class != mw.ClassTimeout || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("hung: %v; want a timeout at the invoke's deadline", err)
	}
}
