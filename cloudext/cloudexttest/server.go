package cloudexttest

import (
	"bytes"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// The routes the fake serves, by the extension behind each.
const (
	RouteSecretsManager = "/secretsmanager/get"
	RouteParameterStore = "/parameterstore"
	RouteAppConfig      = "/appconfig/"
)

// Server is a fake of the AWS Systems Manager Cloud Extensions runtime
// serving its Secrets Manager, Parameter Store and AppConfig extensions,
// as AWS documents their local protocol (see the package documentation).
// It is an http.Handler: serve it with Start, httptest.NewServer or any
// http.Server.
//
// All its methods are safe for concurrent use, including while it serves.
// It logs nothing, and no answer holds a value but a successful one.
type Server struct {
	settings Settings
	done     chan struct{}
	once     sync.Once

	mu        sync.Mutex
	auth      Auth
	ssrfToken string
	loading   loading
	latency   time.Duration
	inject    map[string][]Answer // by name, "" for any request
	faults    map[string][]fault  // FailNext's, by name
	store     *store
	roles     map[string]*store // the stores requests with a roleArn read, by role
	stats     Stats
}

// Settings are what the fake does where AWS's documentation is silent or
// a profile decides, fixed for the fake's life. The zero value is the
// documented default of each.
type Settings struct {
	// Auth is the profile's authentication; the zero value is
	// runtimeCredentials with RuntimeCredentials. SetAuth changes it.
	Auth Auth

	// SSRFToken turns the Secrets Manager extension's SSRF token check on
	// with this token; "" leaves it off. SSRFHeaders are the headers
	// that may carry it, [DefaultSSRFHeader] when empty.
	SSRFToken   string
	SSRFHeaders []string

	// Region, when set, is the only Region a signature's scope may name;
	// by default any Region is accepted: AWS does not document whether
	// the runtime checks it.
	Region string

	// AppConfigSigningName is the SigV4 service name the AppConfig
	// extension's requests must be signed for: "appconfig" by default.
	// AWS documents none.
	AppConfigSigningName string

	// RuntimeMessageKey is the body key of the runtime's own error
	// messages (503, 502, authentication): "Message" by default, as the
	// Secrets Manager errors page says; "message" as the AppConfig SDK's
	// model has it.
	RuntimeMessageKey string

	// BareSecretsManagerErrors leaves the reason out of the Secrets
	// Manager routes' error bodies, which AWS shows only as
	// {"message": ...}: a client must then go by the status and the
	// X-Amzn-Errortype header alone.
	BareSecretsManagerErrors bool

	// The style of each route's authentication failures: by default the
	// one its own page documents (see AuthStyle).
	SecretsManagerAuth, ParameterStoreAuth, AppConfigAuth AuthStyle

	// ClockSkew is how far a signature's time may be from the fake's
	// clock: 5 s by default, as documented.
	ClockSkew time.Duration

	// Now is the fake's clock; time.Now by default.
	Now func() time.Time
}

// An AuthStyle is how a route answers a request whose authentication it
// refuses. AWS's pages disagree; each route defaults to its own page's.
type AuthStyle int

const (
	// AuthStyleDefault is the route's own page's style.
	AuthStyleDefault AuthStyle = iota
	// AuthStyleSecretsManager: 401 MissingAuthenticationToken for an
	// unsigned request, 403 SignatureDoesNotMatch for a bad signature or
	// clock, 403 InvalidClientTokenId for an unknown key; the type in
	// X-Amzn-Errortype, the runtime's message key in the body.
	AuthStyleSecretsManager
	// AuthStyleParameterStore: 400 AccessDeniedException, the reason in
	// the cloudextensions-error-reason header.
	AuthStyleParameterStore
	// AuthStyleAppConfig: 403 AccessDeniedException with the reason in
	// the body: {"__type", "message", "reason"}.
	AuthStyleAppConfig
)

// New returns a fake with no values, serving (not loading), configured by
// s.
func New(s Settings) *Server {
	if len(s.SSRFHeaders) == 0 {
		s.SSRFHeaders = []string{DefaultSSRFHeader}
	}
	if s.AppConfigSigningName == "" {
		s.AppConfigSigningName = "appconfig"
	}
	if s.RuntimeMessageKey == "" {
		s.RuntimeMessageKey = "Message"
	}
	if s.SecretsManagerAuth == AuthStyleDefault {
		s.SecretsManagerAuth = AuthStyleSecretsManager
	}
	if s.ParameterStoreAuth == AuthStyleDefault {
		s.ParameterStoreAuth = AuthStyleParameterStore
	}
	if s.AppConfigAuth == AuthStyleDefault {
		s.AppConfigAuth = AuthStyleAppConfig
	}
	if s.ClockSkew == 0 {
		s.ClockSkew = 5 * time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	return &Server{
		settings:  s,
		done:      make(chan struct{}),
		auth:      s.Auth.withDefaults(),
		ssrfToken: s.SSRFToken,
		inject:    map[string][]Answer{},
		faults:    map[string][]fault{},
		store:     newStore(),
		roles:     map[string]*store{},
		stats:     Stats{Operations: map[string]int64{}},
	}
}

// Start serves a new fake on an httptest.Server, and registers a cleanup
// that closes the fake and then the server.
func Start(tb testing.TB, s Settings) (*Server, *httptest.Server) {
	tb.Helper()
	f := New(s)
	srv := httptest.NewServer(f)
	tb.Cleanup(func() {
		f.Close()
		srv.Close()
	})
	return f, srv
}

// Close releases the requests SetLatency holds, answering them 503
// RUNTIME_SHUTTING_DOWN, as every later request is. It is idempotent.
func (s *Server) Close() { s.once.Do(func() { close(s.done) }) }

// SetAuth changes the profile's authentication.
func (s *Server) SetAuth(a Auth) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = a.withDefaults()
}

// SetSSRFToken turns the Secrets Manager extension's SSRF token check on
// with token, or off with "".
func (s *Server) SetSSRFToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ssrfToken = token
}

