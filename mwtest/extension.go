package mwtest

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Dialect selects which local secrets server an Extension imitates.
type Dialect int

const (
	// Managed is the AWS Parameters and Secrets Lambda Extension, the
	// closed-source layer: Parameter Store and Secrets Manager, every error
	// a 400 with a generic text body.
	Managed Dialect = iota
	// Agent is the open-source aws-secretsmanager-agent: Secrets Manager
	// only, AWS errors passed on as JSON with their status.
	Agent
)

// String returns "managed" or "agent".
func (d Dialect) String() string {
	switch d {
	case Managed:
		return "managed"
	case Agent:
		return "agent"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ParseDialect is the inverse of Dialect.String.
func ParseDialect(s string) (Dialect, error) {
	switch s {
	case "managed":
		return Managed, nil
	case "agent":
		return Agent, nil
	}
	return 0, fmt.Errorf("mwtest: unknown dialect %q (want managed or agent)", s)
}

// Wire constants shared by both dialects.
const (
	// TokenHeader carries the session token in both dialects.
	TokenHeader = "X-Aws-Parameters-Secrets-Token"
	// VaultTokenHeader is the agent's alternative token header.
	VaultTokenHeader = "X-Vault-Token"
	// DefaultToken is the token a new Extension expects.
	DefaultToken = "token"
	// StatsPath serves Stats as JSON, in both dialects, without a token. It
	// is not part of either protocol, and requests to it are not counted.
	StatsPath = "/_mw/stats"

	// GenericError is the body of every error answer of the managed dialect.
	GenericError = "an unexpected error occurred while executing request"
	// NotServingError is the body of the agent's 503 before it serves
	// (see SetReady).
	NotServingError = "Serving not enabled. Hit the /start_serving endpoint to enable serving requests."
	// ClosedError is the body of the 503 that answers requests after Close.
	ClosedError = "mwtest: extension closed"
)

const (
	parametersPath   = "/systemsmanager/parameters/get"
	secretsPath      = "/secretsmanager/get"
	agentPathPrefix  = "/v1/"
	pingPath         = "/ping"
	startServingPath = "/start_serving"
	textPlain        = "text/plain; charset=utf-8"
	appJSON          = "application/json"
)

// Faults makes a share of value requests (requests that name a parameter or
// a secret, once past the token check and readiness) fail. Each such request
// draws one number from a PRNG seeded with Seed, so a given sequence of
// requests meets the same faults on every run. Fractions below 0 count as 0;
// they are applied in the order Reset, Throttle, ServerError, so their sum
// should not exceed 1.
type Faults struct {
	// ServerError answers 500: the managed dialect with its generic text,
	// the agent with {"__type":"InternalFailure"}.
	ServerError float64
	// Throttle answers 429: the managed dialect with its generic text, the
	// agent with a ThrottlingException body.
	Throttle float64
	// Reset closes the connection without an answer, with a TCP RST where
	// the connection is TCP. Note that Go's http.Transport retries an
	// idempotent request once when a reused connection fails this way.
	Reset float64
	// Seed seeds the PRNG; SetFaults restarts it.
	Seed int64
}

// Stats is a snapshot of what an Extension has received and answered.
type Stats struct {
	// Total counts every request except those to StatsPath, rejected or not.
	Total int64 `json:"total"`
	// ByPath counts requests by URL path; all /v1/<id> paths count as "/v1/".
	ByPath map[string]int64 `json:"byPath"`
	// ByStatus counts answers by HTTP status.
	ByStatus map[int]int64 `json:"byStatus"`
	// Fetches counts value requests: requests that passed the token check
	// to a parameter or secret route, whatever their answer.
	Fetches int64 `json:"fetches"`
	// ByName counts value requests by the parameter name or secret id as
	// sent (decoded from the query; for /v1/<id>, the id as in the path).
	ByName map[string]int64 `json:"byName"`
	// ByError counts AWS errors answered, by code (ParameterNotFound,
	// ResourceNotFoundException, AccessDeniedException, DecryptionFailure,
	// ValidationException, ...), including those the managed dialect hides
	// behind its generic 400.
	ByError map[string]int64 `json:"byError"`
	// NotReady counts requests answered as not ready (see SetReady).
	NotReady int64 `json:"notReady"`
	// BadToken counts requests rejected for a missing or wrong token.
	BadToken int64 `json:"badToken"`
	// Forwarded counts agent requests rejected for X-Forwarded-For.
	Forwarded int64 `json:"forwarded"`
	// RefreshNow counts agent requests with refreshNow=true.
	RefreshNow int64 `json:"refreshNow"`
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
}

func newStats() Stats {
	return Stats{
		ByPath:   make(map[string]int64),
		ByStatus: make(map[int]int64),
		ByName:   make(map[string]int64),
		ByError:  make(map[string]int64),
	}
}

func (s *Stats) clone() Stats {
	c := *s
	c.ByPath = maps.Clone(s.ByPath)
	c.ByStatus = maps.Clone(s.ByStatus)
	c.ByName = maps.Clone(s.ByName)
	c.ByError = maps.Clone(s.ByError)
	return c
}

// Extension is a fake of the local secrets server a Lambda function talks
// to, in one of two dialects. It is an http.Handler: serve it with
// httptest.NewServer (or Start) or any http.Server.
//
// The Managed dialect serves GET /systemsmanager/parameters/get?name=
// (with withDecryption, version or label; names may be ARNs, carry a
// ":version" or ":label" selector, or be /aws/reference/secretsmanager/<id>)
// and GET /secretsmanager/get?secretId= (with versionId, versionStage). It
// wants TokenHeader, answers every error 400 with GenericError as
// text/plain, a non-GET 405 and an unknown path 404.
//
// The Agent dialect serves GET /secretsmanager/get and GET /v1/<secretId>
// (with versionId, versionStage, refreshNow), GET /ping and, as the agent
// in Lambda mode does, GET /start_serving. It follows the agent's checks:
// X-Forwarded-For 400, token (TokenHeader or VaultTokenHeader) 403 "Bad
// Token", non-GET 405, unknown path (Parameter Store included) 404, unknown
// query parameter 400; AWS errors keep their status with a JSON body such as
// {"__type":"ResourceNotFoundException", "message":"..."}.
//
// Values are stateful like AWS: parameters have numbered versions and
// labels, secrets have version ids and stages. Faults (not ready, latency,
// hangs, errors, connection resets) can be switched on at any time.
//
// All methods are safe for concurrent use, including while serving.
// Answers never contain a value except in a successful body, and the fake
// logs nothing. It starts no goroutines.
type Extension struct {
	dialect Dialect
	done    chan struct{} // closed by Close
	once    sync.Once

	mu           sync.Mutex
	token        string
	ready        bool
	notReadyLeft int
	latency      time.Duration
	hang         chan struct{} // non-nil while hanging; closed to release
	hanging      int           // requests held now
	hangChanged  chan struct{} // closed and replaced when hanging grows
	faults       Faults
	rng          *rand.Rand
	store        store
	stats        Stats
}

// New returns a fake in dialect d with no values, ready (serving), that
// expects DefaultToken.
func New(d Dialect) *Extension {
	return &Extension{
		dialect:     d,
		done:        make(chan struct{}),
		token:       DefaultToken,
		ready:       true,
		hangChanged: make(chan struct{}),
		rng:         newRand(0),
		store:       newStore(),
		stats:       newStats(),
	}
}

// Start serves a new fake in dialect d on an httptest.Server, and registers
// a cleanup that closes the fake and then the server (in that order, so
// that hung requests are released before the server waits for them).
func Start(tb testing.TB, d Dialect) (*Extension, *httptest.Server) {
	tb.Helper()
	e := New(d)
	srv := httptest.NewServer(e)
	tb.Cleanup(func() {
		e.Close()
		srv.Close()
	})
	return e, srv
}

// Dialect reports the dialect the fake speaks.
func (e *Extension) Dialect() Dialect { return e.dialect }

// SetToken sets the token requests must carry; "" disables the check.
func (e *Extension) SetToken(tok string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.token = tok
}

// PutParameter stores a new version of parameter name and returns its
// number (1, 2, ...). typ is "String" (also for ""), "StringList" (value
// already comma-joined) or "SecureString"; anything else panics.
func (e *Extension) PutParameter(name, typ, value string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.putParameter(name, typ, value, time.Now())
}

// LabelParameter attaches labels to a version of parameter name, moving
// them from any other version. It panics if the parameter or the version
// does not exist.
func (e *Extension) LabelParameter(name string, version int64, labels ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store.labelParameter(name, version, labels)
}

// PutSecret stores a new SecretString version of secret id and returns its
// version id, which is deterministic. The new version becomes AWSCURRENT and
// the one it replaces AWSPREVIOUS.
func (e *Extension) PutSecret(id, value string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.putSecret(id, value, nil, time.Now())
}

// PutSecretBinary is PutSecret for a SecretBinary value, which goes on the
// wire in base64, with SecretString null.
func (e *Extension) PutSecretBinary(id string, value []byte) string {
	b := make([]byte, len(value))
	copy(b, value)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.putSecret(id, "", b, time.Now())
}

// StageSecret attaches stages to a version of secret id, moving them from
// any other version; moving AWSCURRENT makes the old current AWSPREVIOUS.
// It panics if the secret or the version does not exist.
func (e *Extension) StageSecret(id, versionID string, stages ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store.stageSecret(id, versionID, stages)
}

// Deny makes requests for the parameter or secret name fail with
// AccessDeniedException, whether they use the name or its ARN, and whether
// or not it exists.
func (e *Extension) Deny(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store.denied[name] = true
}

// DenyDecrypt makes decryption fail for the SecureString parameter or the
// secret name: reading it decrypted fails (DecryptionFailure). A
// SecureString read without decryption still succeeds.
func (e *Extension) DenyDecrypt(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store.noDecrypt[name] = true
}

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

// WaitHanging blocks until at least n requests are being held by SetHang,
// or done is closed (pass a context's Done channel, or nil to wait for
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

// SetFaults sets the faults to inject and restarts their PRNG from f.Seed.
func (e *Extension) SetFaults(f Faults) {
	f.ServerError, f.Throttle, f.Reset = max(f.ServerError, 0), max(f.Throttle, 0), max(f.Reset, 0)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.rng = newRand(f.Seed)
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6d77746573742121))
}

