package mwtest

import (
	"maps"
	"net/http"
	"strings"
)

// Stats is a snapshot of what an Extension has received and answered.
type Stats struct {
	// Total counts every request except those to StatsPath, rejected or not.
	Total int64 `json:"total"`
	// ByPath counts requests by route, rejected or not: the path of each
	// route a dialect serves, all /v1/<id> paths as "/v1/", all AppConfig
	// paths as "/applications/", and every other path as "other" (so that a client, with or without the token,
	// cannot grow it).
	ByPath map[string]int64 `json:"byPath"`
	// ByStatus counts answers by HTTP status.
	ByStatus map[int]int64 `json:"byStatus"`
	// Fetches counts value requests: requests that passed the token check
	// to a parameter or secret route, whatever their answer.
	Fetches int64 `json:"fetches"`
	// ByName counts value requests by the parameter name or secret id as
	// sent (decoded from the query; for /v1/<id>, the id as in the path),
	// and in the AppConfig dialect by application/environment/profile, each
	// decoded from its path segment. Clients choose these names, so the
	// keys are bounded: every name the fake was given (PutParameter,
	// PutSecret, PutConfiguration, Deny, FailNext, ...) and the ARNs it
	// serves them under have keys of their own; so do the first 100 other
	// names (unknown ones, other spellings of known ones) up to 2048 bytes
	// long, the longest name or ARN AWS takes; the rest count under
	// OtherNames.
	ByName map[string]int64 `json:"byName"`
	// Served counts, by name as ByName does and within the same bounds,
	// the value requests answered 200 with the item: an attempt answered
	// not ready, with a fault or with an error counts in ByName and
	// Fetches, not here. Count fetches that delivered a value with it.
	Served map[string]int64 `json:"served"`
	// ByError counts AWS errors answered, by code (ParameterNotFound,
	// ResourceNotFoundException, AccessDeniedException, DecryptionFailure,
	// ValidationException, ...), including those the managed dialect hides
	// behind its generic 400.
	ByError map[string]int64 `json:"byError"`
	// NotReady counts requests answered as not ready (see SetReady); in the
	// AppConfig dialect, requests held until the fake was ready.
	NotReady int64 `json:"notReady"`
	// BadToken counts requests rejected for a missing or wrong token.
	BadToken int64 `json:"badToken"`
	// Forwarded counts agent requests rejected for X-Forwarded-For.
	Forwarded int64 `json:"forwarded"`
	// RefreshNow counts agent requests with refreshNow=true.
	RefreshNow int64 `json:"refreshNow"`
	// WithRole counts value requests read as another role: agent
	// requests with a roleArn, Source's items with an mw.RoleARN.
	WithRole int64 `json:"withRole"`
	// Hung counts requests that were held by SetHang.
	Hung int64 `json:"hung"`
	// Abandoned counts requests whose client went away while they were
	// hung or delayed.
	Abandoned int64 `json:"abandoned"`
	// Faults counts the faults injected.
	Faults FaultStats `json:"faults"`
}

// FaultStats counts injected faults by kind.
type FaultStats struct {
	ServerError int64 `json:"serverError"`
	Throttle    int64 `json:"throttle"`
	Reset       int64 `json:"reset"`
	Malformed   int64 `json:"malformed"`
}

func (s *FaultStats) add(f fault) {
	switch f {
	case faultReset:
		s.Reset++
	case faultThrottle:
		s.Throttle++
	case faultServerError:
		s.ServerError++
	case faultMalformed:
		s.Malformed++
	}
}

// OtherNames is the key of Stats.ByName and Stats.Served that counts the
// names beyond their bounds. No parameter, secret or profile is named so.
const OtherNames = "(other names)"

// The bounds of the per-name counters, whose keys clients choose.
const (
	// maxNameLen is the longest name that may have a key of its own: the
	// longest parameter name or ARN (ssm:GetParameter's Name) and secret
	// id (secretsmanager:GetSecretValue's SecretId) AWS takes.
	maxNameLen = 2048
	// maxOtherNames is how many names the store does not name may have
	// keys of their own in each counter, until Reset.
	maxOtherNames = 100
)

// otherNames counts the keys given to names the store does not name.
type otherNames struct{ byName, served int }

// nameKey is the key that counts name in m: name itself if m has it
// already, if the store names it, or while fewer than maxOtherNames other
// names have keys (*others counts them); else OtherNames. e.mu must be
// held.
func (e *Extension) nameKey(m map[string]int64, name string, others *int) string {
	if _, ok := m[name]; ok || e.store.named[name] {
		return name
	}
	if len(name) <= maxNameLen && *others < maxOtherNames {
		*others++
		return name
	}
	return OtherNames
}

func newStats() Stats {
	return Stats{
		ByPath:   make(map[string]int64),
		ByStatus: make(map[int]int64),
		ByName:   make(map[string]int64),
		Served:   make(map[string]int64),
		ByError:  make(map[string]int64),
	}
}

func (s *Stats) clone() Stats {
	c := *s
	c.ByPath = maps.Clone(s.ByPath)
	c.ByStatus = maps.Clone(s.ByStatus)
	c.ByName = maps.Clone(s.ByName)
	c.Served = maps.Clone(s.Served)
	c.ByError = maps.Clone(s.ByError)
	return c
}

// Requests returns the number of requests received, rejected ones included
// (Stats.Total).
func (e *Extension) Requests() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.Total
}

// Fetches returns the number of value requests for name: a parameter name or
// secret id exactly as sent (an ARN counts apart from the name), or an
// AppConfig application/environment/profile; OtherNames for the names
// beyond the bounds of Stats.ByName.
func (e *Extension) Fetches(name string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.ByName[name]
}

// Served returns the number of answers that carried the value of name (a
// parameter name or secret id exactly as sent, as for Fetches): a request
// answered not ready, with a fault or an error does not count. A fetch
// that mw retried after such an answer counts once here, and more than
// once in Fetches.
func (e *Extension) Served(name string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.Served[name]
}

// Stats returns a snapshot of the counters.
func (e *Extension) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.clone()
}

// Reset zeroes the counters. Values, faults and settings stay.
func (e *Extension) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats = newStats()
	e.others = otherNames{}
}

// count updates the counters under the lock.
func (e *Extension) count(f func(*Stats)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.stats)
}

// countRequest counts a request received, by route.
func (e *Extension) countRequest(path string) {
	route := routeOf(path)
	e.count(func(s *Stats) {
		s.Total++
		s.ByPath[route]++
	})
}

// otherPath is the ByPath key of every path that is not a route.
const otherPath = "other"

// routeOf returns the ByPath key of path: one of a fixed set, never a key
// the client chose.
func routeOf(path string) string {
	switch {
	case path == parametersPath, path == secretsPath, path == pingPath, path == startServingPath:
		return path
	case strings.HasPrefix(path, agentPathPrefix):
		return agentPathPrefix
	case strings.HasPrefix(path, applicationsPrefix):
		return applicationsPrefix
	}
	return otherPath
}

func (e *Extension) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeBody(w, http.StatusMethodNotAllowed, textPlain, "method not allowed")
		return
	}
	writeBody(w, http.StatusOK, appJSON, mustJSON(e.Stats()))
}
