package mw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/loopback"
	"github.com/lambda-mw/mw/internal/safejson"
	"github.com/lambda-mw/mw/internal/telemetry"
)

// The AWS AppConfig Agent Lambda extension's protocol (AWS AppConfig User
// Guide, "Adding the AWS AppConfig Agent Lambda
// extension", "Configuring the AWS AppConfig Agent Lambda extension",
// "Retrieving configuration data"): a GET on loopback, with no token.
const (
	appConfigPortEnv     = "AWS_APPCONFIG_EXTENSION_HTTP_PORT"
	appConfigDefaultPort = "2772"
	appConfigRoute       = "/applications/{application}/environments/{environment}/configurations/{profile}"

	// maxConfiguration caps what is read of a configuration: the hosted
	// configuration store holds up to 4 MB (2 MB by default), and S3 and
	// CodePipeline sources 2 MB ("Understanding configuration store quotas
	// and limitations").
	maxConfiguration = 4 << 20
)

// appConfigConfig is what the options say about the AppConfig source.
type appConfigConfig struct {
	endpoint string // fixed base URL, or "" to read the port on each fetch
}

// appConfig is the Source that talks to the AWS AppConfig Agent Lambda
// extension: mw's default for KindAppConfig.
type appConfig struct {
	endpoint string
	hc       *http.Client
}

func newAppConfig(c appConfigConfig, client *http.Client) *appConfig {
	return &appConfig{endpoint: strings.TrimSuffix(c.endpoint, "/"), hc: loopback.NoRedirects(client)}
}

// Name is "appconfig".
func (a *appConfig) Name() string { return "appconfig" }

// Plan serves AppConfig profiles, one request each; no other kind.
func (a *appConfig) Plan(it Item) (Plan, error) {
	if it.Kind != KindAppConfig {
		return Plan{}, fmt.Errorf("%s: %w", it, ErrNotServed)
	}
	if it.RoleARN != "" {
		return Plan{}, fmt.Errorf("%s: the AWS AppConfig Agent Lambda extension reads every profile as one role, "+
			"the one AWS_APPCONFIG_EXTENSION_ROLE_ARN names: set that instead of RoleARN (no source of mw reads a profile as a role of its own)", it)
	}
	return Plan{Op: "GET " + appConfigRoute, Batch: 1}, nil
}

// Fetch makes one request per item.
func (a *appConfig) Fetch(ctx context.Context, _ string, items []Item) []Result {
	return oneByOne(ctx, items, a.fetch)
}

