package mw

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FetchError reports one declared item that could not be fetched. It names
// the item and never holds its value. Use errors.As to get it from the error
// a wrapped handler returns.
type FetchError struct {
	Kind     Kind          // KindParameter, KindSecret, ...
	Name     string        // the name or ARN fetched, as declared
	Alias    string        // the name handlers read it by, if declared with Alias
	Version  string        // the version asked for, such as "stage AWSPREVIOUS"; "" for the current one
	Source   string        // the source that fetched it: "extension", "agent", "awssdk", ...
	Class    Class         // why, in one word
	Status   int           // the last HTTP status, 0 when none came back
	Code     string        // the AWS error code of the answer, if any
	Attempts int           // requests made, retries included
	Elapsed  time.Duration // from the first attempt to giving up
	// Stale is how far past its TTL the item's last good value was when
	// this refresh failed; zero when it had none or was not yet expired.
	// Within WithMaxStale that value is served; beyond, the invoke fails.
	Stale time.Duration
	Err   error // the last cause

	hint string // the likely fix, for the answer received: fixed when the error is made
	ref  string // what handlers read the item by
}

// fetchFailure is what is known of a failed fetch when its *FetchError is
// made, by item.fetchError only: the error is plain data from then on.
type fetchFailure struct {
	class          Class
	status         int
	code, hint     string
	err            error
	source         string
	attempts       int
	elapsed, stale time.Duration
	unready        bool // the answer is also the source's "not ready yet", and it was never seen serving
}

// Error says, in one line: the item, what went wrong, the answer, and the
// likely fix. Each part is also a field.
func (e *FetchError) Error() string {
	if e == nil {
		return "mw: <nil *FetchError>"
	}
	return "mw: " + e.summary() + ": " + e.Hint()
}

// summary is the item, what went wrong and the answer, without the fix:
// `secret "db": not found (agent: HTTP 400 ResourceNotFoundException, 1
// attempt in 3ms)`.
func (e *FetchError) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (", e.subject(), e.what())
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if a := e.answer(); a != "" {
		b.WriteString(a)
		b.WriteString("; ")
	}
	fmt.Fprintf(&b, "%d attempt", e.Attempts)
	if e.Attempts != 1 {
		b.WriteString("s")
	}
	fmt.Fprintf(&b, " in %s)", e.Elapsed.Round(time.Millisecond))
	if e.Stale > 0 {
		fmt.Fprintf(&b, "; its last good value is %s past its TTL", e.Stale.Round(time.Second))
	}
	return b.String()
}

// answer describes what came back: "HTTP 400 ResourceNotFoundException",
// and the cause when it says more.
func (e *FetchError) answer() string {
	var parts []string
	if e.Status != 0 {
		parts = append(parts, fmt.Sprintf("HTTP %d", e.Status))
	}
	if e.Code != "" {
		parts = append(parts, e.Code)
	}
	s := strings.Join(parts, " ")
	cause := e.Err
	var se *SourceError
	if errors.As(cause, &se) {
		cause = se.Err
	}
	if cause != nil {
		if s != "" {
			s += ": "
		}
		s += cause.Error()
	}
	return s
}

// subject names the item: `secret "db" (prod/db, stage AWSPREVIOUS)`.
func (e *FetchError) subject() string {
	ref := e.ref
	if ref == "" {
		ref = e.Alias
	}
	if ref == "" {
		ref = e.Name
	}
	return subject(e.Kind, ref, e.Name, e.Version)
}

// subject names an item of kind k by what handlers read it by (ref: its
// alias, or its name; an AppConfig profile's name), then what it fetches
// when that says more, and its version: `secret "db" (prod/db, stage
// AWSPREVIOUS)`, `appconfig "flags" (orders/prod/flags)`.
func subject(k Kind, ref, name, version string) string {
	var extra []string
	if name != ref {
		extra = append(extra, name)
	}
	if version != "" {
		extra = append(extra, version)
	}
	s := fmt.Sprintf("%s %q", k, ref)
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return s
}

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

func (e *FetchError) what() string {
	switch e.Class {
	case ClassRejected:
		return "the extension answered its generic 400"
	case ClassNotFound:
		return "not found"
	case ClassAccessDenied:
		return "access denied"
	case ClassDecrypt:
		return "could not be decrypted"
	case ClassBadToken:
		return "token refused or missing"
	case ClassThrottled:
		return "throttled"
	case ClassServerError:
		return "the source failed"
	case ClassUnavailable:
		return "nothing answered"
	case ClassTimeout:
		return "timed out"
	case ClassCanceled:
		return "canceled"
	case ClassMalformed:
		return "unusable answer"
	case ClassConfig:
		return "misconfigured"
	case ClassPanic:
		return "the fetch panicked"
	}
	return "refused"
}

