package mw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lambda-mw/mw/internal/loopback"
)

// The extension's wire protocol, as AWS documents it ("Using Parameter Store
// parameters in AWS Lambda functions", "Use AWS Secrets Manager secrets in
// AWS Lambda functions"), and the Secrets Manager Agent's (its README): GET
// requests on loopback, the session token in a header.
const (
	// tokenHeader carries the caller's session token to the extension.
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
	portEnv     = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
	defaultPort = "2773"

	routeParameter = "/systemsmanager/parameters/get"
	routeSecret    = "/secretsmanager/get"

	// maxBody caps what is read of a response. A secret is at most 64 KiB
	// and a parameter at most 8 KiB; base64 and JSON framing add a third.
	maxBody = 1 << 20
	// maxTokenFile caps what is read of the agent's token file.
	maxTokenFile = 4 << 10
	// tokenFileTimeout bounds the read of the agent's token file, when the
	// deadline does not bound it sooner: a file read takes microseconds, and
	// a pipe or device that holds it is a mistake to report as such, before
	// the deadline ends the fetch.
	tokenFileTimeout = 250 * time.Millisecond
)

// extensionConfig is what the options say about mw's own source.
type extensionConfig struct {
	endpoint string       // fixed base URL, or "" to read the port on each fetch
	remote   bool         // a non-loopback endpoint is allowed
	agent    bool         // the Secrets Manager Agent, not the managed extension
	client   *http.Client // the user's, or nil for mw's shared one
	token    string       // a fixed token (WithToken), if hasToken
	hasToken bool
	fromEnv  bool // agent comes from MW_AGENT alone: refusals are the operator's
}

// extension is the Source that talks to the AWS Parameters and Secrets
// Lambda Extension, or to the AWS Secrets Manager Agent, over HTTP.
type extension struct {
	extensionConfig
	hc *http.Client
}

func newExtension(c extensionConfig) *extension {
	c.endpoint = strings.TrimSuffix(c.endpoint, "/")
	return &extension{extensionConfig: c, hc: loopback.NoRedirects(c.client)}
}

// Name is "extension", or "agent" for the Secrets Manager Agent.
func (x *extension) Name() string {
	if x.agent {
		return "agent"
	}
	return "extension"
}

// Plan serves parameters (the managed extension only) and secrets, one
// request each.
func (x *extension) Plan(it Item) (Plan, error) {
	switch {
	case it.RoleARN != "" && !x.agent && it.Kind == KindSecret:
		return Plan{}, fmt.Errorf("%s: the Parameters and Secrets extension reads with the function's own role and cannot take on another: "+
			"read it through the AWS SDK source (mw.WithSource(awssdk.New(cfg)), package github.com/lambda-mw/mw/awssdk), "+
			"the Secrets Manager Agent, or Cloud Extensions, which take a roleArn", it)
	case it.RoleARN != "" && !x.agent && it.Kind == KindParameter:
		return Plan{}, fmt.Errorf("%s: the Parameters and Secrets extension reads with the function's own role and cannot take on another: "+
			"read it through the AWS SDK source, which assumes the role (mw.From(awssdk.New(cfg)), package github.com/lambda-mw/mw/awssdk); "+
			"no extension reads a parameter as another role", it)
	case it.Kind == KindSecret:
		return Plan{Op: "GET " + routeSecret, Batch: 1}, nil
	case it.Kind == KindParameter && x.agent:
		return Plan{}, fmt.Errorf("%s: the Secrets Manager Agent serves secrets only, not parameters: "+
			"read parameters through the AWS SDK source (mw.WithSource(awssdk.New(cfg)), package github.com/lambda-mw/mw/awssdk)", it)
	case it.Kind == KindParameter:
		return Plan{Op: "GET " + routeParameter, Batch: 1}, nil
	case it.Kind == KindParametersByPath:
		return Plan{}, fmt.Errorf("%s: the %s cannot list the parameters under a path: "+
			"use the AWS SDK source, mw.WithSource(awssdk.New(cfg)) from package github.com/lambda-mw/mw/awssdk, "+
			"or declare each parameter with WithParameters", it, x.product())
	}
	return Plan{}, fmt.Errorf("%s: %w", it, ErrNotServed)
}

// dialect is what the meaning of the server's answers depends on.
func (x *extension) dialect() dialect { return dialect{agent: x.agent} }

