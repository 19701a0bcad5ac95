package cloudexttest

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// An Answer is an error answer of the runtime or of an extension, as AWS
// documents it, for Inject: an HTTP status, the error type (the
// X-Amzn-Errortype header and, on the JSON routes, __type) and the
// reason. Each documented one is a variable of this package; Throttled
// makes a 429 with its Retry-After.
type Answer struct {
	Status     int
	Type       string
	Reason     string        // "" for none
	Extension  string        // the extension a runtime answer concerns, if any
	RetryAfter time.Duration // sent as Retry-After, in whole seconds, when set
	// EmptyBody sends no body, as the Secrets Manager extension's 500
	// InternalFailure ("The body is empty").
	EmptyBody bool
}

// The runtime's answers, shared by every extension: 503
// ServiceUnavailableException, 502 BadGatewayException and the others of
// the AppConfig Cloud Extension SDK's model. The statuses of 426, 508 and
// 413 are not documented: they are the HTTP statuses of the exceptions'
// names.
var (
	ProfileLoading       = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "PROFILE_LOADING"}
	ExtensionLoading     = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "EXTENSION_LOADING"}
	ExtensionRemoved     = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "EXTENSION_REMOVED"}
	ExtensionReloaded    = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "EXTENSION_RELOADED"}
	ExtensionExited      = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "EXTENSION_EXITED"}
	RuntimeShuttingDown  = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "RUNTIME_SHUTTING_DOWN"}
	SecretKeyUnavailable = Answer{Status: 503, Type: "ServiceUnavailableException", Reason: "SECRET_KEY_UNAVAILABLE"}

	ProfileNotFound           = Answer{Status: 502, Type: "BadGatewayException", Reason: "PROFILE_NOT_FOUND"}
	ProfileAccessDenied       = Answer{Status: 502, Type: "BadGatewayException", Reason: "PROFILE_ACCESS_DENIED"}
	ProfileRetrievalThrottled = Answer{Status: 502, Type: "BadGatewayException", Reason: "PROFILE_RETRIEVAL_THROTTLED"}
	ProfileRetrievalFailed    = Answer{Status: 502, Type: "BadGatewayException", Reason: "PROFILE_RETRIEVAL_FAILED"}
	ProfileUnreadable         = Answer{Status: 502, Type: "BadGatewayException", Reason: "PROFILE_UNREADABLE"}
	ExtensionInvalidResponse  = Answer{Status: 502, Type: "BadGatewayException", Reason: "EXTENSION_INVALID_RESPONSE"}
	ExtensionCrashed          = Answer{Status: 502, Type: "BadGatewayException", Reason: "EXTENSION_CRASHED"}
	ExtensionInitializeFailed = Answer{Status: 502, Type: "BadGatewayException", Reason: "EXTENSION_INITIALIZE_FAILED"}
	ExtensionUnreadable       = Answer{Status: 502, Type: "BadGatewayException", Reason: "EXTENSION_UNREADABLE"}
	ExtensionLoadFailed       = Answer{Status: 502, Type: "BadGatewayException", Reason: "EXTENSION_LOAD_FAILED"}
	RemoteUnreachable         = Answer{Status: 502, Type: "BadGatewayException", Reason: "REMOTE_UNREACHABLE"}

	ExtensionRequiresUpgrade      = Answer{Status: 426, Type: "UpgradeRequiredException", Reason: "EXTENSION_REQUIRES_RUNTIME_UPGRADE"}
	AuthenticationRequiresUpgrade = Answer{Status: 426, Type: "UpgradeRequiredException", Reason: "AUTHENTICATION_REQUIRES_RUNTIME_UPGRADE"}
	LoopDetected                  = Answer{Status: 508, Type: "LoopDetectedException"}
	RequestEntityTooLarge         = Answer{Status: 413, Type: "RequestEntityTooLargeException"}
)

// The extensions' own answers, as their error tables document them.
var (
	// The Secrets Manager extension's: an internal error with no body, a
	// failed connection to Secrets Manager, an error of Secrets Manager
	// it does not declare, an invalid request.
	InternalFailure    = Answer{Status: 500, Type: "InternalFailure", EmptyBody: true}
	ConnectionError    = Answer{Status: 502, Type: "ConnectionError"}
	UndeclaredError    = Answer{Status: 502, Type: "BadGatewayException"}
	BadRequest         = Answer{Status: 400, Type: "BadRequestException"}
	DecryptionFailure  = Answer{Status: 400, Type: "DecryptionFailure"}
	InvalidRequest     = Answer{Status: 400, Type: "InvalidRequestException"}
	ResourceNotFound   = Answer{Status: 400, Type: "ResourceNotFoundException"}
	SecretAccessDenied = Answer{Status: 400, Type: "AccessDeniedException"}
	// Parameter Store's, passed on in the AWS JSON 1.1 protocol.
	InternalServerError = Answer{Status: 500, Type: "InternalServerError"}
	InvalidKeyID        = Answer{Status: 400, Type: "InvalidKeyId"}
	ParameterAccess     = Answer{Status: 400, Type: "AccessDeniedException"}
	// The AppConfig extension's.
	InternalServerException = Answer{Status: 500, Type: "InternalServerException"}
	RemoteAccessDenied      = Answer{Status: 403, Type: "AccessDeniedException", Reason: "ACCESS_DENIED_BY_REMOTE"}
	UnknownOperation        = Answer{Status: 400, Type: "ValidationException", Reason: "UNKNOWN_OPERATION"}
	CannotParse             = Answer{Status: 400, Type: "ValidationException", Reason: "CANNOT_PARSE"}
)

