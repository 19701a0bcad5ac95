package mwtest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The fake's Source passes the conformance suite of sources, every kind
// and roles included, in each dialect: it reads the store, whatever the
// dialect serves over HTTP.
func TestSourceConforms(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent, mwtest.AppConfig} {
		t.Run(d.String(), func(t *testing.T) {
			mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
				ext := mwtest.New(d)
				t.Cleanup(ext.Close)
				return ext.Source(), ext
			})
		})
	}
}

// A wrapped handler that reads secrets through the fake over HTTP and a
// tree through its Source: every value, the tree from the store (no HTTP
// request names it), the secrets over HTTP, each counted where it went.
// Source returns one source on every call, so two declarations through
// it are one.
func TestWrappedHandlerWithATreeFromTheSource(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutSecret("prod/db", "pw")
	ext.PutSecret("prod/api", "key")
	ext.PutParameter("/app/prod/url", mwtest.TypeString, "https://example.com")
	ext.PutParameter("/app/prod/limits/max", mwtest.TypeSecureString, "5")
	ext.PutParameter("/app/prod-like/x", mwtest.TypeString, "not under /app/prod")
	ext.PutParameter("/app/prod/url", mwtest.TypeString, "https://example.com/v2")
	type out struct {
		db, api, url string
		tree         map[string]string
	}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (out, error) {
		var o out
		var errs [4]error
		o.db, errs[0] = mw.Secret(ctx, "prod/db")
		o.api, errs[1] = mw.Secret(ctx, "prod/api")
		o.url, errs[2] = mw.Parameter(ctx, "/app/prod/url")
		o.tree, errs[3] = mw.ParametersByPath(ctx, "/app/prod")
		return o, errors.Join(errs[:]...)
	}, append(ext.Options(srv.URL),
		mw.WithSecrets("prod/db", "prod/api"),
		mw.WithParametersByPath("/app/prod", mw.From(ext.Source())),
		mw.WithParametersByPath("/app/prod", mw.From(ext.Source())),
	)...)
	for range 2 {
		got, err := h(invoke(t), struct{}{})
		want := map[string]string{"/app/prod/url": "https://example.com/v2", "/app/prod/limits/max": "5"}
		if err != nil || got.db != "pw" || got.api != "key" || got.url != "https://example.com/v2" || !maps.Equal(got.tree, want) {
			t.Fatalf("got %+v, %v", got, err)
		}
	}
	st := ext.Stats()
	if st.Total != 2 || st.ByPath["/secretsmanager/get"] != 2 || st.ByPath["/systemsmanager/parameters/get"] != 0 {
		t.Errorf("HTTP: %d requests, by path %v; want the two secrets alone", st.Total, st.ByPath)
	}
	if st.Fetches != 3 || ext.Fetches("/app/prod") != 1 || ext.Served("/app/prod") != 1 {
		t.Errorf("%d fetches, the tree fetched %d times and served %d; want 3, 1, 1", st.Fetches, ext.Fetches("/app/prod"), ext.Served("/app/prod"))
	}
}

func invoke(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// What the fake does to value requests it does to the Source's calls: not
// ready (and mw waits for readiness, as for the extension), faults (and mw
// retries them), counted in Stats.
func TestSourceMeetsReadinessAndFaults(t *testing.T) {
	ext := mwtest.New(mwtest.Managed)
	t.Cleanup(ext.Close)
	ext.PutParameter("/app/prod/url", mwtest.TypeString, "u")
	ext.NotReadyFor(2)
	ext.FailNext("/app/prod", mwtest.FaultThrottle, 1)
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (map[string]string, error) {
		return mw.ParametersByPath(ctx, "/app/prod")
	}, mw.WithoutEnvironment(), mw.WithParametersByPath("/app/prod", mw.From(ext.Source())))
	got, err := h(invoke(t), struct{}{})
	if err != nil || got["/app/prod/url"] != "u" {
		t.Fatalf("got %v, %v", got, err)
	}
	st := ext.Stats()
	if st.NotReady != 2 || st.Faults.Throttle != 1 || st.Fetches != 4 || ext.Served("/app/prod") != 1 || st.Total != 0 {
		t.Errorf("not ready %d, throttled %d, fetches %d, served %d, HTTP requests %d; want 2, 1, 4, 1, 0",
			st.NotReady, st.Faults.Throttle, st.Fetches, ext.Served("/app/prod"), st.Total)
	}
}