// Close shuts the fake down: requests held by SetHang or delayed by
// SetLatency are released and answered 503 ClosedError, as is every later
// request except to StatsPath. Close is idempotent; it does not close any
// server.
func (e *Extension) Close() {
	e.once.Do(func() { close(e.done) })
}

func (e *Extension) closed() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// Requests returns the number of requests received, rejected ones included
// (Stats.Total).
func (e *Extension) Requests() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.Total
}

// Fetches returns the number of value requests for name: a parameter name or
// secret id exactly as sent (an ARN counts apart from the name).
func (e *Extension) Fetches(name string) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats.ByName[name]
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
}

// ServeHTTP answers r as the imitated server would.
func (e *Extension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == StatsPath {
		e.serveStats(w, r)
		return
	}
	key := r.URL.Path
	if strings.HasPrefix(key, agentPathPrefix) {
		key = agentPathPrefix
	}
	e.mu.Lock()
	e.stats.Total++
	e.stats.ByPath[key]++
	e.mu.Unlock()
	if e.closed() {
		e.replyClosed(w)
		return
	}
	if e.dialect == Agent {
		e.serveAgent(w, r)
	} else {
		e.serveManaged(w, r)
	}
}

func (e *Extension) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeBody(w, http.StatusMethodNotAllowed, textPlain, "method not allowed")
		return
	}
	writeBody(w, http.StatusOK, appJSON, mustJSON(e.Stats()))
}

