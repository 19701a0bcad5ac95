package mwtest

import (
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
)

// Extension is a fake of a local server a Lambda function talks to, in one
// of three dialects: the two secrets servers, and the AppConfig extension. It is an http.Handler: serve it with
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
// (with versionId, versionStage, refreshNow and roleArn), GET /ping and, as
// the agent in Lambda mode does, GET /start_serving. It follows the agent's
// checks: X-Forwarded-For 400, token (TokenHeader or VaultTokenHeader) 403
// "Bad Token", non-GET 405, unknown path (Parameter Store included) 404,
// unknown query parameter 400, a roleArn that is not an IAM role's ARN
// 400; AWS errors keep their status with a JSON body such as
// {"__type":"ResourceNotFoundException", "message":"..."}. A request with
// a roleArn reads what PutRoleSecret stored for the role, and a role the
// fake was given nothing for is answered 403 AccessDeniedException, as
// the agent answers when it cannot assume the role.
//
// The AppConfig dialect serves GET
// /applications/{application}/environments/{environment}/configurations/{profile},
// each segment percent-encoded, with no token (the extension takes none):
// 200 with the latest version deployed (PutConfiguration, PutFeatureFlags),
// its Content-Type and Configuration-Version; the flag query of a
// feature-flag profile (?flag=a&flag=b); 404 with a JSON body for a missing
// application, environment or profile (or an unknown path), 403 for a
// profile DenyConfiguration denies, a non-GET 405. Not ready, it holds
// requests rather than answer them (see SetReady).
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
	readyChanged chan struct{} // closed and replaced when ready changes
	notReadyLeft int
	latency      time.Duration
	hang         chan struct{} // non-nil while hanging; closed to release
	hanging      int           // requests held now
	hangChanged  chan struct{} // closed and replaced when hanging grows
	faults       Faults
	failNext     map[string][]fault // FailNext's, by name
	rng          *rand.Rand
	store        store
	roles        map[string]*store // what each role reads (PutRoleSecret), by role ARN
	stats        Stats
	others       otherNames // the keys of ByName and Served the store does not name
}

// New returns a fake in dialect d with no values, ready (serving), that
// expects DefaultToken.
func New(d Dialect) *Extension {
	return &Extension{
		dialect:      d,
		done:         make(chan struct{}),
		token:        DefaultToken,
		ready:        true,
		readyChanged: make(chan struct{}),
		hangChanged:  make(chan struct{}),
		rng:          newRand(0),
		store:        newStore(),
		stats:        newStats(),
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

// Options returns the options that point a wrapped handler at this fake,
// served at baseURL (the URL of Start's server): its endpoint, its token,
// the agent dialect when the fake speaks it (in the AppConfig dialect, the
// AppConfig endpoint alone), and mw.WithoutEnvironment, so
// that the handler reads no AWS_SESSION_TOKEN and ignores the MW_*
// variables of the developer's shell. Tests built on them need no
// os.Setenv, and may run in parallel:
//
//	ext, srv := mwtest.Start(t, mwtest.Managed)
//	ext.PutSecret("prod/db", "pw")
//	h := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
//
// The fake serves from the start, as an extension does by the time a
// function's first invoke comes: unless the test is acting out its start
// (SetReady(false), NotReadyFor) when it takes them, the options say so
// (mw.WithStartupWindow(0)), and the managed dialect's 400 for an item
// that does not exist fails the invoke at once, as it does once the real
// extension has served anything, rather than after mw's startup window.
func (e *Extension) Options(baseURL string) []mw.Option {
	if e.dialect == AppConfig {
		return []mw.Option{mw.WithAppConfigEndpoint(baseURL), mw.WithoutEnvironment()}
	}
	e.mu.Lock()
	tok, serving := e.token, e.ready && e.notReadyLeft == 0
	e.mu.Unlock()
	opts := []mw.Option{mw.WithEndpoint(baseURL), mw.WithToken(tok), mw.WithoutEnvironment()}
	if e.dialect == Agent {
		opts = append(opts, mw.WithSecretsManagerAgent())
	}
	if serving {
		opts = append(opts, mw.WithStartupWindow(0))
	}
	return opts
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
	e.store.name(name)
}

// DenyDecrypt makes decryption fail for the SecureString parameter or the
// secret name: reading it decrypted fails (DecryptionFailure). A
// SecureString read without decryption still succeeds.
func (e *Extension) DenyDecrypt(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.store.noDecrypt[name] = true
	e.store.name(name)
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