// Hint says what most likely fixes the failure, for the answer received.
func (e *FetchError) Hint() string {
	switch {
	case e == nil:
		return ""
	case e.hint != "":
		return e.hint
	}
	return classHint(e.Class, e.Kind)
}

// classHint is the fix for a failure of class c of an item of kind k, when
// the source gives none of its own.
func classHint(c Class, k Kind) string {
	switch c {
	case ClassRejected:
		return "not found or not allowed: check the name and region, and the role's permission to read it (and kms:Decrypt for a customer-managed key)"
	case ClassNotFound:
		if f := k.facts(); f != nil {
			return "check the name: " + f.notFound
		}
	case ClassAccessDenied:
		return fmt.Sprintf("allow the read of this %s in the function's execution role", k)
	case ClassDecrypt:
		return "allow kms:Decrypt on the KMS key that encrypts it, in the execution role and in the key policy"
	case ClassBadToken:
		return "check the token the source is given"
	case ClassThrottled:
		return "AWS throttled the reads: raise mw's WithTTL, or the quota"
	case ClassServerError:
		return "the source reported an internal failure: see its logs"
	case ClassUnavailable:
		return "nothing answered: is the source running and reachable?"
	case ClassTimeout:
		return "the deadline passed before the source answered: raise the function's timeout or mw's WithFetchTimeout, or look for a hung source"
	case ClassCanceled:
		return "the invoke's context was canceled before the item was fetched: nothing to fix in mw"
	case ClassMalformed:
		return "the source's answer could not be used: see the cause"
	case ClassConfig:
		return "fix the setting the cause names"
	case ClassPanic:
		return "a bug in the source, its HTTP transport, or a tracer or meter: see the panic of the invoke that led the fetch"
	}
	return fmt.Sprintf("the source refused the request: check the %s's name or ARN", k)
}

// PrefetchError is the error an invoke returns when declared items could not
// be fetched. The handler did not run. It lists every failed item.
type PrefetchError struct {
	Failed   []*FetchError // in declaration order
	Declared int           // how many items were declared
}

// Error lists the failed items, each on a line of its own, with its fix on
// the next, so that it can be read at a glance:
//
//	mw: 1 of 2 declared items could not be fetched; the handler did not run
//		secret "prod/dbb": the extension answered its generic 400 (extension: HTTP 400; 1 attempt in 2ms)
//			fix: not found or not allowed: check the name and region, ...
func (e *PrefetchError) Error() string {
	if e == nil {
		return "mw: <nil *PrefetchError>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mw: %d of %d declared items could not be fetched; the handler did not run", len(e.Failed), e.Declared)
	for _, f := range e.Failed {
		b.WriteString("\n\t")
		b.WriteString(f.summary())
		b.WriteString("\n\t\tfix: ")
		b.WriteString(f.Hint())
	}
	return b.String()
}

// Unwrap returns the FetchErrors, for errors.As and errors.Is.
func (e *PrefetchError) Unwrap() []error {
	if e == nil {
		return nil
	}
	errs := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		errs[i] = f
	}
	return errs
}

// A DeclarationError is a declaration mw cannot serve, found before
// anything is fetched: an empty name, one name for two items, an item no
// source serves, a malformed endpoint or duration. Wrap panics with one
// on a mistake in code; a mistake in the environment (MW_SECRETS and the
// other MW_ entries) is the error of every invoke instead, returned before
// the handler runs and reported by Lambda with the errorType
// "DeclarationError". Its message quotes the option or the entry, with the
// fix; never a value.
type DeclarationError struct {
	msg     string
	fromEnv bool // an environment entry is involved
}

// Error returns "mw: ", what is wrong and the fix.
func (e *DeclarationError) Error() string { return "mw: " + e.msg }