// SetLatency delays every request that passes the runtime's checks by d
// before it is answered. A request whose client goes away meanwhile is
// dropped.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Stats counts what the fake received, for tests to check what a client
// sent.
type Stats struct {
	Requests     int64            // every request
	Operations   map[string]int64 // requests past the runtime's checks, by operation: "GetSecretValue", "GetParameters", ...
	NotReady     int64            // answered 503 PROFILE_LOADING or EXTENSION_LOADING
	Unsigned     int64            // with no Authorization header
	AuthRefused  int64            // refused for their authentication
	SSRFRefused  int64            // refused for their SSRF token
	ForwardedFor int64            // with an X-Forwarded-For header, on any route
	RefreshNow   int64            // Secrets Manager requests with refreshNow
	WithRole     int64            // Secrets Manager requests with a roleArn
	SSRFSent     int64            // requests with an SSRF token header, on any route
}

// Stats returns a copy of the counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Operations = maps.Clone(s.stats.Operations)
	return st
}

// Requests returns how many requests the fake received.
func (s *Server) Requests() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Requests
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// ServeHTTP answers one request as the runtime does. The runtime's checks
// come in this order (AWS does not document one): the profile loading,
// the authentication, the extension loading; then, on the Secrets Manager
// route, X-Forwarded-For and the SSRF token; then what FailNext and Inject
// set, the latency, and the extension's answer.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rt, ok := routeOf(r.URL.Path)
	s.count(func(st *Stats) {
		st.Requests++
		if r.Header.Get("X-Forwarded-For") != "" {
			st.ForwardedFor++
		}
		if r.Header.Get("Authorization") == "" {
			st.Unsigned++
		}
		for _, h := range s.settings.SSRFHeaders {
			if r.Header.Get(h) != "" {
				st.SSRFSent++
				break
			}
		}
	})
	if s.closed() {
		s.runtimeError(w, rt, Answer{Status: http.StatusServiceUnavailable, Type: "ServiceUnavailableException", Reason: "RUNTIME_SHUTTING_DOWN"})
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	now := s.settings.Now()
	phase := s.phase(now)
	if phase == PhaseProfileLoading {
		s.count(func(st *Stats) { st.NotReady++ })
		s.runtimeError(w, rt, ProfileLoading)
		return
	}
	if reason := s.verify(r, body, rt, now); reason != "" {
		s.count(func(st *Stats) { st.AuthRefused++ })
		s.authError(w, rt, reason)
		return
	}
	if phase == PhaseExtensionLoading {
		s.count(func(st *Stats) { st.NotReady++ })
		a := ExtensionLoading
		a.Extension = rt.extension
		s.runtimeError(w, rt, a)
		return
	}
	rt.serve(s, w, r, body)
}

func (s *Server) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// await holds a request for the latency set. It reports whether the
// request goes on; if not, it has been answered or its client is gone.
func (s *Server) await(w http.ResponseWriter, r *http.Request, rt route) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		s.runtimeError(w, rt, Answer{Status: http.StatusServiceUnavailable, Type: "ServiceUnavailableException", Reason: "RUNTIME_SHUTTING_DOWN"})
		return false
	}
}
