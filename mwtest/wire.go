package mwtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

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

	// GenericError is the body of the managed dialect's error answers, but
	// for a bad token.
	GenericError = "an unexpected error occurred while executing request"
	// BadSessionTokenError is the body of the managed dialect's 401 for a
	// missing or wrong token.
	BadSessionTokenError = "bad session token or header key"
	// NotServingError is the body of the agent's 503 before it serves
	// (see SetReady).
	NotServingError = "Serving not enabled. Hit the /start_serving endpoint to enable serving requests."
	// ClosedError is the body of the 503 that answers requests after Close.
	ClosedError = "mwtest: extension closed"
)

// Routes and content types.
const (
	parametersPath   = "/systemsmanager/parameters/get"
	secretsPath      = "/secretsmanager/get"
	agentPathPrefix  = "/v1/"
	pingPath         = "/ping"
	startServingPath = "/start_serving"
	textPlain        = "text/plain; charset=utf-8"
	appJSON          = "application/json"
)

// writeBody writes an answer. An empty contentType sends none, as the agent
// does.
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
