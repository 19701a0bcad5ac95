package mw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A Source fetches declared items for Wrap: the AWS Parameters and Secrets
// Lambda Extension (mw's default for parameters and secrets), the Secrets
// Manager Agent, the AWS SDK (package github.com/lambda-mw/mw/awssdk), the
// AWS AppConfig Agent Lambda extension (mw's default for AppConfig), or one
// of your own, given to WithSource.
//
// mw owns everything around the call: the cache, the single fetch that
// concurrent invokes share, retries with backoff within the invoke's
// deadline, the spans and metrics. A Source only makes calls and says what
// came back. mwtest.TestSource runs the conformance suite that every Source
// must pass.
type Source interface {
	// Name identifies the source on spans, metrics and errors: short,
	// lowercase and fixed, such as "extension", "agent" or "awssdk".
	Name() string

	// Plan is called once per declared item, at Wrap, and says how the
	// item is fetched. An error wrapping ErrNotServed says that the source
	// does not serve items of this kind, so that another source may; any
	// other error refuses the declaration, and Wrap panics with it, so it
	// should say what to use instead (the extension cannot list a path:
	// use the SDK source). Plan does no I/O.
	Plan(Item) (Plan, error)

	// Fetch fetches items that share one Plan.Op in one call, and returns
	// one Result per item, in the order of items. mw calls it concurrently,
	// with no more items than Plan.Batch, and with ctx ending at the
	// invoke's deadline less a reserve: Fetch returns when ctx ends.
	//
	// Fetch does not retry: mw retries the items whose Result.Err is a
	// *SourceError that allows it. A failure of the whole call is the same
	// error in every Result. No error may hold a value or a credential.
	Fetch(ctx context.Context, op string, items []Item) []Result
}

// ErrNotServed is what Source.Plan wraps for an item of a kind the source
// does not serve.
var ErrNotServed = errors.New("the source does not serve this kind of item")

// A Kind is the kind of a declared item.
type Kind uint8

// The kinds of item.
const (
	// KindParameter is an SSM Parameter Store parameter.
	KindParameter Kind = iota + 1
	// KindSecret is a Secrets Manager secret.
	KindSecret
	// KindParametersByPath is every parameter under a path, recursively,
	// as ssm:GetParametersByPath lists them.
	KindParametersByPath
	// KindAppConfig is an AWS AppConfig configuration profile.
	KindAppConfig
)