// Each answer the Source can give, as a SourceError: class, status and
// code, as the agent dialect would answer; and no value in any of them.
func TestSourceErrors(t *testing.T) {
	ext := mwtest.New(mwtest.Agent)
	t.Cleanup(ext.Close)
	const canary = "canary-value"
	ext.PutSecret("s", canary)
	ext.PutSecret("denied", canary)
	ext.Deny("denied")
	ext.PutSecret("no-key", canary)
	ext.DenyDecrypt("no-key")
	ext.PutParameter("/tree/secure", mwtest.TypeSecureString, canary)
	ext.DenyDecrypt("/tree/secure")
	ext.PutRoleSecret(roleA, "other", canary)
	src := ext.Source()
	for _, tc := range []struct {
		it     mw.Item
		setup  func()
		class  mw.Class
		retry  bool
		status int
		code   string
	}{
		{it: mw.Item{Kind: mw.KindSecret, Name: "missing"}, class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", VersionStage: "AWSPENDING"}, class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "denied"}, class: mw.ClassAccessDenied, status: 400, code: "AccessDeniedException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "no-key"}, class: mw.ClassDecrypt, status: 400, code: "DecryptionFailure"},
		{it: mw.Item{Kind: mw.KindParametersByPath, Name: "/tree"}, class: mw.ClassDecrypt, status: 400, code: "DecryptionFailure"},
		{it: mw.Item{Kind: mw.KindParametersByPath, Name: "tree"}, class: mw.ClassOther, status: 400, code: "ValidationException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", RoleARN: roleB}, class: mw.ClassAccessDenied, status: 403, code: "AccessDeniedException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", RoleARN: roleA}, class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException"},
		{it: mw.Item{Kind: mw.KindAppConfig, Application: "a", Environment: "e", Name: "p"}, class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s"}, setup: func() { ext.FailNext("s", mwtest.FaultServerError, 1) }, class: mw.ClassServerError, retry: true, status: 500, code: "InternalFailure"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s"}, setup: func() { ext.FailNext("s", mwtest.FaultMalformed, 1) }, class: mw.ClassMalformed, status: 200},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s"}, setup: func() { ext.FailNext("s", mwtest.FaultReset, 1) }, class: mw.ClassUnavailable, retry: true},
	} {
		if tc.setup != nil {
			tc.setup()
		}
		r := src.Fetch(invoke(t), "", []mw.Item{tc.it})[0]
		var se *mw.SourceError
		if !errors.As(r.Err, &se) || r.Value != "" {
			t.Errorf("%v: %q, %v; want a *mw.SourceError", tc.it, r.Value, r.Err)
			continue
		}
		if se.Class != tc.class || se.Retry != tc.retry || se.Status != tc.status || se.Code != tc.code || se.Hint == "" {
			t.Errorf("%v: %s retry %v status %d code %q hint %q; want %s %v %d %q", tc.it, se.Class, se.Retry, se.Status, se.Code, se.Hint,
				tc.class, tc.retry, tc.status, tc.code)
		}
		if s := fmt.Sprintf("%v %+v %#v %s", se, se, se, se.Hint); strings.Contains(s, canary) {
			t.Errorf("%v: the error says the value: %s", tc.it, s)
		}
	}
	if _, err := src.Plan(mw.Item{Kind: mw.KindAppConfig, Application: "a", Environment: "e", Name: "p", RoleARN: roleA}); err == nil ||
		!strings.Contains(err.Error(), roleA) {
		t.Errorf("Plan of a profile as a role: %v; want a refusal naming the role", err)
	}
}

// A call held by SetHang returns when its context ends, counted as
// abandoned; after Close, every call fails.
func TestSourceHangAndClose(t *testing.T) {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("s", "v")
	src := ext.Source()
	ext.SetHang(true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan mw.Result, 1)
	go func() { done <- src.Fetch(ctx, "", []mw.Item{{Kind: mw.KindSecret, Name: "s"}})[0] }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if !ext.WaitHanging(wctx.Done(), 1) {
		t.Fatal("the call was never held")
	}
	cancel()
	var se *mw.SourceError
	if r := <-done; !errors.As(r.Err, &se) || se.Class != mw.ClassCanceled {
		t.Errorf("the held call: %q, %v; want canceled", r.Value, r.Err)
	}
	if st := ext.Stats(); st.Hung != 1 || st.Abandoned != 1 {
		t.Errorf("hung %d, abandoned %d; want 1, 1", st.Hung, st.Abandoned)
	}
	ext.SetHang(false)
	ext.Close()
	if r := src.Fetch(invoke(t), "", []mw.Item{{Kind: mw.KindSecret, Name: "s"}})[0]; !errors.As(r.Err, &se) || se.Class != mw.ClassServerError || r.Value != "" {
		t.Errorf("after Close: %q, %v; want a server error", r.Value, r.Err)
	}
}

// Results carry the item's type, as the extension's answers do: the typed
// accessors refuse an item of another type read through the Source.
func TestSourceTypes(t *testing.T) {
	ext := mwtest.New(mwtest.Managed)
	t.Cleanup(ext.Close)
	ext.PutParameter("/s", mwtest.TypeString, "a,b")
	ext.PutParameter("/l", mwtest.TypeStringList, "a,b")
	ext.PutParameter("/x", mwtest.TypeSecureString, "x")
	ext.PutSecret("str", "v")
	ext.PutSecretBinary("bin", []byte{0, 1})
	src := ext.Source()
	for _, tc := range []struct {
		it   mw.Item
		want string
	}{
		{mw.Item{Kind: mw.KindParameter, Name: "/s"}, "String"},
		{mw.Item{Kind: mw.KindParameter, Name: "/l"}, "StringList"},
		{mw.Item{Kind: mw.KindParameter, Name: "/x"}, "SecureString"},
		{mw.Item{Kind: mw.KindParameter, Name: "/aws/reference/secretsmanager/str"}, "SecureString"},
		{mw.Item{Kind: mw.KindParameter, Name: "/aws/reference/secretsmanager/bin"}, "SecretBinary"},
		{mw.Item{Kind: mw.KindSecret, Name: "str"}, "SecretString"},
		{mw.Item{Kind: mw.KindSecret, Name: "bin"}, "SecretBinary"},
	} {
		if r := src.Fetch(invoke(t), "", []mw.Item{tc.it})[0]; r.Err != nil || r.Type != tc.want {
			t.Errorf("%v: type %q, %v; want %q", tc.it, r.Type, r.Err, tc.want)
		}
	}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]string, error) {
		return mw.ParameterList(ctx, "/s")
	}, mw.WithoutEnvironment(), mw.WithParameter("/s", mw.From(src)))
	if _, err := h(invoke(t), struct{}{}); !errors.Is(err, mw.ErrWrongType) {
		t.Errorf("ParameterList of a String parameter: %v; want ErrWrongType", err)
	}
}
