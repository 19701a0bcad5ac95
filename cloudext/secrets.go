package cloudext

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/safejson"
)

// secretBody is the Secrets Manager extension's answer, as the Secrets
// Manager Agent and the Parameters and Secrets extension answer it: the
// JSON of GetSecretValue's output. Only the fields the Source checks.
type secretBody struct {
	Name          *string  `json:"Name"`
	ARN           *string  `json:"ARN"`
	SecretString  *string  `json:"SecretString"`
	SecretBinary  *string  `json:"SecretBinary"`
	VersionID     *string  `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
}

// secretQuery is the query of the request for it: secretId, versionId,
// versionStage, refreshNow=true for a refresh (RefreshSecret: the
// extension bypasses its cache and fails rather than serve a cached value)
// and roleArn.
func secretQuery(it mw.Item) string {
	q := url.Values{"secretId": {it.Name}}
	if it.VersionID != "" {
		q.Set("versionId", it.VersionID)
	}
	if it.VersionStage != "" {
		q.Set("versionStage", it.VersionStage)
	}
	if it.Refresh {
		q.Set("refreshNow", "true")
	}
	if it.RoleARN != "" {
		q.Set("roleArn", it.RoleARN)
	}
	return q.Encode()
}

// getSecret asks the Secrets Manager extension's query route for one
// secret.
func (s *Source) getSecret(ctx context.Context, it mw.Item) mw.Result {
	a, err := s.send(ctx, extSecretsManager, signingSecretsManager, http.MethodGet, "", secretQuery(it), nil)
	if err != nil {
		return mw.Result{Err: err}
	}
	if a.status != http.StatusOK {
		return mw.Result{Err: s.refused(extSecretsManager, it, a)}
	}
	v, se := readSecret(it, a.body)
	if se != nil {
		return mw.Result{Err: se}
	}
	return mw.Result{Value: v}
}

// refused is the error of an answer that is not a 200. A refusal of the
// credentials makes a key read from a secret be read again.
func (s *Source) refused(ext extension, it mw.Item, a *answer) *mw.SourceError {
	e := s.refusalError(ext, it, readRefusal(a, time.Now()))
	if e.Class == mw.ClassBadToken && s.creds != nil {
		s.creds.refused()
	}
	return e
}

// readSecret reads a 200 answer for it: the value, once the answer proves
// to be for it. A binary secret is its raw bytes.
func readSecret(it mw.Item, body []byte) (string, *mw.SourceError) {
	if problem := safejson.Strict(body); problem != "" {
		return "", malformed(extSecretsManager, http.StatusOK, problem)
	}
	var b secretBody
	if err := json.Unmarshal(body, &b); err != nil {
		return "", malformed(extSecretsManager, http.StatusOK, safejson.Describe(err))
	}
	if !awsname.AnswersSecret(it.Name, b.Name, b.ARN) {
		return "", mismatch(extSecretsManager, "secret")
	}
	if it.VersionID != "" && b.VersionID != nil && *b.VersionID != it.VersionID ||
		it.VersionStage != "" && b.VersionStages != nil && !slices.Contains(b.VersionStages, it.VersionStage) {
		return "", mismatch(extSecretsManager, "version of the secret")
	}
	switch {
	case b.SecretString != nil:
		return *b.SecretString, nil
	case b.SecretBinary != nil:
		v, err := base64.StdEncoding.DecodeString(*b.SecretBinary)
		if err != nil {
			return "", malformed(extSecretsManager, http.StatusOK, "SecretBinary is not base64")
		}
		return string(v), nil
	}
	return "", malformed(extSecretsManager, http.StatusOK, "the answer has neither SecretString nor SecretBinary")
}

func mismatch(ext extension, what string) *mw.SourceError {
	se := malformed(ext, http.StatusOK, "the answer is for another "+what+" than the one asked for, and was not served")
	se.Hint = "the endpoint answered for something else: check that it is the Cloud Extensions runtime (cloudext.WithEndpoint), and that nothing in between rewrites requests"
	return se
}