// Managed dialect.

func (e *Extension) serveManaged(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		e.reply(w, http.StatusMethodNotAllowed, textPlain, "method not allowed")
		return
	}
	if !e.tokenOK(r.Header.Get(TokenHeader)) {
		e.count(func(s *Stats) { s.BadToken++ })
		e.reply(w, http.StatusBadRequest, textPlain, GenericError)
		return
	}
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	switch r.URL.Path {
	case parametersPath:
		name := q.Get("name")
		if !e.admit(w, r, name, false) {
			return
		}
		if qerr != nil {
			e.managedError(w, invalid("malformed query"))
			return
		}
		e.managedParameter(w, q, name)
	case secretsPath:
		id := q.Get("secretId")
		if !e.admit(w, r, id, false) {
			return
		}
		if qerr != nil {
			e.managedError(w, invalid("malformed query"))
			return
		}
		e.managedSecret(w, q, id)
	default:
		e.mu.Lock()
		ready := e.ready
		e.mu.Unlock()
		if !ready {
			e.replyNotReady(w)
			return
		}
		e.reply(w, http.StatusNotFound, textPlain, "not found")
	}
}

func (e *Extension) managedParameter(w http.ResponseWriter, q url.Values, name string) {
	if q.Has("version") && q.Has("label") {
		e.managedError(w, invalid("version and label are exclusive"))
		return
	}
	var version int64
	if q.Has("version") {
		v, err := strconv.ParseInt(q.Get("version"), 10, 64)
		if err != nil || v < 1 {
			e.managedError(w, invalid("version must be a positive integer"))
			return
		}
		version = v
	}
	label := q.Get("label")
	if q.Has("label") && label == "" {
		e.managedError(w, invalid("label must not be empty"))
		return
	}
	decrypt := strings.EqualFold(q.Get("withDecryption"), "true")

	e.mu.Lock()
	p, f := e.store.getParameter(name, version, label, decrypt)
	e.mu.Unlock()
	if f != nil {
		e.managedError(w, f)
		return
	}
	body := struct {
		Parameter      parameterJSON `json:"Parameter"`
		ResultMetadata struct{}      `json:"ResultMetadata"`
	}{Parameter: parameterJSON{
		ARN:              p.arn,
		DataType:         "text",
		LastModifiedDate: p.modified.UTC().Format(timeLayout),
		Name:             p.name,
		Selector:         p.selector,
		SourceResult:     p.sourceResult,
		Type:             p.typ,
		Value:            p.value,
		Version:          p.version,
	}}
	e.reply(w, http.StatusOK, appJSON, mustJSON(body))
}