// fetch asks for one profile. The extension takes no token: nothing but
// the route is sent. It has no "not ready" answer either: a request for
// data it has not fetched yet waits while it calls AppConfig ("Understanding
// how the AWS AppConfig Agent Lambda extension works"), so no answer is
// NotReady, and the wait is bounded by the fetch's context.
func (a *appConfig) fetch(ctx context.Context, it Item) Result {
	base, err := a.base()
	if err != nil {
		return Result{Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+configurationPath(it), nil)
	if err != nil {
		return Result{Err: &SourceError{Class: ClassConfig, Err: fmt.Errorf("the request URL cannot be built"),
			Hint: "check the endpoint (WithAppConfigEndpoint)"}}
	}
	resp, body, err := loopback.Get(a.hc, req, maxConfiguration)
	switch {
	case err != nil:
		return Result{Err: a.transportError(ctx, err)}
	case len(body) > maxConfiguration:
		return Result{Err: appConfigMalformed(resp.StatusCode, fmt.Sprintf("the answer is larger than %d bytes, the most AppConfig stores", maxConfiguration))}
	case resp.StatusCode != http.StatusOK:
		return Result{Err: a.statusError(it, resp, body)}
	}
	noteVersion(ctx, resp.Header)
	return Result{Value: string(body)}
}

// EvaluateFlag asks the extension for one flag of it, evaluated against
// evalCtx: GET ...?flag=<flag>, with a Context header of key=value for
// each of evalCtx, as the AWS AppConfig Agent takes them from version
// 2.0.45 ("Retrieving basic and multi-variant feature flags"). A key or a
// value that no header can carry, or that holds the '=' or ',' the header
// separates them with, is refused before anything is sent.
//
// AWS's pages show no answer to ?flag=. Two open-source clients whose
// tests run against AWS's agent container image read the flag's object
// alone, {"enabled":true,...}, and get an error status for a key the
// profile lacks; an agent before 2.0.45 answers the whole profile, an
// object of each flag's key to its object. Both shapes are read. A 404,
// and a whole profile without the flag, are a *SourceError wrapping
// ErrUnknownFlag.
func (a *appConfig) EvaluateFlag(ctx context.Context, it Item, flag string, evalCtx map[string]string) (Flag, error) {
	base, err := a.base()
	if err != nil {
		return Flag{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+configurationPath(it)+"?flag="+loopback.QueryEscape(flag), nil)
	if err != nil {
		return Flag{}, &SourceError{Class: ClassConfig, Err: fmt.Errorf("the request URL cannot be built"),
			Hint: "check the endpoint (WithAppConfigEndpoint)"}
	}
	for _, k := range slices.Sorted(maps.Keys(evalCtx)) {
		if !contextText(k) || !contextText(evalCtx[k]) {
			return Flag{}, &SourceError{Class: ClassConfig, Err: errors.New("a key or value of the evaluation context cannot be sent in a Context header; nothing was sent"),
				Hint: "keep the context's keys and values to text without '=', ',' or control characters"}
		}
		req.Header.Add("Context", k+"="+evalCtx[k])
	}
	resp, body, err := loopback.Get(a.hc, req, maxConfiguration)
	switch {
	case err != nil:
		return Flag{}, a.transportError(ctx, err)
	case len(body) > maxConfiguration:
		return Flag{}, appConfigMalformed(resp.StatusCode, fmt.Sprintf("the answer is larger than %d bytes, the most AppConfig stores", maxConfiguration))
	case resp.StatusCode == http.StatusNotFound:
		return Flag{}, &SourceError{Class: ClassNotFound, Status: resp.StatusCode, Code: safejson.CleanCode(resp.Header.Get("X-Amzn-Errortype")), Err: ErrUnknownFlag,
			Hint: fmt.Sprintf("check the flag's key (keys are case-sensitive), and that profile %q is still deployed to environment %q of application %q", it.Name, it.Environment, it.Application)}
	case resp.StatusCode != http.StatusOK:
		return Flag{}, a.statusError(it, resp, body)
	}
	f, found, err := decodeEvaluated(body, flag)
	switch {
	case err != nil:
		return Flag{}, appConfigMalformed(resp.StatusCode, err.Error())
	case !found:
		return Flag{}, &SourceError{Class: ClassNotFound, Status: resp.StatusCode, Err: ErrUnknownFlag,
			Hint: "check the flag's key (keys are case-sensitive), and that the AWS AppConfig Agent is version 2.0.45 or later, which answers ?flag="}
	}
	return f, nil
}

// decodeEvaluated reads the answer to ?flag=<flag>: the flag's object
// alone, or an object of flags by key that may hold it (the whole profile,
// from an agent that ignores ?flag=). The two differ where a flag's object
// is: a flag's attribute is never an object, so an object under the key
// asked for is the flag's. found is false when the answer is an object of
// flags without it.
func decodeEvaluated(body []byte, flag string) (f Flag, found bool, err error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return Flag{}, false, errors.New("the answer is not a JSON object: is the profile of type AWS.AppConfig.FeatureFlags?")
		}
		return Flag{}, false, errors.New(safejson.Problem(nil, string(body), err))
	}
	if obj, ok := top[flag]; ok && isObject(obj) {
		f, err := decodeFlag(obj)
		return f, err == nil, err
	}
	if enabled, ok := top["enabled"]; ok && !isObject(enabled) {
		f, err := decodeFlag(body)
		return f, err == nil, err
	}
	if _, err := decodeFlags(string(body)); err != nil {
		return Flag{}, false, err
	}
	return Flag{}, false, nil // an object of flags, without the one asked for
}

// isObject reports whether raw, a JSON value, is an object.
func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// contextText reports whether s can be sent as a key or value of a Context
// header: text with no control character, and no '=' or ',', which the
// header uses to separate them.
func contextText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == '=' || c == ',' {
			return false
		}
	}
	return true
}

// noteVersion records on the fetch's span the configuration version and
// content type the extension served: which deployment an invoke runs with.
// They are metadata, never the configuration.
func noteVersion(ctx context.Context, h http.Header) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	if v := headerText(h.Get("Configuration-Version")); v != "" {
		span.SetAttributes(telemetry.AttrConfigVersion.StringSlice([]string{v}))
	}
	if v := headerText(h.Get("Content-Type")); v != "" {
		span.SetAttributes(telemetry.AttrContentType.StringSlice([]string{v}))
	}
}

