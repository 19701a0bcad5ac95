package cloudext_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// canary starts every value the tests store: no error, hint or printed
// form may hold it.
const canary = "cx-canary-"

func secret(name string) mw.Item { return mw.Item{Kind: mw.KindSecret, Name: name} }
func param(name string) mw.Item  { return mw.Item{Kind: mw.KindParameter, Name: name} }
func profile(app, env, name string) mw.Item {
	return mw.Item{Kind: mw.KindAppConfig, Application: app, Environment: env, Name: name}
}

// start serves a fake with settings s and returns it with a Source for it.
func start(t *testing.T, s cloudexttest.Settings, opts ...cloudext.Option) (*cloudexttest.Server, *cloudext.Source, string) {
	t.Helper()
	f, srv := cloudexttest.Start(t, s)
	return f, f.NewSource(srv.URL, opts...), srv.URL
}

// fetch plans items with src and fetches them in one Fetch call each op.
func fetch(t *testing.T, src *cloudext.Source, items ...mw.Item) []mw.Result {
	t.Helper()
	return fetchCtx(context.Background(), t, src, items...)
}

func fetchCtx(ctx context.Context, t *testing.T, src *cloudext.Source, items ...mw.Item) []mw.Result {
	t.Helper()
	op := ""
	for _, it := range items {
		p, err := src.Plan(it)
		if err != nil {
			t.Fatalf("Plan(%v): %v", it, err)
		}
		if op != "" && p.Op != op {
			t.Fatalf("items of two ops: %s, %s", op, p.Op)
		}
		op = p.Op
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := src.Fetch(ctx, op, items)
	if len(res) != len(items) {
		t.Fatalf("Fetch returned %d results for %d items", len(res), len(items))
	}
	for _, r := range res {
		noSecrets(t, r.Err)
	}
	return res
}

// want is what a test expects of a *mw.SourceError.
type want struct {
	class    mw.Class
	retry    bool
	notReady bool
	status   int
	code     string
	hint     []string
}

// wantFailure checks that err is a *mw.SourceError as w says.
func wantFailure(t *testing.T, what string, err error, w want) *mw.SourceError {
	t.Helper()
	se, ok := errors.AsType[*mw.SourceError](err)
	if !ok {
		t.Errorf("%s: err = %v (%T), want a *mw.SourceError", what, err, err)
		return nil
	}
	if se.Class != w.class || se.Retry != w.retry || se.NotReady != w.notReady || se.Status != w.status || se.Code != w.code {
		t.Errorf("%s: class %s retry %v notReady %v status %d code %q; want %s %v %v %d %q (%v; %s)",
			what, se.Class, se.Retry, se.NotReady, se.Status, se.Code, w.class, w.retry, w.notReady, w.status, w.code, se, se.Hint)
	}
	for _, h := range w.hint {
		if !strings.Contains(se.Hint, h) {
			t.Errorf("%s: hint %q does not say %q", what, se.Hint, h)
		}
	}
	noSecrets(t, err)
	return se
}

// noSecrets fails the test if err, printed any way, or its hint, holds a
// value or a key of the tests.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	text := fmt.Sprintf("%v|%+v|%#v|%s", err, err, err, err.Error())
	if se, ok := errors.AsType[*mw.SourceError](err); ok {
		text += "|" + se.Hint
	}
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		text += fmt.Sprintf("|%v|%+v|%#v", e, e, e)
	}
	for _, s := range []string{canary, cloudexttest.RuntimeSecretKey, cloudexttest.RuntimeSessionToken, cloudexttest.ExtensionSecretKey, ssrfToken} {
		if strings.Contains(text, s) {
			t.Errorf("an error holds a value or a key (%q): %s", s, text)
		}
	}
}

// ssrfToken is the SSRF token of the tests that set one.
const ssrfToken = "cx-ssrf-token-0123456789"
