package mw

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// A Class names why a fetch failed. Classes are stable strings, used as the
// error.type of spans: dashboards may group by them.
type Class string

// The classes of fetch failure.
const (
	// ClassRejected is the managed extension's bare HTTP 400, which it
	// answers for a wrong name, a missing permission, and a call before
	// it is ready (during INIT) alike.
	ClassRejected Class = "rejected"
	// ClassNotFound: the item does not exist (agent-style error code).
	ClassNotFound Class = "not_found"
	// ClassAccessDenied: the execution role may not read the item.
	ClassAccessDenied Class = "access_denied"
	// ClassDecrypt: KMS refused to decrypt the item.
	ClassDecrypt Class = "kms_decrypt"
	// ClassBadToken: the extension rejected X-Aws-Parameters-Secrets-Token.
	ClassBadToken Class = "bad_token"
	// ClassThrottled: HTTP 429 or an AWS throttling error.
	ClassThrottled Class = "throttled"
	// ClassServerError: HTTP 5xx from the extension.
	ClassServerError Class = "server_error"
	// ClassUnavailable: nothing answered (connection refused or reset).
	ClassUnavailable Class = "unavailable"
	// ClassTimeout: the invoke's deadline or the fetch timeout passed.
	ClassTimeout Class = "timeout"
	// ClassMalformed: the extension answered 200 with a body mw cannot read.
	ClassMalformed Class = "malformed"
	// ClassOther: any other refusal, such as an invalid request.
	ClassOther Class = "other"
)

// FetchError reports one declared item that could not be fetched. It names
// the item and never holds its value. Use errors.As to get it from the error
// a wrapped handler returns.
type FetchError struct {
	Kind     string        // "parameter" or "secret"
	Name     string        // the name or ARN fetched, as declared
	Alias    string        // the name handlers read it by, if declared with Alias
	Version  string        // the version asked for, such as "stage AWSPREVIOUS"; "" for the current one
	Class    Class         // why, in one word
	Status   int           // the last HTTP status, 0 when none came back
	Code     string        // the AWS error code of an agent-style body, if any
	Attempts int           // requests made, retries included
	Elapsed  time.Duration // from the first attempt to giving up
	// Stale is how far past its TTL the item's last good value was when
	// this refresh failed; zero when it had none or was not yet expired.
	// Within WithMaxStale that value is served; beyond, the invoke fails.
	Stale time.Duration
	Err   error // the last cause
}

func (e *FetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mw: %s: %s (%d attempt", e.subject(), e.what(), e.Attempts)
	if e.Attempts != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, " in %s", e.Elapsed.Round(time.Millisecond))
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "; last: %v", e.Err) // a statusError says its HTTP status
	case e.Status != 0:
		fmt.Fprintf(&b, "; last: HTTP %d", e.Status)
	}
	b.WriteString(")")
	if e.Stale > 0 {
		fmt.Fprintf(&b, "; its last good value is %s past its TTL", e.Stale.Round(time.Second))
	}
	b.WriteString(": ")
	b.WriteString(e.Hint())
	return b.String()
}

// subject names the item: `secret "db" (prod/db, stage AWSPREVIOUS)`.
func (e *FetchError) subject() string {
	ref := e.Name
	var extra []string
	if e.Alias != "" {
		ref = e.Alias
		extra = append(extra, e.Name)
	}
	if e.Version != "" {
		extra = append(extra, e.Version)
	}
	s := fmt.Sprintf("%s %q", e.Kind, ref)
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

func (e *FetchError) what() string {
	switch e.Class {
	case ClassRejected:
		return "the extension answered its generic 400: not found, not allowed, or not ready"
	case ClassNotFound:
		return "not found"
	case ClassAccessDenied:
		return "access denied"
	case ClassDecrypt:
		return "could not be decrypted"
	case ClassBadToken:
		return "the extension rejected the session token"
	case ClassThrottled:
		return "throttled"
	case ClassServerError:
		return "the extension failed"
	case ClassUnavailable:
		return "the extension did not answer"
	case ClassTimeout:
		return "timed out"
	case ClassMalformed:
		return "unreadable response"
	}
	return "refused"
}

func (e *FetchError) iamAction() string {
	if e.Kind == resolved.Parameter.String() {
		return "ssm:GetParameter"
	}
	return "secretsmanager:GetSecretValue"
}

// Hint says what most likely fixes the failure.
func (e *FetchError) Hint() string {
	switch e.Class {
	case ClassRejected:
		return fmt.Sprintf("check that the %s exists under this exact name in this account and region; "+
			"that the execution role allows %s on it, and kms:Decrypt if a customer-managed key encrypts it; "+
			"and that nothing calls the extension during INIT (the extension serves only during invokes). "+
			"The extension logs the real cause to CloudWatch", e.Kind, e.iamAction())
	case ClassNotFound:
		return fmt.Sprintf("check the name: no %s of that name or ARN exists in this account and region (wrong name or region?)", e.Kind)
	case ClassAccessDenied:
		return fmt.Sprintf("allow %s on this %s's ARN in the function's execution role", e.iamAction(), e.Kind)
	case ClassDecrypt:
		return "allow kms:Decrypt on the KMS key that encrypts it in the function's execution role (and in the key policy)"
	case ClassBadToken:
		return "the X-Aws-Parameters-Secrets-Token header must equal AWS_SESSION_TOKEN: is AWS_SESSION_TOKEN set in this environment? " +
			"(The Secrets Manager Agent takes the first set of AWS_TOKEN, AWS_SESSION_TOKEN and AWS_CONTAINER_AUTHORIZATION_TOKEN, " +
			"where file://path names a file holding it: mw and the agent must see the same one)"
	case ClassThrottled:
		return "AWS throttled the extension: raise the extension's cache TTL (SSM_PARAMETER_STORE_TTL, SECRETS_MANAGER_TTL) or mw's WithTTL"
	case ClassServerError:
		return "the extension reported an internal failure: see its CloudWatch logs"
	case ClassUnavailable:
		return "nothing answered: is the AWS Parameters and Secrets Lambda Extension layer attached, " +
			"and is PARAMETERS_SECRETS_EXTENSION_HTTP_PORT the port it listens on?"
	case ClassTimeout:
		return "the deadline passed before the extension answered: raise the function's timeout or mw's WithFetchTimeout, or look for a hung extension"
	case ClassMalformed:
		return "the endpoint did not answer like the Parameters and Secrets extension: check WithEndpoint and the port"
	}
	if e.Status == http.StatusNotFound {
		return "the endpoint does not serve this route: the Secrets Manager Agent serves secrets only, not parameters"
	}
	return fmt.Sprintf("the extension refused the request: check the %s's name or ARN", e.Kind)
}

// PrefetchError is the error an invoke returns when declared items could not
// be fetched. The handler did not run. It lists every failed item.
type PrefetchError struct {
	Failed   []*FetchError // in declaration order
	Declared int           // how many items were declared
}

func (e *PrefetchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mw: %d of %d declared items could not be fetched; the handler did not run", len(e.Failed), e.Declared)
	for _, f := range e.Failed {
		b.WriteString("\n\t")
		b.WriteString(f.Error())
	}
	return b.String()
}

// Unwrap returns the FetchErrors, for errors.As and errors.Is.
func (e *PrefetchError) Unwrap() []error {
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f
	}
	return errs
}

