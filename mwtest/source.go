package mwtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/lambda-mw/mw"
)

// Source returns an mw.Source that reads the fake's own values directly,
// with no HTTP in between, whatever the fake's dialect: every kind of item
// mw declares, parameters (versions, labels, selectors, StringList,
// /aws/reference/secretsmanager/), secrets (VersionId, VersionStage,
// binary), AppConfig profiles, and what no local server serves: parameter
// trees (mw.KindParametersByPath, as ssm:GetParametersByPath lists them:
// every parameter under the path, recursively, at its latest version,
// decrypted) and items read as another role (mw.RoleARN: what
// PutRoleSecret and PutRoleParameter stored for it; an AppConfig profile
// is read as the function's own role only). A function that reads some
// items through another source than the extension so has a test without
// AWS:
//
//	ext, srv := mwtest.Start(t, mwtest.Managed)
//	ext.PutSecret("prod/db", "pw")
//	ext.PutParameter("/app/prod/url", mwtest.TypeString, "https://example.com")
//	h := mw.Wrap(handler, append(ext.Options(srv.URL),
//		mw.WithSecrets("prod/db"),                                   // over HTTP
//		mw.WithParametersByPath("/app/prod", mw.From(ext.Source())), // from the store
//	)...)
//
// Its calls meet what the fake does to value requests, by the item's name
// (an AppConfig profile's application/environment/profile): SetHang,
// SetLatency, readiness (an item asked for while the fake is not ready
// fails with mw.SourceError.NotReady set, and mw waits for readiness as it
// does for the extension), Faults and FailNext, Close. They count in Stats
// as value requests do (Fetches, ByName, Served, ByError, RefreshNow,
// WithRole, NotReady, Faults, Hung, Abandoned), not in Total, ByPath or
// ByStatus, which count HTTP requests.
//
// A result carries the item's type as the extension's answer names it
// (String, StringList, SecureString; SecretString, SecretBinary), so that
// mw.ParameterList and mw.SecretBinary refuse another, as they do over
// HTTP. A failure is an *mw.SourceError with the class, the AWS error code
// and the HTTP status the agent dialect would answer, and a hint that
// names the method of the fake that made it.
//
// Source returns an equal value on every call, so that mw.From(ext.Source())
// in two declarations is one source. Its Name is "mwtest".
func (e *Extension) Source() mw.Source { return source{e} }

// source is the fake's store as an mw.Source.
type source struct{ e *Extension }

// The calls of the fake's Source, named for the AWS calls they stand in
// for: one item a call.
const (
	sourceGetParameter        = "GetParameter"
	sourceGetSecretValue      = "GetSecretValue"
	sourceGetParametersByPath = "GetParametersByPath"
	sourceGetConfiguration    = "GetConfiguration"
)

func (source) Name() string { return "mwtest" }

// Plan serves every kind mw declares, one item a call; an AppConfig
// profile read as a role is refused.
func (source) Plan(it mw.Item) (mw.Plan, error) {
	switch it.Kind {
	case mw.KindParameter:
		return mw.Plan{Op: sourceGetParameter, Batch: 1}, nil
	case mw.KindSecret:
		return mw.Plan{Op: sourceGetSecretValue, Batch: 1}, nil
	case mw.KindParametersByPath:
		return mw.Plan{Op: sourceGetParametersByPath, Batch: 1}, nil
	case mw.KindAppConfig:
		if it.RoleARN != "" {
			return mw.Plan{}, fmt.Errorf("mwtest: %v: the fake reads AppConfig profiles as the function's own role only, "+
				"as the AWS AppConfig Agent and Cloud Extensions do: drop RoleARN", it)
		}
		return mw.Plan{Op: sourceGetConfiguration, Batch: 1}, nil
	}
	return mw.Plan{}, fmt.Errorf("mwtest: %v: %w", it, mw.ErrNotServed)
}

// Fetch reads each item in turn.
func (s source) Fetch(ctx context.Context, _ string, items []mw.Item) []mw.Result {
	out := make([]mw.Result, len(items))
	for i, it := range items {
		out[i] = s.e.sourceFetch(ctx, it)
	}
	return out
}

// sourceName is what FailNext and Stats know it by.
func sourceName(it mw.Item) string {
	if it.Kind == mw.KindAppConfig {
		return configKey{it.Application, it.Environment, it.Name}.name()
	}
	return it.Name
}

// sourceFetch reads one item as a value request would: counted, held,
// delayed, not ready or faulted as the fake says, then read from the
// store.
func (e *Extension) sourceFetch(ctx context.Context, it mw.Item) mw.Result {
	name := sourceName(it)
	release, latency := e.countFetch(name, it.Refresh)
	switch e.waitFor(ctx.Done(), release, latency) {
	case abandoned:
		return mw.Result{Err: contextError(ctx)}
	case shutDown:
		return mw.Result{Err: closedError()}
	}
	if e.closed() {
		return mw.Result{Err: closedError()}
	}
	notReady, f := e.gate(name)
	if notReady {
		e.count(func(s *Stats) { s.NotReady++ })
		return mw.Result{Err: &mw.SourceError{Class: mw.ClassUnavailable, NotReady: true, Status: http.StatusServiceUnavailable,
			Err: errors.New("the fake is not ready"), Hint: "the fake is not serving yet (SetReady, NotReadyFor)"}}
	}
	if f != noFault {
		return mw.Result{Err: faultError(f)}
	}
	if it.RoleARN != "" {
		e.count(func(s *Stats) { s.WithRole++ })
	}
	r, fl := e.read(it)
	if fl != nil {
		e.count(func(s *Stats) { s.ByError[fl.code]++ })
		return mw.Result{Err: failureError(it, fl)}
	}
	e.countServed(name)
	return r
}

