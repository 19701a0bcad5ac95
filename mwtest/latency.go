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
	if release != nil && !e.hold(w, r, release) {
		return false
	}
	return latency <= 0 || e.delay(w, r, latency)
}

// hold blocks a request while SetHang is on. It reports whether the request
// was released to go on.
func (e *Extension) hold(w http.ResponseWriter, r *http.Request, release <-chan struct{}) bool {
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
	return await(e, w, r, release)
}

// delay waits d before a request goes on. It reports whether it should.
func (e *Extension) delay(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	return await(e, w, r, t.C)
}

// await waits for proceed, the client going away (counted as abandoned) or
// Close (answered ClosedError). It reports whether proceed came first.
func await[T any](e *Extension, w http.ResponseWriter, r *http.Request, proceed <-chan T) bool {
	select {
	case <-proceed:
		return true
	case <-r.Context().Done():
		e.count(func(s *Stats) { s.Abandoned++ })
		return false
	case <-e.done:
		e.replyClosed(w)
		return false
	}
}