// LookupError is returned by the accessors when they cannot answer: the
// context holds no values (ErrNoValues), the item was not declared
// (ErrNotDeclared), an optional item could not be fetched (ErrNotFound,
// with the *FetchError that says why), a typed accessor could not decode
// the value (ErrDecode), or the item is not of the type the accessor reads
// (ErrWrongType). Test with errors.Is and errors.As.
type LookupError struct {
	Kind  Kind
	Name  string
	Err   error       // ErrNoValues, ErrNotDeclared, ErrNotFound, or wraps ErrDecode
	Fetch *FetchError // with ErrNotFound: why the item has no value

	declaredAs Kind     // with ErrNotDeclared: the kind the name is declared as, if any
	readAs     string   // with ErrNotDeclared: how handlers read the item name spells otherwise
	partOf     []string // with ErrNotDeclared: how handlers read the profiles of the application (and environment) name is
	inTest     bool     // with ErrNotDeclared: the values are a test's (mwtest.NewContext), which lack it
	near       string   // with ErrNotDeclared: the declared name of the same kind it likely misspells
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
	// ErrWrongType means the item is not of the type the accessor reads,
	// as its source said: ParameterList of a String parameter, SecretBinary
	// of a SecretString.
	ErrWrongType = errors.New("not of the type this accessor reads")
	// ErrDecode means a typed accessor could not decode the value; the
	// error says why and where, never what the value holds.
	ErrDecode = errors.New("cannot decode the value")
)

func (e *LookupError) Error() string {
	if e == nil {
		return "mw: <nil *LookupError>"
	}
	switch e.Err {
	case ErrNotDeclared:
		if msg := e.notDeclared(); msg != "" {
			return msg
		}
	case ErrNoValues:
		return fmt.Sprintf("mw: %s %q: %v: pass the ctx your wrapped handler received (values exist only inside an invoke of a handler made by mw.Wrap)", e.Kind, e.Name, e.Err)
	case ErrNotFound:
		if e.Fetch != nil {
			return fmt.Sprintf("mw: optional %s %q has no value: %s: %s", e.Kind, e.Name, e.Fetch.summary(), e.Fetch.Hint())
		}
	}
	return fmt.Sprintf("mw: %s %q: %v", e.Kind, e.Name, e.Err)
}

// notDeclared is the message of ErrNotDeclared, with the fix for what the
// lookup found: another spelling, a likely typo, a test's values, another
// kind; "" when it found nothing to say.
func (e *LookupError) notDeclared() string {
	if e.readAs != "" {
		return fmt.Sprintf("mw: %s %q is declared, and read by %q: read it by that name", e.Kind, e.Name, e.readAs)
	}
	if len(e.partOf) > 0 {
		return fmt.Sprintf("mw: %s %q names the application (or application/environment) of declared profiles, not a profile: read a profile by its own name: %s",
			e.Kind, e.Name, quoted(e.partOf))
	}
	if e.inTest && e.near != "" {
		return fmt.Sprintf("mw: %s %q is not in this test's values, but %s %q is: check the name the handler reads "+
			"(in a Lambda, a name its mw.Wrap does not declare fails as not declared), or add it to the mwtest.Values given to mwtest.NewContext",
			e.Kind, e.Name, e.Kind, e.near)
	}
	if e.inTest {
		return fmt.Sprintf("mw: %s %q is not in this test's values: add it to the mwtest.Values given to mwtest.NewContext, "+
			"and check that the handler's mw.Wrap declares it (in a Lambda, a name it does not declare fails as not declared)", e.Kind, e.Name)
	}
	if f := e.declaredAs.facts(); f != nil {
		return fmt.Sprintf("mw: %s %q was not declared, but %s %q was: read it with mw.%s", e.Kind, e.Name, e.declaredAs, e.Name, f.accessor)
	}
	if f := e.Kind.facts(); f != nil && e.near != "" {
		return fmt.Sprintf("mw: %s %q was not declared, but %s %q was: read it by that name, or add mw.%s to mw.Wrap",
			e.Kind, e.Name, e.Kind, e.near, fmt.Sprintf(f.declare, e.Name))
	}
	if f := e.Kind.facts(); f != nil {
		return fmt.Sprintf("mw: %s %q was not declared: add mw.%s to mw.Wrap", e.Kind, e.Name, fmt.Sprintf(f.declare, e.Name))
	}
	return ""
}

// Unwrap returns Err, and Fetch when set.
func (e *LookupError) Unwrap() []error {
	switch {
	case e == nil:
		return nil
	case e.Fetch != nil:
		return []error{e.Err, e.Fetch}
	}
	return []error{e.Err}
}

// quoted is names, each quoted, separated by commas.
func quoted(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