// String returns the kind as spans and errors name it: "parameter",
// "secret", "parameters_by_path" or "appconfig".
func (k Kind) String() string {
	if f := k.facts(); f != nil {
		return f.name
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// kindFacts is what mw knows of one kind of item, apart from its accessor
// and its declaring option, which the facts name.
type kindFacts struct {
	name     string // as spans and errors name the kind
	accessor string // the function that reads it: mw.<accessor>(ctx, ref)
	declare  string // how to declare one, a format of its ref: mw.<declare> to mw.Wrap
	current  string // what an item pinned to no version reads
	notFound string // what a not-found answer means
	lists    Kind   // the kind of the items one lists, as a path lists parameters; 0 for none
}

// kinds are the facts of each kind: a new kind is a row here, its
// accessor, its declaring option, and the checks of its declaration, if it
// has any (item.check).
var kinds = [...]kindFacts{
	KindParameter: {name: "parameter", accessor: "Parameter", declare: "WithParameters(%q)", current: "the latest version",
		notFound: "no parameter of that name or ARN (or version) exists in this account and region (wrong name or region?)"},
	KindSecret: {name: "secret", accessor: "Secret", declare: "WithSecrets(%q)", current: "AWSCURRENT",
		notFound: "no secret of that name or ARN (or version) exists in this account and region (wrong name or region?)"},
	KindParametersByPath: {name: "parameters_by_path", accessor: "ParametersByPath", declare: "WithParametersByPath(%q)", current: "the latest versions",
		notFound: "the path could not be listed in this account and region (wrong path or region?)",
		lists:    KindParameter},
	KindAppConfig: {name: "appconfig", accessor: "AppConfig", declare: "WithAppConfig(application, environment, %q)", current: "the deployed version",
		notFound: "no such configuration profile is deployed to that environment of that application in this account and region"},
}

// facts returns k's facts, or nil for a Kind mw does not know.
func (k Kind) facts() *kindFacts {
	if k == 0 || int(k) >= len(kinds) {
		return nil
	}
	return &kinds[k]
}

// listedKind is the kind of the items a declared path lists.
func listedKind() Kind {
	for _, f := range kinds {
		if f.lists != 0 {
			return f.lists
		}
	}
	return 0
}

// An Item is one declared item as a Source sees it: what to fetch. A zero
// field asks for nothing: no Version is the latest version, no
// VersionStage is AWSCURRENT.
type Item struct {
	Kind Kind

	// Name is what to fetch: a parameter's name or ARN (which may end in
	// Parameter Store's :version or :label selector), a secret's name or
	// ARN, a path such as /app/prod (KindParametersByPath), or an AppConfig
	// configuration profile's name or ID.
	Name string

	// Version pins a parameter to a version number, and Label to the
	// version that carries a label (for a secret read through Parameter
	// Store, /aws/reference/secretsmanager/<id>, a version stage).
	Version int64
	Label   string

	// VersionID pins a secret to a version, and VersionStage to the
	// version that carries a stage, such as AWSPREVIOUS.
	VersionID    string
	VersionStage string

	// Application and Environment name the AppConfig application and
	// environment of a KindAppConfig item, by name or ID.
	Application string
	Environment string

	// RoleARN reads the item as another IAM role, such as a role of
	// another account that may read it:
	// arn:aws:iam::123456789012:role/reader. "" reads it with the source's
	// own credentials. A source that cannot take on a role refuses such an
	// item in Plan.
	RoleARN string

	// Refresh is set in Fetch only, by RefreshSecret and RefreshParameter:
	// bypass the source's own cache where it has one.
	Refresh bool
}

// String describes the item for messages, never with a value:
// `secret "prod/db" (stage AWSPREVIOUS)`.
func (it Item) String() string {
	s := fmt.Sprintf("%s %q", it.Kind, it.qualifiedName())
	if v := it.version(); v != "" {
		s += " (" + v + ")"
	}
	if it.RoleARN != "" {
		s += " as role " + it.RoleARN
	}
	return s
}

// qualifiedName is what the item fetches, as errors, spans and metrics
// name it: its name or ARN; an AppConfig profile as
// application/environment/profile, whose name alone is not unique.
func (it Item) qualifiedName() string {
	if it.Application != "" || it.Environment != "" {
		return it.Application + "/" + it.Environment + "/" + it.Name
	}
	return it.Name
}

// version describes what pins the item to a version: "" for the current
// one, else e.g. "version 3", "label live", "stage AWSPREVIOUS".
func (it Item) version() string {
	var parts []string
	if it.Version != 0 {
		parts = append(parts, "version "+strconv.FormatInt(it.Version, 10))
	}
	if it.Label != "" {
		parts = append(parts, "label "+it.Label)
	}
	if it.VersionID != "" {
		parts = append(parts, "version id "+it.VersionID)
	}
	if it.VersionStage != "" {
		parts = append(parts, "stage "+it.VersionStage)
	}
	return strings.Join(parts, ", ")
}

// A Plan says how a Source fetches an item: items with the same Op are
// fetched together, up to Batch items in one call.
type Plan struct {
	// Op names the call, as the mw.fetch span shows it: an API operation,
	// such as "GetParameters", or the route of a local server.
	Op string
	// Batch is the most items one Fetch call takes, such as 10 for
	// ssm:GetParameters; 1 or less fetches them one at a time.
	Batch int
}

// A Result is what a Source got for one Item: a value, or why not.
type Result struct {
	// Value is the item's value: a parameter's (a StringList comma-joined,
	// a SecureString decrypted), a secret's SecretString or the bytes of
	// its SecretBinary, an AppConfig configuration's body.
	Value string

	// Values holds, for a KindParametersByPath item, every parameter found
	// under the path, by full name, valued as Value is.
	Values map[string]string

	// Type is the item's type as AWS names it, when the source knows it: a
	// parameter's String, StringList or SecureString; SecretString or
	// SecretBinary for a secret. ParameterList and SecretBinary refuse to
	// read an item of another type; "" lets them read any.
	Type string

	// Err says why the item has no value; a *SourceError says how mw
	// should treat it. Any other error is final, of class ClassOther.
	Err error
}

// String describes the result, never its value: `mw.Result{Value: (not
// shown)}`, `mw.Result{Values: ["/app/db" "/app/key"] (not shown)}` (the
// names found under a path), or `mw.Result{Err: <its error>}`.
func (r Result) String() string {
	switch {
	case r.Err != nil:
		return "mw.Result{Err: " + r.Err.Error() + "}"
	case r.Values != nil:
		names := slices.Sorted(maps.Keys(r.Values))
		for i, n := range names {
			names[i] = strconv.Quote(n)
		}
		return "mw.Result{Values: [" + strings.Join(names, " ") + "] (not shown)}"
	}
	return "mw.Result{Value: (not shown)}"
}

// GoString is String, so that %#v shows no value either.
func (r Result) GoString() string { return r.String() }

// Format writes String under every verb (%v, %+v, %#v, %s, %q, %x, %d,
// ...), so that no verb prints a value, a Result alone or in a slice. (fmt
// cannot call it for a Result in an unexported struct field: print such a
// field with String.)
func (r Result) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// A SourceError is how a Source reports a failed fetch: its class, whether
// to try again, and the likely fix. Its message never holds a value.
type SourceError struct {
	// Class says why, in one word.
	Class Class

	// Retry says that another attempt may succeed: throttling, a server
	// error, a connection that failed.
	Retry bool

	// NotReady says that the answer is also the one the source gives while
	// it is still starting, as the managed extension's bare HTTP 400 is.
	// mw then polls for readiness within WithStartupWindow, with one
	// request at a time, and fetches every waiting item once it is ready.
	NotReady bool

	// Status is the HTTP status of the answer, 0 when none came back.
	Status int

	// Code is the AWS error code, such as ResourceNotFoundException.
	Code string

	// Hint is the likely fix, naming the IAM action, the setting or the
	// mistake the answer points to; "" leaves it to the Class.
	Hint string

	// RetryAfter is how long the answer asked the caller to wait before
	// trying again, as an HTTP Retry-After header says it (RFC 9110
	// §10.2.3), or AWS's x-amz-retry-after; zero when it said nothing. It
	// means something only with Retry set. It is advice: the wait before
	// the next attempt is at least this long where the invoke's deadline
	// leaves room for it, and never longer than the deadline allows.
	RetryAfter time.Duration

	// Err is the cause, if any.
	Err error
}

// Error describes the failure by its status, code and cause.
func (e *SourceError) Error() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(e.Status))
	}
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	s := strings.Join(parts, " ")
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	if s == "" {
		s = string(e.Class)
	}
	return s
}

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// A Class names why a fetch failed. Classes are stable strings, used as the
// error.type of spans and metrics: dashboards may group by them.
type Class string