// Throttled is the 429 ThrottlingException of a runtime with too many
// requests in flight (reason THROTTLED_BY_RUNTIME), asking the client to
// wait retryAfter (sent in whole seconds, at least 1) in Retry-After.
func Throttled(retryAfter time.Duration) Answer {
	return Answer{Status: 429, Type: "ThrottlingException", Reason: "THROTTLED_BY_RUNTIME", RetryAfter: retryAfter}
}

// Inject makes the next n requests that name name (a secret id, a
// parameter name as sent, application/environment/profile; "" for any
// request) get a, once past the runtime's checks: its loading, the
// authentication, X-Forwarded-For and the SSRF token.
func (s *Server) Inject(name string, a Answer, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.inject[name] = append(s.inject[name], a)
	}
}

// fault is one of mwtest's faults, as FailNext sets it.
type fault = mwtest.Fault

// FailNext makes the next n requests for name meet f, as Inject does, in
// the route's own words: FaultThrottle a 429 ThrottlingException with
// Retry-After 1, FaultServerError the route's 500, FaultMalformed a 200
// that is not JSON, FaultReset a connection closed without an answer. It
// makes the fake an mwtest.Backend.
func (s *Server) FailNext(name string, f mwtest.Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[name] = append(s.faults[name], f)
	}
}

// takeInjected returns what Inject or FailNext set for a request naming
// names, if anything.
func (s *Server) takeInjected(names []string) (*Answer, fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range append(names, "") {
		if q := s.faults[n]; len(q) > 0 {
			s.faults[n] = q[1:]
			return nil, q[0], true
		}
		if q := s.inject[n]; len(q) > 0 {
			s.inject[n] = q[1:]
			a := q[0]
			return &a, 0, true
		}
	}
	return nil, 0, false
}

// answerInjected answers what takeInjected found.
func (s *Server) answerInjected(w http.ResponseWriter, rt route, a *Answer, f fault) {
	if a != nil {
		if a.Status == http.StatusServiceUnavailable || a.Status == http.StatusBadGateway && a.Reason != "" ||
			a.Status == 426 || a.Status == 508 || a.Status == 413 || a.Status == 429 {
			s.runtimeError(w, rt, *a)
			return
		}
		s.extensionError(w, rt, *a)
		return
	}
	switch f {
	case mwtest.FaultThrottle:
		s.runtimeError(w, rt, Throttled(time.Second))
	case mwtest.FaultServerError:
		s.extensionError(w, rt, rt.serverError)
	case mwtest.FaultMalformed:
		w.Header().Set("Content-Type", rt.contentType)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"unexpected":`))
	case mwtest.FaultReset:
		resetConn(w)
	}
}

// runtimeError answers an error of the runtime's own: its type in
// X-Amzn-Errortype and __type, its message in the RuntimeMessageKey, its
// reason and extension, and Retry-After.
func (s *Server) runtimeError(w http.ResponseWriter, rt route, a Answer) {
	body := map[string]any{s.settings.RuntimeMessageKey: "AWS Cloud Extensions can't serve the request now."}
	if rt.json {
		body["__type"] = a.Type
	}
	if a.Reason != "" && !(rt.secrets && s.settings.BareSecretsManagerErrors) {
		body["reason"] = a.Reason
	}
	if a.Extension != "" {
		body["extension"] = a.Extension
	}
	if a.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(int(a.RetryAfter/time.Second), 1)))
	}
	w.Header().Set(headerErrorType, a.Type)
	s.writeJSON(w, a.Status, body)
}

// extensionError answers an error of an extension's own, as its page
// shows them: on the Secrets Manager route the type in X-Amzn-Errortype
// and {"message": ...}; on Parameter Store's, AWS JSON 1.1 with the
// message in Message for AccessDeniedException, InternalServerError,
// ThrottlingException and ValidationException, in message for the others;
// on AppConfig's, __type, message and reason.
func (s *Server) extensionError(w http.ResponseWriter, rt route, a Answer) {
	w.Header().Set(headerErrorType, a.Type)
	if a.EmptyBody {
		w.WriteHeader(a.Status)
		return
	}
	msg := "service returned " + a.Type
	body := map[string]any{}
	switch {
	case rt.secrets:
		body["message"] = msg
		if a.Reason != "" && !s.settings.BareSecretsManagerErrors {
			body["reason"] = a.Reason
		}
	case rt.parameters:
		body["__type"] = a.Type
		switch a.Type {
		case "AccessDeniedException", "InternalServerError", "ThrottlingException", "ValidationException":
			body["Message"] = msg
		default:
			body["message"] = msg
		}
	default:
		body["__type"], body["message"] = a.Type, msg
		if a.Reason != "" {
			body["reason"] = a.Reason
		}
	}
	s.writeJSON(w, a.Status, body)
}

// semanticError answers the AppConfig extension's 400 ValidationException
// FIELD_VALIDATION_FAILED for a configuration or flag that does not exist
// or cannot be read (problem RESOURCE_NOT_FOUND, FLAG_NOT_FOUND,
// FLAG_UNREADABLE).
func (s *Server) semanticError(w http.ResponseWriter, item, problem string) {
	w.Header().Set(headerErrorType, "ValidationException")
	s.writeJSON(w, http.StatusBadRequest, map[string]any{
		"__type": "ValidationException", "message": "The request names something that doesn't exist or can't be read.",
		"reason": "FIELD_VALIDATION_FAILED",
		"errors": []any{map[string]any{"semanticError": map[string]any{"problem": problem, "item": item}}},
	})
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// resetConn drops the connection without an answer, with a TCP RST when
// it can take the connection over.
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
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}