// product names the server in messages.
func (x *extension) product() string { return x.dialect().product() }

// Fetch makes one request per item (the extension takes one at a time).
func (x *extension) Fetch(ctx context.Context, _ string, items []Item) []Result {
	return oneByOne(ctx, items, x.fetch)
}

// oneByOne fetches items one at a time, for a server that takes one item
// a request.
func oneByOne(ctx context.Context, items []Item, fetch func(context.Context, Item) Result) []Result {
	out := make([]Result, len(items))
	for i, it := range items {
		out[i] = fetch(ctx, it)
	}
	return out
}

func (x *extension) fetch(ctx context.Context, it Item) Result {
	base, err := x.base()
	if err != nil {
		return Result{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+requestPath(it, x.agent), nil)
	if err != nil {
		return Result{Err: &SourceError{Class: ClassConfig, Err: errors.New("the request URL cannot be built"),
			Hint: "check the endpoint (WithEndpoint, MW_ENDPOINT)"}}
	}
	// Read on every fetch: the token belongs to the current credentials.
	token, err := x.sessionToken(ctx)
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set(tokenHeader, token)
	resp, body, err := loopback.Get(x.hc, req, maxBody)
	switch {
	case err != nil:
		return Result{Err: x.transportError(ctx, err)}
	case len(body) > maxBody:
		return Result{Err: malformed(resp.StatusCode, fmt.Sprintf("the answer is larger than %d bytes", maxBody))}
	case resp.StatusCode != http.StatusOK:
		d := x.dialect()
		d.tokenHint, d.token = x.tokenHint(token == ""), token
		return Result{Err: statusError(it, resp, body, d)}
	}
	return readAnswer(it, body)
}

// base is the endpoint's base URL: the fixed one, or localhost at the port
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT names.
func (x *extension) base() (string, error) {
	if x.endpoint != "" {
		return x.endpoint, nil
	}
	return localEndpoint(portEnv, defaultPort, "the extension's")
}

// requestPath is the route and query for it. Names are query-escaped,
// which covers '+', '=', '@', '/' and the ':' of ARNs.
func requestPath(it Item, agent bool) string {
	switch it.Kind {
	case KindParameter:
		version := ""
		if it.Version != 0 {
			version = strconv.FormatInt(it.Version, 10)
		}
		return routeParameter + "?name=" + loopback.QueryEscape(it.Name) + "&withDecryption=true" +
			queryParam("version", version) + queryParam("label", it.Label)
	case KindSecret:
		path := routeSecret + "?secretId=" + loopback.QueryEscape(it.Name) +
			queryParam("versionId", it.VersionID) + queryParam("versionStage", it.VersionStage)
		if !agent { // the managed extension takes neither
			return path
		}
		refresh := ""
		if it.Refresh {
			refresh = "true"
		}
		return path + queryParam("refreshNow", refresh) + queryParam("roleArn", it.RoleARN)
	}
	return ""
}

// queryParam is "&key=value", value query-escaped, or "" for no value.
func queryParam(key, value string) string {
	if value == "" {
		return ""
	}
	return "&" + key + "=" + loopback.QueryEscape(value)
}

// agentTokenEnv are where the Secrets Manager Agent reads its token from,
// in its order: the first that is set wins.
var agentTokenEnv = [...]string{"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// sessionToken returns the token the endpoint expects: WithToken's; for the
// managed extension AWS_SESSION_TOKEN; for the agent the first set of
// agentTokenEnv, where a file:// value names a file holding the token (as
// on EKS, where it rotates), read on each fetch. A token that no HTTP
// header can carry is refused here, before anything is sent.
func (x *extension) sessionToken(ctx context.Context) (string, error) {
	tok, from, err := x.rawToken(ctx)
	if err != nil {
		return "", err
	}
	if !validHeaderValue(tok) {
		return "", &SourceError{Class: ClassBadToken, Err: fmt.Errorf("the token in %s holds a character no HTTP header may carry; nothing was sent", from),
			Hint: fmt.Sprintf("%s must hold the token alone, on one line: look for a stray newline or control character where it is set", from)}
	}
	return tok, nil
}

func (x *extension) rawToken(ctx context.Context) (tok, from string, err error) {
	if x.hasToken {
		return x.token, "WithToken", nil
	}
	if !x.agent {
		return os.Getenv("AWS_SESSION_TOKEN"), "AWS_SESSION_TOKEN", nil
	}
	for _, env := range agentTokenEnv {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		path, isFile := strings.CutPrefix(v, "file://")
		if !isFile {
			return v, env, nil
		}
		tok, err := readTokenFile(ctx, path)
		if err != nil {
			return "", env, &SourceError{Class: ClassBadToken, Err: fmt.Errorf("reading the token file that %s names: %w; nothing was sent", env, err),
				Hint: fmt.Sprintf("make %s name a readable file that holds the agent's token (file://<path>), as the agent reads it", env)}
		}
		return tok, env + "'s file", nil
	}
	return "", "AWS_SESSION_TOKEN", nil
}

// errTokenFileEmpty is a token file that holds no token.
var errTokenFileEmpty = errors.New("it holds no token")

// errTokenFileTooLarge is a token file larger than any token.
var errTokenFileTooLarge = fmt.Errorf("it is larger than %d bytes, more than a token", maxTokenFile)

// readTokenFile reads at most maxTokenFile bytes of path, within
// tokenFileTimeout and ctx's deadline: a named pipe or a device must not
// hold the invoke.
func readTokenFile(ctx context.Context, path string) (string, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dl := time.Now().Add(tokenFileTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	_ = f.SetReadDeadline(dl) // regular files have none, and do not block
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	tok := strings.TrimSpace(string(b))
	switch {
	case err != nil:
		return "", err
	case len(b) > maxTokenFile:
		return "", errTokenFileTooLarge
	case tok == "":
		return "", errTokenFileEmpty
	}
	return tok, nil
}

// validHeaderValue reports whether v can be sent as an HTTP header value:
// no control character but tab (RFC 9110 §5.5).
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// transportError classifies a request that got no usable answer.
func (x *extension) transportError(ctx context.Context, err error) error {
	h := failureHints{
		unavailable: "nothing answered: is the AWS Parameters and Secrets Lambda Extension layer attached to the function, " +
			"and is " + portEnv + " the port it listens on? (connection refused or reset)" + outsideLambda(),
		notHTTP: "something answered at the extension's port, but not as the extension does: is " + portEnv +
			" the port the extension listens on, and nothing else listening there?",
		tls: "check the endpoint's scheme (WithEndpoint, MW_ENDPOINT): the extension speaks plain http:// on loopback; " +
			"for an https:// endpoint, the HTTP client (WithHTTPClient) must trust its certificate",
	}
	switch {
	case x.agent:
		h.unavailable = "nothing answered: is the Secrets Manager Agent running, and listening at the endpoint (WithEndpoint, MW_ENDPOINT)?"
		h.notHTTP = "something answered at the endpoint (WithEndpoint, MW_ENDPOINT), but not as the Secrets Manager Agent does: " +
			"is it the agent's address, with nothing in between?"
	case x.endpoint != "":
		h.unavailable = "nothing answered at the endpoint (WithEndpoint, MW_ENDPOINT): is the extension layer attached, and listening there?"
		h.notHTTP = "something answered at the endpoint (WithEndpoint, MW_ENDPOINT), but not as the extension does: " +
			"is it the extension's address, with nothing in between?"
	}
	return requestFailed(ctx, err, h)
}

// tokenHint says what to check about a token the endpoint refused.
func (x *extension) tokenHint(noToken bool) string {
	switch {
	case x.hasToken:
		return "the endpoint refused the token that WithToken sets"
	case x.agent:
		return "the agent refused the token: mw sends the first set of AWS_TOKEN, AWS_SESSION_TOKEN and AWS_CONTAINER_AUTHORIZATION_TOKEN " +
			"(file://path names a file holding it), as the agent reads it: mw and the agent must see the same one"
	case noToken && os.Getenv("AWS_SESSION_TOKEN") == "":
		return "AWS_SESSION_TOKEN is empty in this environment, and the extension requires it as X-Aws-Parameters-Secrets-Token: " +
			"Lambda sets it; outside Lambda, set it to the token the extension was started with"
	}
	return "the extension refused the session token (bad session token or header key): X-Aws-Parameters-Secrets-Token must equal " +
		"the function's AWS_SESSION_TOKEN; a SnapStart snapshot or a process that kept an old token sends a stale one"
}