// read reads the item from the store its role reads.
func (e *Extension) read(it mw.Item) (mw.Result, *failure) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, f := e.storeAs(it.RoleARN)
	if f != nil {
		return mw.Result{}, f
	}
	switch it.Kind {
	case mw.KindParameter:
		if it.Version != 0 && it.Label != "" {
			return mw.Result{}, invalid("version and label are exclusive")
		}
		p, f := st.getParameter(it.Name, it.Version, it.Label, true)
		if f != nil {
			return mw.Result{}, f
		}
		if p.binary {
			return mw.Result{Value: string(p.bin), Type: "SecretBinary"}, nil
		}
		return mw.Result{Value: p.value, Type: p.typ}, nil
	case mw.KindSecret:
		_, v, f := st.getSecret(it.Name, it.VersionID, it.VersionStage)
		if f != nil {
			return mw.Result{}, f
		}
		if v.bin != nil {
			return mw.Result{Value: string(v.bin), Type: "SecretBinary"}, nil
		}
		return mw.Result{Value: v.str, Type: "SecretString"}, nil
	case mw.KindParametersByPath:
		values, f := st.listPath(it.Name)
		if f != nil {
			return mw.Result{}, f
		}
		return mw.Result{Values: values}, nil
	}
	p, version, f := st.getConfiguration(configKey{it.Application, it.Environment, it.Name})
	if f != nil {
		return mw.Result{}, f
	}
	return mw.Result{Value: string(p.versions[version-1].content)}, nil
}

// failureError is an AWS error answer for it as a SourceError: the class
// of its code, the status the agent would answer it with, and what in the
// fake made it.
func failureError(it mw.Item, f *failure) *mw.SourceError {
	se := &mw.SourceError{Status: f.httpStatus(), Code: f.code, Err: errors.New(f.code + ": " + f.msg)}
	switch f.code {
	case codeParameterNotFound, codeParameterVersion, codeResourceNotFound:
		se.Class = mw.ClassNotFound
		se.Hint = "the fake holds no such item or version: store it with PutParameter, PutSecret or PutConfiguration"
		if it.RoleARN != "" {
			se.Hint = "the fake holds no such item or version for the role: store it with PutRoleSecret or PutRoleParameter"
		}
	case codeAccessDenied:
		se.Class = mw.ClassAccessDenied
		se.Hint = "the fake denies it (Deny, DenyConfiguration)"
		if f.status == http.StatusForbidden {
			se.Hint = "the fake was given nothing to read as " + it.RoleARN + " (PutRoleSecret, PutRoleParameter), so it cannot take the role on, " +
				"as sts:AssumeRole fails for a role that does not trust the caller"
		}
	case codeDecryptionFailure:
		se.Class = mw.ClassDecrypt
		se.Hint = "the fake denies decrypting it (DenyDecrypt)"
	default:
		se.Class = mw.ClassOther
		se.Hint = "the fake refused the request (" + f.code + "): check the item's name and version"
	}
	return se
}

// faultError is the failure of a call that drew fault f.
func faultError(f fault) *mw.SourceError {
	switch f {
	case faultThrottle:
		return &mw.SourceError{Class: mw.ClassThrottled, Retry: true, Status: http.StatusTooManyRequests, Code: codeThrottling,
			Err: errors.New("rate exceeded"), Hint: "the fake throttled it (Faults.Throttle, FailNext)"}
	case faultServerError:
		return &mw.SourceError{Class: mw.ClassServerError, Retry: true, Status: http.StatusInternalServerError, Code: codeInternalFailure,
			Err: errors.New(codeInternalFailure), Hint: "the fake failed inside (Faults.ServerError, FailNext)"}
	case faultMalformed:
		return &mw.SourceError{Class: mw.ClassMalformed, Status: http.StatusOK,
			Err: errors.New("an answer that is not the documented JSON"), Hint: "the fake garbled its answer (FailNext with FaultMalformed)"}
	}
	return &mw.SourceError{Class: mw.ClassUnavailable, Retry: true,
		Err: errors.New("the connection was reset"), Hint: "the fake dropped the call (Faults.Reset, FailNext)"}
}

// closedError is the failure of a call after Close.
func closedError() *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassServerError, Retry: true, Status: http.StatusServiceUnavailable,
		Err: errors.New(ClosedError), Hint: "the fake was closed (Close)"}
}

// contextError is the failure of a call whose context ended while the fake
// held it.
func contextError(ctx context.Context) *mw.SourceError {
	class := mw.ClassTimeout
	if errors.Is(ctx.Err(), context.Canceled) {
		class = mw.ClassCanceled
	}
	return &mw.SourceError{Class: class, Err: ctx.Err(), Hint: "the call's context ended while the fake held it (SetHang, SetLatency)"}
}
