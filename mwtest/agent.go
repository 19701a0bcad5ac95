package mwtest

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The agent dialect: the aws-secretsmanager-agent. The order of checks
// follows the agent's server.rs: X-Forwarded-For, token, method, route,
// serving, query.

func (e *Extension) serveAgent(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == pingPath || r.URL.Path == startServingPath {
		e.serveAgentControl(w, r)
		return
	}
	if !e.agentAccepts(w, r) {
		return
	}
	q, ok := e.agentRoute(w, r)
	if !ok || !e.admit(w, r, q.secretID, q.refreshNow) {
		return
	}
	if q.err != "" {
		e.reply(w, http.StatusBadRequest, "", q.err)
		return
	}
	if q.role != "" {
		e.count(func(s *Stats) { s.WithRole++ })
	}
	e.agentSecret(w, q)
}

// serveAgentControl answers /ping and /start_serving, which need no token.
func (e *Extension) serveAgentControl(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		e.reply(w, http.StatusMethodNotAllowed, "", "Not allowed")
		return
	}
	if r.URL.Path == pingPath {
		e.reply(w, http.StatusOK, "", "healthy")
		return
	}
	e.SetReady(true)
	e.reply(w, http.StatusOK, "", "serving enabled")
}

// agentAccepts runs the agent's checks before routing: X-Forwarded-For, the
// token, the method. It reports whether the request passed; if not, it has
// been answered.
func (e *Extension) agentAccepts(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := r.Header["X-Forwarded-For"]; ok {
		e.count(func(s *Stats) { s.Forwarded++ })
		e.reply(w, http.StatusBadRequest, "", "Forwarded")
		return false
	}
	if !e.tokenOK(r.Header.Get(TokenHeader)) && !e.tokenOK(r.Header.Get(VaultTokenHeader)) {
		e.count(func(s *Stats) { s.BadToken++ })
		e.reply(w, http.StatusForbidden, "", "Bad Token")
		return false
	}
	if r.Method != http.MethodGet {
		e.reply(w, http.StatusMethodNotAllowed, "", "Not allowed")
		return false
	}
	return true
}

// agentRoute reads the query of a secret route, or answers 404.
func (e *Extension) agentRoute(w http.ResponseWriter, r *http.Request) (agentQuery, bool) {
	switch {
	case r.URL.Path == secretsPath:
		return parseAgentQuery(r.URL.RawQuery, "", true), true
	case strings.HasPrefix(r.URL.Path, agentPathPrefix):
		// Like the agent, take the id from the path as sent, without
		// percent-decoding it.
		return parseAgentQuery(r.URL.RawQuery, strings.TrimPrefix(r.URL.EscapedPath(), agentPathPrefix), false), true
	}
	e.reply(w, http.StatusNotFound, "", "Not found")
	return agentQuery{}, false
}

func (e *Extension) agentSecret(w http.ResponseWriter, q agentQuery) {
	sec, v, stages, f := e.getSecret(q.role, q.secretID, q.versionID, q.versionStage)
	if f != nil {
		e.fail(w, f)
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
		SecretString:  v.stringPtr(),
		SecretBinary:  v.bin,
		VersionStages: stages,
		CreatedDate:   strconv.FormatFloat(float64(v.created.UnixMilli())/1000, 'f', -1, 64),
	}
	e.serve(w, q.secretID, "", mustJSON(body))
}

type agentQuery struct {
	secretID, versionID, versionStage string
	role                              string // roleArn: read as this IAM role
	refreshNow                        bool
	err                               string // the agent's 400 text, if the query is bad
}

// parseAgentQuery reads the query as the agent's GSVQuery does: unknown
// parameters are an error, and so are a missing secret id and a roleArn
// that is not an IAM role's ARN, in that order.
func parseAgentQuery(raw, pathID string, wantSecretID bool) agentQuery {
	q := agentQuery{secretID: pathID}
	vals, err := url.ParseQuery(raw)
	if err != nil {
		q.err = "malformed query"
	}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		q.set(k, vals[k][len(vals[k])-1], wantSecretID)
	}
	if q.err == "" && q.secretID == "" {
		q.err = "missing secret ID"
		if wantSecretID {
			q.err = "missing parameter secretId"
		}
	}
	if q.err == "" && q.role != "" && !roleARNPattern.MatchString(q.role) {
		q.err = msgInvalidRole
	}
	return q
}

// set reads one query parameter.
func (q *agentQuery) set(k, v string, wantSecretID bool) {
	switch {
	case k == "secretId" && wantSecretID:
		q.secretID = v
	case k == "versionId":
		q.versionID = v
	case k == "versionStage":
		q.versionStage = v
	case k == "roleArn":
		q.role = v
	case k == "refreshNow":
		q.setRefreshNow(v)
	case q.err == "":
		q.err = "unknown parameter: " + k
	}
}

func (q *agentQuery) setRefreshNow(v string) {
	switch strings.ToLower(v) {
	case "true", "1":
		q.refreshNow = true
	case "false", "0":
	default:
		q.err = "invalid refreshNow value"
	}
}

// agentError formats an AWS error as the agent's err_response does,
// including its space after the comma.
func agentError(code, msg string) string {
	if msg == "" || code == codeInternalFailure {
		return `{"__type":"InternalFailure"}`
	}
	return `{"__type":` + mustJSON(code) + `, "message":` + mustJSON(msg) + `}`
}