// parameterJSON is ssm.GetParameterOutput.Parameter as the managed layer
// writes it.
type parameterJSON struct {
	ARN              string  `json:"ARN"`
	DataType         string  `json:"DataType"`
	LastModifiedDate string  `json:"LastModifiedDate"`
	Name             string  `json:"Name"`
	Selector         *string `json:"Selector"`
	SourceResult     *string `json:"SourceResult"`
	Type             string  `json:"Type"`
	Value            string  `json:"Value"`
	Version          int64   `json:"Version"`
}

func (e *Extension) managedSecret(w http.ResponseWriter, q url.Values, id string) {
	e.mu.Lock()
	sec, v, f := e.store.getSecret(id, q.Get("versionId"), q.Get("versionStage"))
	var stages []string
	if f == nil {
		stages = nonNil(sec.stagesOf(v.id))
	}
	e.mu.Unlock()
	if f != nil {
		e.managedError(w, f)
		return
	}
	body := struct {
		ARN            string   `json:"ARN"`
		CreatedDate    string   `json:"CreatedDate"`
		Name           string   `json:"Name"`
		SecretBinary   []byte   `json:"SecretBinary"` // base64, or null
		SecretString   *string  `json:"SecretString"`
		VersionID      string   `json:"VersionId"`
		VersionStages  []string `json:"VersionStages"`
		ResultMetadata struct{} `json:"ResultMetadata"`
	}{
		ARN:           SecretARN(sec.name),
		CreatedDate:   v.created.UTC().Format(timeLayout),
		Name:          sec.name,
		SecretBinary:  v.bin,
		VersionID:     v.id,
		VersionStages: stages,
	}
	if v.bin == nil {
		body.SecretString = &v.str
	}
	e.reply(w, http.StatusOK, appJSON, mustJSON(body))
}

func (e *Extension) managedError(w http.ResponseWriter, f *failure) {
	e.count(func(s *Stats) { s.ByError[f.code]++ })
	e.reply(w, http.StatusBadRequest, textPlain, GenericError)
}

// Agent dialect. The order of checks follows the agent's server.rs:
// X-Forwarded-For, token, method, route, serving, query.