// classify tells why err happened and whether another attempt may succeed.
// startup reports whether the Wrap is still inside its startup window, the
// only time a bare 400 is retried.
func classify(err error, startup bool) (c Class, retry bool) {
	var se *statusError
	var me *malformedError
	var te *tokenError
	switch {
	case errors.As(err, &te):
		return ClassBadToken, false
	case errors.As(err, &se):
		if se.code != "" {
			if c, retry, ok := classifyCode(se.code); ok {
				return c, retry
			}
		}
		switch {
		case se.status == http.StatusTooManyRequests:
			return ClassThrottled, true
		case se.status >= 500:
			return ClassServerError, true
		case se.status == http.StatusBadRequest && se.code == "":
			return ClassRejected, startup
		case se.status == http.StatusForbidden:
			return ClassBadToken, false
		}
		return ClassOther, false
	case errors.As(err, &me):
		return ClassMalformed, false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return ClassTimeout, false
	}
	// Transport errors: refused, reset, EOF. The extension may be starting
	// or restarting: try again.
	return ClassUnavailable, true
}

// classifyCode reads the AWS error codes the agent passes through.
func classifyCode(code string) (c Class, retry, ok bool) {
	switch code {
	case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound":
		return ClassNotFound, false, true
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		return ClassAccessDenied, false, true
	case "DecryptionFailure", "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException",
		"KMSNotFoundException", "InvalidCiphertextException", "IncorrectKeyException":
		return ClassDecrypt, false, true
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ThrottledException":
		return ClassThrottled, true, true
	case "InternalFailure", "InternalServiceError", "InternalServerError", "ServiceUnavailable", "TimeoutError", "RequestTimeout":
		return ClassServerError, true, true
	}
	return "", false, false
}

// LookupError is returned by the accessors when they cannot answer: the
// context holds no values (ErrNoValues), the item was not declared
// (ErrNotDeclared), an optional item could not be fetched (ErrNotFound,
// with the *FetchError that says why), or a typed accessor could not decode
// the value (ErrDecode). Test with errors.Is and errors.As.
type LookupError struct {
	Kind  string // "parameter" or "secret"
	Name  string
	Err   error       // ErrNoValues, ErrNotDeclared, ErrNotFound, or wraps ErrDecode
	Fetch *FetchError // with ErrNotFound: why the item has no value
}

// Errors a LookupError wraps.
var (
	// ErrNoValues means the context was not made by a wrapped handler.
	ErrNoValues = errors.New("the context holds no mw values")
	// ErrNotDeclared means the item was not declared to Wrap.
	ErrNotDeclared = errors.New("not declared")
	// ErrNotFound means an optional item, declared without a Default,
	// could not be fetched.
	ErrNotFound = errors.New("optional item has no value")
	// ErrDecode means a typed accessor could not decode the value; the
	// error says why and where, never what the value holds.
	ErrDecode = errors.New("cannot decode the value")
)

func (e *LookupError) Error() string {
	switch e.Err {
	case ErrNotDeclared:
		opt := "WithSecrets"
		if e.Kind == resolved.Parameter.String() {
			opt = "WithParameters"
		}
		return fmt.Sprintf("mw: %s %q was not declared: add mw.%s(%q) to mw.Wrap", e.Kind, e.Name, opt, e.Name)
	case ErrNoValues:
		return fmt.Sprintf("mw: %s %q: %v: pass the ctx your wrapped handler received (values exist only inside an invoke of a handler made by mw.Wrap)", e.Kind, e.Name, e.Err)
	case ErrNotFound:
		if e.Fetch != nil {
			return fmt.Sprintf("mw: optional %s %q has no value: %v", e.Kind, e.Name, e.Fetch)
		}
	}
	return fmt.Sprintf("mw: %s %q: %v", e.Kind, e.Name, e.Err)
}

// Unwrap returns Err, and Fetch when set.
func (e *LookupError) Unwrap() []error {
	if e.Fetch != nil {
		return []error{e.Err, e.Fetch}
	}
	return []error{e.Err}
}
