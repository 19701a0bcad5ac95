package mwtest

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The managed dialect: the AWS Parameters and Secrets Lambda Extension.

func (e *Extension) serveManaged(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		e.reply(w, http.StatusMethodNotAllowed, textPlain, "method not allowed")
		return
	}
	if !e.tokenOK(r.Header.Get(TokenHeader)) {
		// As the layer answers a missing, wrong or stale token (the Lambda
		// guide's "401 Unauthorized", and a wire capture in
		// awslabs/aws-sdk-rust#905).
		e.count(func(s *Stats) { s.BadToken++ })
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		e.reply(w, http.StatusUnauthorized, "text/plain", BadSessionTokenError)
		return
	}
	switch r.URL.Path {
	case parametersPath:
		e.managedValue(w, r, "name", e.managedParameter)
	case secretsPath:
		e.managedValue(w, r, "secretId", e.managedSecret)
	default:
		e.managedNotFound(w)
	}
}

// managedValue admits a value request for the item named by the query
// parameter key, and has answer answer it.
func (e *Extension) managedValue(w http.ResponseWriter, r *http.Request, key string, answer func(http.ResponseWriter, url.Values, string)) {
	q, qerr := url.ParseQuery(r.URL.RawQuery)
	name := q.Get(key)
	if !e.admit(w, r, name, false) {
		return
	}
	if qerr != nil {
		e.fail(w, invalid("malformed query"))
		return
	}
	answer(w, q, name)
}

// managedNotFound answers an unknown path: during INIT like any other
// request, else 404.
func (e *Extension) managedNotFound(w http.ResponseWriter) {
	if !e.isReady() {
		e.replyNotReady(w)
		return
	}
	e.reply(w, http.StatusNotFound, textPlain, "not found")
}

func (e *Extension) managedParameter(w http.ResponseWriter, q url.Values, name string) {
	version, label, f := parameterSelector(q)
	if f != nil {
		e.fail(w, f)
		return
	}
	decrypt := strings.EqualFold(q.Get("withDecryption"), "true")
	e.mu.Lock()
	p, f := e.store.getParameter(name, version, label, decrypt)
	e.mu.Unlock()
	if f != nil {
		e.fail(w, f)
		return
	}
	body := struct {
		Parameter      parameterJSON `json:"Parameter"`
		ResultMetadata struct{}      `json:"ResultMetadata"`
	}{Parameter: p.json()}
	e.serve(w, name, appJSON, mustJSON(body))
}

// parameterSelector reads the version or the label a parameter request asks
// for (0 and "" if none).
func parameterSelector(q url.Values) (version int64, label string, f *failure) {
	if q.Has("version") && q.Has("label") {
		return 0, "", invalid("version and label are exclusive")
	}
	if q.Has("version") {
		v, err := strconv.ParseInt(q.Get("version"), 10, 64)
		if err != nil || v < 1 {
			return 0, "", invalid("version must be a positive integer")
		}
		return v, "", nil
	}
	label = q.Get("label")
	if q.Has("label") && label == "" {
		return 0, "", invalid("label must not be empty")
	}
	return 0, label, nil
}

// parameterJSON is ssm.GetParameterOutput.Parameter as the managed layer
// writes it. For a secret read through Parameter Store, DataType is null,
// and so is Value when the secret is binary: its bytes are in SourceResult.
type parameterJSON struct {
	ARN              string  `json:"ARN"`
	DataType         *string `json:"DataType"`
	LastModifiedDate string  `json:"LastModifiedDate"`
	Name             string  `json:"Name"`
	Selector         *string `json:"Selector"`
	SourceResult     *string `json:"SourceResult"`
	Type             string  `json:"Type"`
	Value            *string `json:"Value"`
	Version          int64   `json:"Version"`
}

func (p *paramResult) json() parameterJSON {
	j := parameterJSON{
		ARN:              p.arn,
		DataType:         ptr("text"),
		LastModifiedDate: p.modified.UTC().Format(timeLayout),
		Name:             p.name,
		Selector:         p.selector,
		SourceResult:     p.sourceResult,
		Type:             p.typ,
		Value:            &p.value,
		Version:          p.version,
	}
	if p.sourceResult != nil { // a secret, read through Parameter Store
		j.DataType = nil
	}
	if p.binary {
		j.Value = nil
	}
	return j
}

func (e *Extension) managedSecret(w http.ResponseWriter, q url.Values, id string) {
	sec, v, stages, f := e.getSecret("", id, q.Get("versionId"), q.Get("versionStage"))
	if f != nil {
		e.fail(w, f)
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
		SecretString:  v.stringPtr(),
		VersionID:     v.id,
		VersionStages: nonNil(stages),
	}
	e.serve(w, id, appJSON, mustJSON(body))
}
