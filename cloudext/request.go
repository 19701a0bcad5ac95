package cloudext

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/loopback"
)

// The AWS JSON 1.1 protocol of the Parameter Store and AppConfig
// extensions: a POST, the operation in X-Amz-Target.
const (
	contentTypeJSON11 = "application/x-amz-json-1.1"
	headerTarget      = "X-Amz-Target"
)

// An extension of the runtime, as requests and hints name it.
type extension struct {
	path       string // the route under the base URL
	name       string // as hints name it
	id         string // the profile entry's extension, as documented
	capability string // the capability the profile entry approves
	actions    string // the IAM actions of the extension's execution role
	maxBody    int    // the most of an answer that is read
}

var (
	extSecretsManager = extension{path: "/secretsmanager/get", name: "Secrets Manager extension", id: "aws:secretsmanager",
		capability: "secretsmanager", actions: "secretsmanager:GetSecretValue and secretsmanager:DescribeSecret",
		maxBody: 1 << 20} // a secret is at most 64 KiB; base64 and JSON add a third
	extParameterStore = extension{path: "/parameterstore", name: "Parameter Store extension", id: "the Parameter Store extension",
		capability: "parameterStoreRead", actions: "ssm:GetParameter and ssm:GetParameters",
		maxBody: 1 << 20} // 10 parameters of at most 8 KiB each, and their JSON
	extAppConfig = extension{path: "/appconfig/", name: "AppConfig extension", id: "aws:appconfig",
		capability: "appconfigdata", actions: "appconfig:StartConfigurationSession and appconfig:GetLatestConfiguration",
		maxBody: 8 << 20} // a configuration is at most 4 MB; base64 adds a third
)

// emptyHash is the SHA-256 of an empty payload, as SigV4 signs it.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// answer is what came back: the status, headers and body (at most the
// extension's maxBody, and one byte more to tell a larger one).
type answer struct {
	status int
	header http.Header
	body   []byte
	sent   []string // the tokens the request carried, which no error may quote
}

// send makes one request to ext: the SSRF token on the Secrets Manager
// extension's requests when one is set, never X-Forwarded-For, signed for
// service unless authentication is off. Its error is a *mw.SourceError, or
// ctx's own.
func (s *Source) send(ctx context.Context, ext extension, service, method, target, query string, body []byte) (*answer, error) {
	if s.badEndpoint != nil {
		return nil, s.badEndpoint
	}
	u := s.base + ext.path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, &mw.SourceError{Class: mw.ClassConfig, Err: errors.New("the request URL cannot be built"),
			Hint: "check the endpoint given to cloudext.WithEndpoint: an http URL such as " + DefaultEndpoint}
	}
	if body == nil {
		req.Body, req.ContentLength, req.GetBody = http.NoBody, 0, nil
	}
	if target != "" {
		req.Header.Set("Content-Type", contentTypeJSON11)
		req.Header.Set(headerTarget, target)
	}
	if ext == extSecretsManager && s.ssrf.token != "" {
		req.Header.Set(s.ssrf.header, s.ssrf.token)
	}
	if s.creds != nil {
		c, err := s.creds.get(ctx)
		if err != nil {
			return nil, err
		}
		hash := emptyHash
		if len(body) > 0 {
			sum := sha256.Sum256(body)
			hash = hex.EncodeToString(sum[:])
		}
		if err := s.signerFor(c).SignHTTP(ctx, c, req, hash, service, s.region, time.Now()); err != nil {
			return nil, &mw.SourceError{Class: mw.ClassConfig, Err: errors.New("the request could not be signed; nothing was sent")}
		}
	}
	// No connection is kept (loopback.Get): net/http would log what an
	// endpoint left on a kept one, quoting it.
	resp, b, err := loopback.Get(s.hc, req, ext.maxBody)
	if err != nil {
		return nil, s.transportError(ctx, err)
	}
	if len(b) > ext.maxBody {
		return nil, malformed(ext, resp.StatusCode, fmt.Sprintf("the answer is larger than %d bytes", ext.maxBody))
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: b,
		sent: []string{req.Header.Get("X-Amz-Security-Token"), s.ssrf.token}}, nil
}

// transportError classifies a request that got no answer. The context's
// own end is returned as it is, for mw to classify. Its message is mw's
// own words for what happened (loopback.Describe), never the HTTP
// client's: net/http's errors quote what the server sent, which may be a
// value.
func (s *Source) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f := loopback.Describe(err)
	switch f.Kind {
	case loopback.NotHTTP:
		return &mw.SourceError{Class: mw.ClassMalformed, Err: f,
			Hint: "something answered at " + s.printedBase() + ", but not as the Cloud Extensions runtime does: " +
				"is cloudext.WithEndpoint the runtime's address, with nothing in between?"}
	case loopback.TLS:
		return &mw.SourceError{Class: mw.ClassConfig, Err: f,
			Hint: "the runtime serves plain HTTP on localhost: check the scheme of cloudext.WithEndpoint (" + s.printedBase() + ")"}
	}
	return &mw.SourceError{Class: mw.ClassUnavailable, Retry: true, Err: f,
		Hint: "nothing answered at " + s.printedBase() + ": is the Cloud Extensions runtime attached to the function as a layer " +
			"(its ARN is the public parameter /aws/service/aws-cloudextensions/lambda-extension/<amd64|arm64>/latest), " +
			"and does it listen there (cloudext.WithEndpoint)?"}
}

// printedBase is the endpoint as messages show it, with any password in
// it masked.
func (s *Source) printedBase() string { return loopback.RedactURL(s.base) }

// malformed is an answer the Source cannot use. Its message says what is
// wrong with it, never what it holds.
func malformed(ext extension, status int, reason string) *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassMalformed, Status: status, Err: errors.New(reason),
		Hint: "the answer was not the " + ext.name + "'s documented JSON: is the endpoint the Cloud Extensions runtime (cloudext.WithEndpoint)?"}
}

func unknownOp(op string) *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassOther,
		Err: errors.New("cloudext: no such call " + op + ": Fetch takes the Op of the Source's Plan")}
}
