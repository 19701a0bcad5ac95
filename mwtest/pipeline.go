package mwtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"time"
)

// The request pipeline the dialects share: counting, the token, hangs and
// latency, readiness, faults, answers.

// ServeHTTP answers r as the imitated server would.
func (e *Extension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath {
		e.serveStats(w, r)
		return
	}
	e.countRequest(r.URL.Path)
	if e.closed() {
		e.replyClosed(w)
		return
	}
	switch e.dialect {
	case Agent:
		e.serveAgent(w, r)
	case AppConfig:
		e.serveAppConfig(w, r)
	default:
		e.serveManaged(w, r)
	}
}

// tokenOK reports whether got is the token (or the check is off). It
// compares in constant time, and hashes both sides first so that the time
// does not tell the token's length either.
func (e *Extension) tokenOK(got string) bool {
	e.mu.Lock()
	want := e.token
	e.mu.Unlock()
	if want == "" {
		return true
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// admit runs a value request through counting, hang, latency, readiness and
// faults. It reports whether the request should now be answered; if not, it
// has been answered already or its client is gone.
func (e *Extension) admit(w http.ResponseWriter, r *http.Request, name string, refresh bool) bool {
	release, latency := e.countFetch(name, refresh)
	if !e.wait(w, r, release, latency) {
		return false
	}
	for {
		if e.dialect == AppConfig && !e.awaitFirstFetch(w, r) {
			return false
		}
		notReady, f := e.gate(name)
		switch {
		case notReady && e.dialect == AppConfig:
			continue // not ready again since it was: hold again, as the extension does
		case notReady:
			e.replyNotReady(w)
			return false
		}
		return e.answerFault(w, f)
	}
}

// countFetch counts a value request and returns the hang and the latency it
// meets.
func (e *Extension) countFetch(name string, refresh bool) (release <-chan struct{}, latency time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Fetches++
	if name != "" {
		e.stats.ByName[e.nameKey(e.stats.ByName, name, &e.others.byName)]++
	}
	if refresh {
		e.stats.RefreshNow++
	}
	return e.hang, e.latency
}

// gate decides whether a value request, once through hang and latency,
// meets the INIT phase or a fault, and counts the fault.
func (e *Extension) gate(name string) (notReady bool, f fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.takeNotReady() {
		return true, noFault
	}
	f, named := e.nextFault(name)
	if !named {
		f = e.drawFault()
	}
	e.stats.Faults.add(f)
	return false, f
}

// getSecret reads a secret version as role reads it ("" for the
// function's own role), with its stages.
func (e *Extension) getSecret(role, ref, versionID, stage string) (*secret, *secretVersion, []string, *failure) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, f := e.storeAs(role)
	if f != nil {
		return nil, nil, nil, f
	}
	sec, v, f := st.getSecret(ref, versionID, stage)
	if f != nil {
		return nil, nil, nil, f
	}
	return sec, v, sec.stagesOf(v.id), nil
}

// serve answers 200 with the value of name, and counts it as served.
func (e *Extension) serve(w http.ResponseWriter, name, contentType, body string) {
	e.countServed(name)
	e.reply(w, http.StatusOK, contentType, body)
}

// countServed counts a value request for name answered with its value.
func (e *Extension) countServed(name string) {
	e.count(func(s *Stats) { s.Served[e.nameKey(s.Served, name, &e.others.served)]++ })
}

// fail answers an AWS error for a value request, counted by code.
func (e *Extension) fail(w http.ResponseWriter, f *failure) {
	e.count(func(s *Stats) { s.ByError[f.code]++ })
	e.replyAWS(w, f.httpStatus(), f.code, f.msg)
}

// replyAWS answers an AWS error as the dialect does: the agent passes it on
// as JSON, the AppConfig extension as JSON of its own, the managed layer
// hides it behind its generic text.
func (e *Extension) replyAWS(w http.ResponseWriter, status int, code, msg string) {
	switch e.dialect {
	case Agent:
		e.reply(w, status, "", agentError(code, msg))
	case AppConfig:
		e.reply(w, status, appJSON, appConfigError(code, msg))
	default:
		e.reply(w, status, textPlain, GenericError)
	}
}

func (e *Extension) replyClosed(w http.ResponseWriter) {
	e.reply(w, http.StatusServiceUnavailable, textPlain, ClosedError)
}

// reply writes an answer and counts its status. An empty contentType sends
// none, as the agent does.
func (e *Extension) reply(w http.ResponseWriter, status int, contentType, body string) {
	e.count(func(s *Stats) { s.ByStatus[status]++ })
	writeBody(w, status, contentType, body)
}