func (e *Extension) serveAgent(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == pingPath || path == startServingPath {
		if r.Method != http.MethodGet {
			e.reply(w, http.StatusMethodNotAllowed, "", "Not allowed")
			return
		}
		if path == pingPath {
			e.reply(w, http.StatusOK, "", "healthy")
			return
		}
		e.mu.Lock()
		e.ready = true
		e.notReadyLeft = 0
		e.mu.Unlock()
		e.reply(w, http.StatusOK, "", "serving enabled")
		return
	}
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		e.count(func(s *Stats) { s.Forwarded++ })
		e.reply(w, http.StatusBadRequest, "", "Forwarded")
		return
	}
	if !e.tokenOK(r.Header.Get(TokenHeader)) && !e.tokenOK(r.Header.Get(VaultTokenHeader)) {
		e.count(func(s *Stats) { s.BadToken++ })
		e.reply(w, http.StatusForbidden, "", "Bad Token")
		return
	}
	if r.Method != http.MethodGet {
		e.reply(w, http.StatusMethodNotAllowed, "", "Not allowed")
		return
	}
	var q agentQuery
	switch {
	case path == secretsPath:
		q = parseAgentQuery(r.URL.RawQuery, "", true)
	case strings.HasPrefix(path, agentPathPrefix):
		// Like the agent, take the id from the path as sent, without
		// percent-decoding it.
		q = parseAgentQuery(r.URL.RawQuery, strings.TrimPrefix(r.URL.EscapedPath(), agentPathPrefix), false)
	default:
		e.reply(w, http.StatusNotFound, "", "Not found")
		return
	}
	if !e.admit(w, r, q.secretID, q.refreshNow) {
		return
	}
	if q.err != "" {
		e.reply(w, http.StatusBadRequest, "", q.err)
		return
	}
	e.mu.Lock()
	sec, v, f := e.store.getSecret(q.secretID, q.versionID, q.versionStage)
	var stages []string
	if f == nil {
		stages = sec.stagesOf(v.id)
	}
	e.mu.Unlock()
	if f != nil {
		e.count(func(s *Stats) { s.ByError[f.code]++ })
		e.reply(w, http.StatusBadRequest, "", agentError(f.code, f.msg))
		return
	}
	// GetSecretValueOutputDef of aws_secretsmanager_caching: absent fields
	// omitted, CreatedDate in epoch seconds as a string.
	body := struct {
		ARN           string   `json:"ARN"`
		Name          string   `json:"Name"`
		VersionID     string   `json:"VersionId"`
		SecretString  *string  `json:"SecretString,omitempty"`
		SecretBinary  []byte   `json:"SecretBinary,omitempty"`
		VersionStages []string `json:"VersionStages,omitempty"`
		CreatedDate   string   `json:"CreatedDate"`
	}{
		ARN:           SecretARN(sec.name),
		Name:          sec.name,
		VersionID:     v.id,
		SecretBinary:  v.bin,
		VersionStages: stages,
		CreatedDate:   strconv.FormatFloat(float64(v.created.UnixMilli())/1000, 'f', -1, 64),
	}
	if v.bin == nil {
		body.SecretString = &v.str
	}
	e.reply(w, http.StatusOK, "", mustJSON(body))
}

type agentQuery struct {
	secretID, versionID, versionStage string
	refreshNow                        bool
	err                               string // the agent's 400 text, if the query is bad
}

// parseAgentQuery reads the query as the agent's GSVQuery does: unknown
// parameters are an error, and so is a missing secret id.
func parseAgentQuery(raw, pathID string, wantSecretID bool) agentQuery {
	q := agentQuery{secretID: pathID}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		q.err = "malformed query"
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		v := vals[k][len(vals[k])-1]
		switch {
		case k == "secretId" && wantSecretID:
			q.secretID = v
		case k == "versionId":
			q.versionID = v
		case k == "versionStage":
			q.versionStage = v
		case k == "refreshNow":
			switch strings.ToLower(v) {
			case "true", "1":
				q.refreshNow = true
			case "false", "0":
			default:
				q.err = "invalid refreshNow value"
			}
		default:
			if q.err == "" {
				q.err = "unknown parameter: " + k
			}
		}
	}
	if q.err == "" && q.secretID == "" {
		if wantSecretID {
			q.err = "missing parameter secretId"
		} else {
			q.err = "missing secret ID"
		}
	}
	return q
}

// agentError formats an AWS error as the agent's err_response does,
// including its space after the comma.
func agentError(code, msg string) string {
	if msg == "" || code == codeInternalFailure {
		return `{"__type":"InternalFailure"}`
	}
	return `{"__type":` + mustJSON(code) + `, "message":` + mustJSON(msg) + `}`
}

// Shared request pipeline.

func (e *Extension) tokenOK(got string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.token == "" || got == e.token
}

type fault int

const (
	noFault fault = iota
	faultReset
	faultThrottle
	faultServerError
)

