package mwtest

import "net/http"

// SetReady switches serving on or off. A fake that is not ready imitates
// the Lambda INIT phase: the managed dialect answers every request that
// carries the token with its generic 400; the agent dialect answers value
// requests 503 with NotServingError, as the agent does in Lambda mode until
// its extension hits /start_serving (GET /start_serving, without a token,
// makes the agent fake ready too). The AppConfig dialect answers nothing as
// not ready: it imitates an extension that has not yet fetched the data
// from AppConfig, and holds value requests until it is ready (or their
// client goes away, or Close), as the extension holds a request while it
// calls AppConfig. SetReady also cancels NotReadyFor.
func (e *Extension) SetReady(ready bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setReady(ready)
	e.notReadyLeft = 0
}

// NotReadyFor makes the next n value requests answer as not ready (see
// SetReady), and the fake ready after them. In the AppConfig dialect, which
// answers no request as not ready, it only makes the fake ready.
func (e *Extension) NotReadyFor(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.setReady(true)
	e.notReadyLeft = max(n, 0)
	if e.dialect == AppConfig {
		e.notReadyLeft = 0
	}
}

// setReady sets ready and wakes the requests waiting for it. e.mu must be
// held.
func (e *Extension) setReady(ready bool) {
	if e.ready != ready {
		close(e.readyChanged)
		e.readyChanged = make(chan struct{})
	}
	e.ready = ready
}

// isReady reports whether the fake serves (SetReady), NotReadyFor aside.
func (e *Extension) isReady() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ready
}

// takeNotReady reports whether a value request meets the INIT phase, and
// uses up one of NotReadyFor's requests if it does. e.mu must be held.
func (e *Extension) takeNotReady() bool {
	if !e.ready {
		return true
	}
	if e.notReadyLeft > 0 {
		e.notReadyLeft--
		return true
	}
	return false
}

func (e *Extension) replyNotReady(w http.ResponseWriter) {
	e.count(func(s *Stats) { s.NotReady++ })
	if e.dialect == Agent {
		e.reply(w, http.StatusServiceUnavailable, "", NotServingError)
		return
	}
	e.reply(w, http.StatusBadRequest, textPlain, GenericError)
}
