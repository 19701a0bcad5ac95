package mwtest

import (
	"net/http"
	"time"
)

// Latency and hangs: value requests held before they are answered.

// SetLatency delays every value request by d before it is answered. A
// request whose client goes away meanwhile is dropped, unanswered.
func (e *Extension) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetHang holds value requests until their client goes away, Close is
// called, or SetHang(false) releases them, which lets them go on to be
// answered. WaitHanging waits until requests are held.
func (e *Extension) SetHang(hang bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case hang && e.hang == nil:
		e.hang = make(chan struct{})
	case !hang && e.hang != nil:
		close(e.hang)
		e.hang = nil
	}
}

// WaitHanging blocks until at least n requests are being held by SetHang
// (or, in the AppConfig dialect, until the fake is ready), or done is closed (pass a context's Done channel, or nil to wait for
// ever). It reports whether n requests were held.
func (e *Extension) WaitHanging(done <-chan struct{}, n int) bool {
	for {
		e.mu.Lock()
		held, changed := e.hanging, e.hangChanged
		e.mu.Unlock()
		if held >= n {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

// wait holds a value request while SetHang is on (release non-nil), then
// delays it by latency. It reports whether the request should go on; if
// not, it has been answered already or its client is gone.
func (e *Extension) wait(w http.ResponseWriter, r *http.Request, release <-chan struct{}, latency time.Duration) bool {
	return e.answered(w, e.waitFor(r.Context().Done(), release, latency))
}

// A waited is how a wait ended.
type waited int

const (
	proceeded waited = iota // what it waited for came
	abandoned               // the client went away, counted as abandoned
	shutDown                // Close was called
)

// answered answers a request whose wait ended as how, if Close ended it,
// and reports whether it should go on.
func (e *Extension) answered(w http.ResponseWriter, how waited) bool {
	if how == shutDown {
		e.replyClosed(w)
	}
	return how == proceeded
}

// waitFor holds a value request while SetHang is on (release non-nil),
// then delays it by latency, until its client goes away (gone is closed)
// or Close.
func (e *Extension) waitFor(gone <-chan struct{}, release <-chan struct{}, latency time.Duration) waited {
	if release != nil {
		if how := e.hold(gone, release); how != proceeded {
			return how
		}
	}
	if latency <= 0 {
		return proceeded
	}
	t := time.NewTimer(latency)
	defer t.Stop()
	return awaitFor(e, gone, t.C)
}

// hold blocks a request while SetHang is on.
func (e *Extension) hold(gone <-chan struct{}, release <-chan struct{}) waited {
	e.mu.Lock()
	e.hanging++
	e.stats.Hung++
	close(e.hangChanged)
	e.hangChanged = make(chan struct{})
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.hanging--
		e.mu.Unlock()
	}()
	return awaitFor(e, gone, release)
}

// await waits for proceed, the client going away (counted as abandoned) or
// Close (answered ClosedError). It reports whether proceed came first.
func await[T any](e *Extension, w http.ResponseWriter, r *http.Request, proceed <-chan T) bool {
	return e.answered(w, awaitFor(e, r.Context().Done(), proceed))
}

// awaitFor waits for proceed, gone (counted as abandoned) or Close.
func awaitFor[T any](e *Extension, gone <-chan struct{}, proceed <-chan T) waited {
	select {
	case <-proceed:
		return proceeded
	case <-gone:
		e.count(func(s *Stats) { s.Abandoned++ })
		return abandoned
	case <-e.done:
		return shutDown
	}
}
