package mwtest

import "net/http"

// SetReady switches serving on or off. A fake that is not ready imitates
// the Lambda INIT phase: the managed dialect answers every request that
// carries the token with its generic 400; the agent dialect answers value
// requests 503 with NotServingError, as the agent does in Lambda mode until
// its extension hits /start_serving (GET /start_serving, without a token,
// makes the agent fake ready too). SetReady also cancels NotReadyFor.
func (e *Extension) SetReady(ready bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready = ready
	e.notReadyLeft = 0
}

// NotReadyFor makes the next n value requests answer as not ready (see
// SetReady), and the fake ready after them.
func (e *Extension) NotReadyFor(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ready = true
	e.notReadyLeft = max(n, 0)
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