// headerText keeps a header value to printable ASCII and 128 bytes, so
// that an answer cannot forge what it puts on a span.
func headerText(v string) string {
	b := make([]byte, 0, min(len(v), 128))
	for i := 0; i < len(v) && len(b) < 128; i++ {
		if c := v[i]; c >= ' ' && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// base is the extension's base URL: the fixed one, or localhost at the
// port AWS_APPCONFIG_EXTENSION_HTTP_PORT names, read on each fetch as the
// extension reads it.
func (a *appConfig) base() (string, error) {
	if a.endpoint != "" {
		return a.endpoint, nil
	}
	return localEndpoint(appConfigPortEnv, appConfigDefaultPort, "the AppConfig extension's")
}

// configurationPath is the route for it, each name escaped on its own:
// every byte but the unreserved ones percent-encoded, as encodeURIComponent
// does in Powertools for AWS Lambda (TypeScript), whose end-to-end tests
// run against the real extension; a '/' inside a name travels as %2F, as
// AWS asks ("Retrieving configuration data"). A name of "." or ".." is
// encoded whole, so that nothing on the way reads it as a path step.
func configurationPath(it Item) string {
	return "/applications/" + pathSegment(it.Application) +
		"/environments/" + pathSegment(it.Environment) +
		"/configurations/" + pathSegment(it.Name)
}

func pathSegment(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return loopback.QueryEscape(s)
}

// transportError classifies a request that got no usable answer.
func (a *appConfig) transportError(ctx context.Context, err error) error {
	h := failureHints{
		unavailable: "nothing answered: is the AWS AppConfig Agent Lambda extension layer attached to the function, and is " +
			appConfigPortEnv + " the port it listens on? (connection refused or reset)" + outsideLambda(),
		notHTTP: "something answered at the AppConfig extension's port, but not as the extension does: is " + appConfigPortEnv +
			" the port the AWS AppConfig Agent Lambda extension listens on, and nothing else listening there?",
		tls: "check the endpoint's scheme (WithAppConfigEndpoint): the AppConfig extension speaks plain http:// on loopback; " +
			"for an https:// endpoint, the HTTP client (WithHTTPClient) must trust its certificate",
	}
	if a.endpoint != "" {
		h.unavailable = "nothing answered at the endpoint (WithAppConfigEndpoint): is the AWS AppConfig Agent Lambda extension layer attached, and listening there?"
		h.notHTTP = "something answered at the endpoint (WithAppConfigEndpoint), but not as the AWS AppConfig Agent Lambda extension does: " +
			"is it the extension's address, with nothing in between?"
	}
	return requestFailed(ctx, err, h)
}

// checkAppConfigEndpoint validates the AppConfig extension's base URL, as
// checkEndpoint does the extension's. No token goes to it, but the
// configuration comes back from it: a host other than loopback must be
// allowed on purpose.
func checkAppConfigEndpoint(raw string, remote bool, allow string) (string, error) {
	canon, err := loopback.CheckEndpoint(raw, true, allow)
	if err != nil {
		return "", err
	}
	u, _ := url.Parse(canon) // checked
	if !remote && !loopback.Is(u.Hostname()) {
		return "", fmt.Errorf("%s is not a loopback host: the AppConfig extension listens on localhost (such as http://localhost:2772); "+
			"to read configurations from another host on purpose, %s", u.Hostname(), allow)
	}
	return canon, nil
}

// The AppConfig extension's answers other than 200. AWS documents none of
// them for the Lambda extension; what is known:
//
//   - 404 for a missing application, environment or profile, with a JSON
//     body such as {"Message":"Unrecognized or malformed path",
//     "ResourceType":"Configuration"} (Powertools for AWS Lambda
//     (TypeScript) meets it against the real extension in its end-to-end
//     test, and mocks that body in its unit test).
//   - 403 when the role may not call appconfig:StartConfigurationSession
//     or appconfig:GetLatestConfiguration: UNVERIFIED, inferred from the
//     same end-to-end test, which grants IAM on a missing profile "so that
//     the agent surfaces AppConfig's 404 instead of an IAM 403".
//   - 429 for AppConfig's ThrottlingException and 5xx for a failed first
//     fetch: UNVERIFIED; the AppConfig Data API answers them so, and the
//     extension "returns an error to your application" when its first
//     fetch fails.
//
// No body is quoted: only the ResourceType of a 404, one of AppConfig's
// fixed resource types, is kept.

// appConfigResourceTypes are the values of ResourceType in AppConfig's
// ResourceNotFoundException (AppConfig Data API reference).
var appConfigResourceTypes = []string{"Application", "ConfigurationProfile", "Deployment", "Environment", "Configuration"}

// statusError classifies a non-200 answer for it.
func (a *appConfig) statusError(it Item, resp *http.Response, body []byte) error {
	e := &SourceError{Status: resp.StatusCode, Code: safejson.CleanCode(resp.Header.Get("X-Amzn-Errortype"))}
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		e.Class, e.Err = ClassOther, errors.New("the endpoint answered a redirect, which mw does not follow; nothing more was sent")
		e.Hint = "the AppConfig extension does not redirect: check the endpoint (WithAppConfigEndpoint), and that no proxy sits in between"
	case s == http.StatusNotFound:
		e.Class, e.Hint = ClassNotFound, notFoundHint(it, resourceType(body))
	case s == http.StatusForbidden || s == http.StatusUnauthorized:
		e.Class, e.Hint = ClassAccessDenied, accessHint(it)
	case s == http.StatusTooManyRequests:
		e.Class, e.Retry = ClassThrottled, true
		e.Hint = "AppConfig throttled the extension's calls (StartConfigurationSession, GetLatestConfiguration): " +
			"raise AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS (45 by default), or the quota; mw's TTL does not change how often the extension calls AppConfig"
	case s >= 500:
		e.Class, e.Retry = ClassServerError, true
		e.Hint = "the AppConfig extension reported a failure, most likely of its first fetch from AppConfig: its CloudWatch logs (lines starting [appconfig agent]) say why; mw retries"
	case s == http.StatusBadRequest:
		e.Class = ClassOther
		e.Hint = "AppConfig refused the request as invalid (BadRequestException): check the application, environment and profile names; " +
			"a name that holds a comma must be given by its ID"
	default:
		e.Class, e.Hint = ClassOther, "the AppConfig extension refused the request"
	}
	return e
}

// resourceType is the ResourceType of a 404's JSON body, when it is one of
// AppConfig's; else "".
func resourceType(body []byte) string {
	var b struct {
		ResourceType string `json:"ResourceType"`
	}
	if json.Unmarshal(body, &b) != nil || !slices.Contains(appConfigResourceTypes, b.ResourceType) {
		return ""
	}
	return b.ResourceType
}

// notFoundHint names what to check for a 404: the three names, or the one
// the answer says is missing.
func notFoundHint(it Item, rt string) string {
	what := fmt.Sprintf("AppConfig has no configuration profile %q deployed to environment %q of application %q in this account and region", it.Name, it.Environment, it.Application)
	switch rt {
	case "Application":
		what = fmt.Sprintf("AppConfig has no application %q in this account and region", it.Application)
	case "Environment":
		what = fmt.Sprintf("AppConfig has no environment %q in application %q", it.Environment, it.Application)
	case "ConfigurationProfile":
		what = fmt.Sprintf("AppConfig has no configuration profile %q in application %q", it.Name, it.Application)
	}
	return what + ": check the names (or IDs) given to WithAppConfig, that a deployment of the profile to the environment has started, " +
		"and the region (AWS_APPCONFIG_EXTENSION_SERVICE_REGION, when set; a role in AWS_APPCONFIG_EXTENSION_ROLE_ARN reads its own account)"
}

// accessHint names the IAM actions the extension calls for it.
func accessHint(it Item) string {
	return fmt.Sprintf("allow appconfig:StartConfigurationSession and appconfig:GetLatestConfiguration on "+
		"arn:aws:appconfig:<region>:<account>:application/<id of %q>/environment/<id of %q>/configuration/<id of %q> "+
		"in the function's execution role (or in the role AWS_APPCONFIG_EXTENSION_ROLE_ARN names)", it.Application, it.Environment, it.Name)
}

// appConfigMalformed is an answer mw cannot use. Its message says what is
// wrong with the answer, never what it holds.
func appConfigMalformed(status int, reason string) error {
	return &SourceError{Class: ClassMalformed, Status: status, Err: errors.New(reason),
		Hint: "the answer could not be used: is the endpoint the AWS AppConfig Agent Lambda extension (AWS_APPCONFIG_EXTENSION_HTTP_PORT, WithAppConfigEndpoint)?"}
}