// admit runs a value request through counting, hang, latency, readiness and
// faults. It reports whether the request should now be answered; if not, it
// has been answered already or its client is gone.
func (e *Extension) admit(w http.ResponseWriter, r *http.Request, name string, refresh bool) bool {
	e.mu.Lock()
	e.stats.Fetches++
	if name != "" {
		e.stats.ByName[name]++
	}
	if refresh {
		e.stats.RefreshNow++
	}
	release, latency := e.hang, e.latency
	e.mu.Unlock()

	if release != nil && !e.hold(w, r, release) {
		return false
	}
	if latency > 0 && !e.delay(w, r, latency) {
		return false
	}

	e.mu.Lock()
	notReady := !e.ready
	if !notReady && e.notReadyLeft > 0 {
		e.notReadyLeft--
		notReady = true
	}
	f := noFault
	if !notReady {
		f = e.drawFault()
	}
	switch f {
	case faultReset:
		e.stats.Faults.Reset++
	case faultThrottle:
		e.stats.Faults.Throttle++
	case faultServerError:
		e.stats.Faults.ServerError++
	}
	e.mu.Unlock()

	if notReady {
		e.replyNotReady(w)
		return false
	}
	switch f {
	case faultReset:
		resetConn(w)
		return false
	case faultThrottle:
		if e.dialect == Agent {
			e.reply(w, http.StatusTooManyRequests, "", agentError(codeThrottling, "Rate exceeded"))
		} else {
			e.reply(w, http.StatusTooManyRequests, textPlain, GenericError)
		}
		return false
	case faultServerError:
		if e.dialect == Agent {
			e.reply(w, http.StatusInternalServerError, "", agentError(codeInternalFailure, ""))
		} else {
			e.reply(w, http.StatusInternalServerError, textPlain, GenericError)
		}
		return false
	}
	return true
}

// drawFault decides the fault of one value request. e.mu must be held.
func (e *Extension) drawFault() fault {
	f := e.faults
	if f.Reset == 0 && f.Throttle == 0 && f.ServerError == 0 {
		return noFault
	}
	u := e.rng.Float64()
	switch {
	case u < f.Reset:
		return faultReset
	case u < f.Reset+f.Throttle:
		return faultThrottle
	case u < f.Reset+f.Throttle+f.ServerError:
		return faultServerError
	}
	return noFault
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
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		e.count(func(s *Stats) { s.Abandoned++ })
		return false
	case <-e.done:
		e.replyClosed(w)
		return false
	}
}

// delay waits d before a request goes on. It reports whether it should.
func (e *Extension) delay(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		e.count(func(s *Stats) { s.Abandoned++ })
		return false
	case <-e.done:
		e.replyClosed(w)
		return false
	}
}

func (e *Extension) replyNotReady(w http.ResponseWriter) {
	e.count(func(s *Stats) { s.NotReady++ })
	if e.dialect == Agent {
		e.reply(w, http.StatusServiceUnavailable, "", NotServingError)
		return
	}
	e.reply(w, http.StatusBadRequest, textPlain, GenericError)
}

func (e *Extension) replyClosed(w http.ResponseWriter) {
	e.reply(w, http.StatusServiceUnavailable, textPlain, ClosedError)
}

// resetConn drops the connection without an answer: with a TCP RST when it
// can take the connection over, else by aborting the handler, which
// net/http turns into a closed connection (HTTP/1) or a reset stream
// (HTTP/2).
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	nc := conn
	if tc, ok := conn.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST
	}
	_ = nc.Close()
}

// count updates the counters under the lock.
func (e *Extension) count(f func(*Stats)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f(&e.stats)
}

// reply writes an answer and counts its status. An empty contentType sends
// none, as the agent does.
func (e *Extension) reply(w http.ResponseWriter, status int, contentType, body string) {
	e.count(func(s *Stats) { s.ByStatus[status]++ })
	writeBody(w, status, contentType, body)
}

func writeBody(w http.ResponseWriter, status int, contentType, body string) {
	h := w.Header()
	if contentType == "" {
		h["Content-Type"] = nil // no sniffing
	} else {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// mustJSON marshals v without HTML escaping and without a trailing newline.
func mustJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("mwtest: " + err.Error()) // only fixed types are marshaled
	}
	return strings.TrimSuffix(b.String(), "\n")
}
