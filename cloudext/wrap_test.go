package cloudext_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/internal/busy"
)

type event struct{}

// values is what a wrapped handler read.
type values struct{ secret, parameter, config string }

func readAll(ctx context.Context) (values, error) {
	var v values
	var err1, err2, err3 error
	v.secret, err1 = mw.Secret(ctx, "app/db")
	v.parameter, err2 = mw.Parameter(ctx, "/app/url")
	b, err3 := mw.AppConfig(ctx, "settings")
	v.config = string(b)
	return v, errors.Join(err1, err2, err3)
}

func wrapped(src mw.Source, opts ...mw.Option) func(context.Context, event) (values, error) {
	return mw.Wrap(func(ctx context.Context, _ event) (values, error) { return readAll(ctx) },
		append([]mw.Option{mw.WithoutEnvironment(), mw.WithSource(src),
			mw.WithSecrets("app/db"), mw.WithParameters("/app/url"), mw.WithAppConfig("app", "prod", "settings")}, opts...)...)
}

// A cold invoke that starts while the runtime answers 503 PROFILE_LOADING,
// then EXTENSION_LOADING, waits at mw's readiness gate and gets every
// value once the runtime serves: concurrent invokes too, beside busy
// goroutines.
func TestWrapColdStartWhileLoading(t *testing.T) {
	busy.Goroutines(t, 0)
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	stock(f)
	f.SetLoadingWindow(80*time.Millisecond, 40*time.Millisecond)
	h := wrapped(f.NewSource(srv.URL))
	want := values{canary + "v", canary + "v", canary + "v"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	ran := make([]time.Time, 8)
	for i := range ran {
		wg.Go(func() {
			got, err := h(ctx, event{})
			ran[i] = time.Now()
			if err != nil || got != want {
				t.Errorf("invoke %d: %+v, %v", i, got, err)
			}
			noSecrets(t, err)
		})
	}
	wg.Wait()
	readyAt, started := f.ReadyAt()
	st := f.Stats()
	if !started || st.NotReady == 0 {
		t.Fatalf("the invokes met no loading runtime: %+v", st)
	}
	for i, at := range ran {
		if at.Before(readyAt) {
			t.Errorf("invoke %d returned before the runtime served", i)
		}
	}
	if st.Operations["GetSecretValue"] == 0 || st.Operations["GetParameters"] == 0 || st.Operations["GetConfiguration"] == 0 {
		t.Errorf("%+v", st)
	}
	// Warm: no request.
	before := f.Requests()
	if got, err := h(ctx, event{}); err != nil || got != want {
		t.Errorf("warm: %+v, %v", got, err)
	}
	if f.Requests() != before {
		t.Error("a warm invoke sent a request")
	}
}

// A runtime that never finishes loading fails the invoke at the end of
// mw's startup window, as not ready, with the runtime's hint.
func TestWrapRuntimeNeverReady(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	stock(f)
	f.SetLoading(cloudexttest.PhaseProfileLoading)
	h := wrapped(f.NewSource(srv.URL), mw.WithStartupWindow(100*time.Millisecond), mw.WithFetchTimeout(300*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := h(ctx, event{})
	fe, ok := errors.AsType[*mw.FetchError](err)
	if !ok || fe.Source != "cloudext" || fe.Status != 503 || fe.Code != "ServiceUnavailableException" {
		t.Fatalf("%v", err)
	}
	noSecrets(t, err)
	if ctx.Err() != nil {
		t.Error("the invoke ran to its deadline")
	}
}

// A failure of a wrapped invoke names the item, the source and the fix,
// and holds no value.
func TestWrapFailureNamesTheFix(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	stock(f)
	f.Deny("app/db")
	h := wrapped(f.NewSource(srv.URL))
	_, err := h(t.Context(), event{})
	fe, ok := errors.AsType[*mw.FetchError](err)
	if !ok || fe.Name != "app/db" || fe.Class != mw.ClassAccessDenied || fe.Source != "cloudext" {
		t.Fatalf("%v", err)
	}
	for _, part := range []string{"secretsmanager:GetSecretValue", "capability secretsmanager", "AWS_CLOUDEXTENSIONS_PROFILE"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%v does not say %q", err, part)
		}
	}
	noSecrets(t, err)
	if s := fmt.Sprintf("%+v %#v", err, err); strings.Contains(s, canary) {
		t.Errorf("a value: %s", s)
	}
}

// RefreshSecret sends refreshNow, so that the extension bypasses its own
// cache.
func TestWrapRefreshSecret(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
	stock(f)
	h := mw.Wrap(func(ctx context.Context, _ event) (string, error) {
		return mw.RefreshSecret(ctx, "app/db")
	}, mw.WithoutEnvironment(), mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("app/db"))
	f.PutSecret("app/db", canary+"rotated")
	if v, err := h(t.Context(), event{}); err != nil || v != canary+"rotated" {
		t.Errorf("%q, %v", v, err)
	}
	if st := f.Stats(); st.RefreshNow != 1 {
		t.Errorf("refreshNow sent %d times; want 1", st.RefreshNow)
	}
}
