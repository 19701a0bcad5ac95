package cloudexttest

import "time"

// A Phase is where the runtime is in its startup.
type Phase int

// The phases of the runtime's startup.
const (
	// PhaseServing: the profile and its extensions are loaded.
	PhaseServing Phase = iota
	// PhaseProfileLoading: every request is answered 503
	// ServiceUnavailableException, reason PROFILE_LOADING, before its
	// authentication is checked (the runtime does not know the profile
	// that says how).
	PhaseProfileLoading
	// PhaseExtensionLoading: a request that passes the authentication
	// check is answered 503 ServiceUnavailableException, reason
	// EXTENSION_LOADING, with the extension's id.
	PhaseExtensionLoading
)

// String names the phase as the reason the runtime answers with, or
// "SERVING".
func (p Phase) String() string {
	switch p {
	case PhaseProfileLoading:
		return "PROFILE_LOADING"
	case PhaseExtensionLoading:
		return "EXTENSION_LOADING"
	}
	return "SERVING"
}

// loading is the runtime's startup: a fixed phase, or a window that
// starts with a request.
type loading struct {
	fixed        Phase
	window       bool
	profile, ext time.Duration
	started      bool
	start        time.Time // the window's first request
	readyAt      time.Time // start plus the window
}

// SetLoading puts the runtime in phase p until it is called again (or
// SetLoadingWindow is): PhaseProfileLoading, PhaseExtensionLoading, or
// PhaseServing.
func (s *Server) SetLoading(p Phase) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = loading{fixed: p}
}

// SetLoadingWindow makes the runtime start anew with the next request, as
// at a cold start: PROFILE_LOADING for profile, then EXTENSION_LOADING for
// extension, then serving. ReadyAt says when it served.
func (s *Server) SetLoadingWindow(profile, extension time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loading = loading{window: true, profile: max(profile, 0), ext: max(extension, 0)}
}

// ReadyAt returns the moment the loading window's runtime began to serve
// (its first request, plus the window), and whether a window has started.
func (s *Server) ReadyAt() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loading.readyAt, s.loading.window && s.loading.started
}

// phase returns the phase at now, starting the window with this request.
func (s *Server) phase(now time.Time) Phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.loading
	if !l.window {
		return l.fixed
	}
	if !l.started {
		l.started, l.start = true, now
		l.readyAt = now.Add(l.profile + l.ext)
	}
	switch since := now.Sub(l.start); {
	case since < l.profile:
		return PhaseProfileLoading
	case since < l.profile+l.ext:
		return PhaseExtensionLoading
	}
	return PhaseServing
}