// The classes of fetch failure.
const (
	// ClassRejected is the managed extension's bare HTTP 400, which it
	// answers for a wrong name, a missing permission, and a call before
	// it is ready (during INIT) alike.
	ClassRejected Class = "rejected"
	// ClassNotFound: the item does not exist.
	ClassNotFound Class = "not_found"
	// ClassAccessDenied: the role may not read the item.
	ClassAccessDenied Class = "access_denied"
	// ClassDecrypt: KMS refused to decrypt the item.
	ClassDecrypt Class = "kms_decrypt"
	// ClassBadToken: the endpoint refused X-Aws-Parameters-Secrets-Token,
	// or mw could not get a token to send.
	ClassBadToken Class = "bad_token"
	// ClassThrottled: HTTP 429 or an AWS throttling error.
	ClassThrottled Class = "throttled"
	// ClassServerError: HTTP 5xx, or an AWS internal error.
	ClassServerError Class = "server_error"
	// ClassUnavailable: nothing answered (connection refused or reset).
	ClassUnavailable Class = "unavailable"
	// ClassTimeout: the invoke's deadline or the fetch timeout passed.
	ClassTimeout Class = "timeout"
	// ClassCanceled: the invoke's context was canceled.
	ClassCanceled Class = "canceled"
	// ClassMalformed: an answer mw cannot use: not the documented JSON,
	// too large, or for another item than the one asked for.
	ClassMalformed Class = "malformed"
	// ClassConfig: a setting is wrong, such as a port variable that is
	// not a port number.
	ClassConfig Class = "config"
	// ClassPanic: the source panicked while fetching; the invoke that led
	// the fetch panics too.
	ClassPanic Class = "panic"
	// ClassOther: any other refusal, such as an invalid request.
	ClassOther Class = "other"
)
