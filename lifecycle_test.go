package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

func TestPerItemTTLOverridesTheDefault(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("short", "s1")
	w.ext.PutSecret("long", "l1")
	clk := newClock()
	h := mw.Wrap(echo, w.opts(mw.WithSecret("short", mw.TTL(10*time.Second)), mw.WithSecrets("long"), mw.WithTTL(time.Minute), withClock(clk))...)
	keys := []string{"secret:short", "secret:long"}
	if _, err := h(invokeCtx(t, 5*time.Second), keys); err != nil {
		t.Fatal(err)
	}
	w.ext.PutSecret("short", "s2")
	w.ext.PutSecret("long", "l2")
	clk.Advance(15 * time.Second)
	got, err := h(invokeCtx(t, 5*time.Second), keys)
	if err != nil {
		t.Fatal(err)
	}
	if got["secret:short"] != "s2" || got["secret:long"] != "l1" {
		t.Errorf("after 15 s: %v; want short refreshed (s2), long cached (l1)", got)
	}
	if w.ext.Fetches("short") != 2 || w.ext.Fetches("long") != 1 {
		t.Errorf("fetches short=%d long=%d; want 2, 1", w.ext.Fetches("short"), w.ext.Fetches("long"))
	}
}

func TestRefreshAheadRunsBesideTheHandlerAndEndsWithTheInvoke(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v1")
	handlerRan := make(chan struct{})
	var once sync.Once
	gate := false
	var mu sync.Mutex
	gated := func() (bool, error) { mu.Lock(); defer mu.Unlock(); return gate, nil }
	// Once gated, the extension answers only after the handler has run: if
	// mw waited for the refresh before the handler, the invoke would hang.
	w = serveWorld(t, w.ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		g := gate
		mu.Unlock()
		if g {
			select {
			case <-handlerRan:
			case <-r.Context().Done():
				return
			}
		}
		w.ext.ServeHTTP(rw, r)
	}))
	clk := newClock()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		v, err := mw.Secret(ctx, "s")
		if g, _ := gated(); g {
			once.Do(func() { close(handlerRan) }) // the refresh may answer now
		}
		return v, err
	}, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), mw.WithRefreshAhead(10*time.Second), withClock(clk))...)
	if _, err := h(invokeCtx(t, 5*time.Second), struct{}{}); err != nil {
		t.Fatal(err)
	}
	w.ext.PutSecret("s", "v2")
	clk.Advance(55 * time.Second) // within 10 s of expiry
	mu.Lock()
	gate = true
	mu.Unlock()
	got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
	if err != nil || got != "v1" {
		t.Fatalf("invoke in the ahead window: %q, %v; want v1 at once", got, err)
	}
	// The invoke returned only after its background refresh ended.
	if n := w.ext.Fetches("s"); n != 2 {
		t.Fatalf("%d fetches when the invoke returned; want the refresh done (2)", n)
	}
	clk.Advance(time.Second)
	if got, _ := h(invokeCtx(t, 5*time.Second), struct{}{}); got != "v2" {
		t.Errorf("next invoke: %q; want the refreshed v2", got)
	}
	if n := w.ext.Fetches("s"); n != 2 {
		t.Errorf("%d fetches; the next invoke should hit", n)
	}
}

func TestStaleIfError(t *testing.T) {
	setup := func(t *testing.T, opts ...mw.Option) (*world, *clock, func(context.Context, []string) (map[string]string, error)) {
		w := newWorld(t, mwtest.Managed)
		w.ext.PutSecret("s", "good")
		clk := newClock()
		h := mw.Wrap(echo, w.opts(append([]mw.Option{mw.WithSecrets("s"), mw.WithTTL(time.Minute), withClock(clk)}, opts...)...)...)
		if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
			t.Fatal(err)
		}
		return w, clk, h
	}
	t.Run("served within the bound, and said so", func(t *testing.T) {
		w, clk, h := setup(t, mw.WithMaxStale(10*time.Minute))
		w.ext.SetFaults(mwtest.Faults{ServerError: 1})
		clk.Advance(2 * time.Minute)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "good" {
			t.Fatalf("got %v, %v; want the last good value", got, err)
		}
		// (The span says a stale value was served: ../test.)
		// The last good value survives repeated failures (Middy #660).
		for range 2 {
			clk.Advance(mw.RetryFailedAfter)
			if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "good" {
				t.Fatalf("after more failures: %v, %v", got, err)
			}
		}
		w.ext.SetFaults(mwtest.Faults{})
		w.ext.PutSecret("s", "new")
		clk.Advance(mw.RetryFailedAfter)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "new" {
			t.Fatalf("after recovery: %v, %v; want the new value", got, err)
		}
	})
	t.Run("fails beyond the bound", func(t *testing.T) {
		w, clk, h := setup(t, mw.WithMaxStale(10*time.Minute))
		w.ext.SetFaults(mwtest.Faults{ServerError: 1})
		clk.Advance(time.Minute + 11*time.Minute)
		_, err := h(invokeCtx(t, time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Stale != 11*time.Minute || !strings.Contains(err.Error(), "past its TTL") {
			t.Errorf("Stale = %v, error %q; want 11m past its TTL", fe.Stale, err)
		}
	})
	t.Run("a hung refresh costs at most the stale budget", func(t *testing.T) {
		w, clk, h := setup(t)
		w.ext.SetHang(true)
		clk.Advance(2 * time.Minute)
		start := time.Now()
		got, err := h(invokeCtx(t, 10*time.Second), []string{"secret:s"})
		if err != nil || got["secret:s"] != "good" {
			t.Fatalf("got %v, %v", got, err)
		}
		if el := time.Since(start); el > mw.StaleBudget+2*time.Second {
			t.Errorf("held %v for a refresh with a stale value in hand", el)
		}
	})
}

func TestRefreshSecret(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("prod/db", "old")
			opts := w.opts(mw.WithSecrets("prod/db"))
			if d == mwtest.Agent {
				opts = append(opts, mw.WithSecretsManagerAgent())
			}
			clk := newClock()
			opts = append(opts, withClock(clk))
			resolved, rotated := make(chan struct{}), make(chan struct{})
			h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
				close(resolved)
				<-rotated
				if v, _ := mw.Secret(ctx, "prod/db"); v != "old" {
					return "", fmt.Errorf("before the refresh: %q", v)
				}
				if _, err := mw.RefreshSecret(ctx, "prod/db"); err != nil {
					return "", err
				}
				return mw.Secret(ctx, "prod/db") // the same ctx sees the new value
			}, opts...)
			// The first invoke resolves, then the secret rotates.
			go func() {
				<-resolved
				w.ext.PutSecret("prod/db", "new")
				close(rotated)
			}()
			got, err := h(invokeCtx(t, 5*time.Second), 0)
			if err != nil || got != "new" {
				t.Fatalf("got %q, %v; want new", got, err)
			}
			wantRefreshNow := int64(0)
			if d == mwtest.Agent {
				wantRefreshNow = 1
			}
			if n := w.ext.Stats().RefreshNow; n != wantRefreshNow {
				t.Errorf("%d refreshNow requests; want %d", n, wantRefreshNow)
			}
		})
	}
}

func TestOptionalItems(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("present", "p")
			h := mw.Wrap(func(ctx context.Context, _ int) ([]string, error) {
				a, errA := mw.Secret(ctx, "missing")
				b, errB := mw.Secret(ctx, "defaulted")
				c, errC := mw.Secret(ctx, "present")
				var le *mw.LookupError
				var fe *mw.FetchError
				if !errors.Is(errA, mw.ErrNotFound) || !errors.As(errA, &le) || !errors.As(errA, &fe) || le.Name != "missing" {
					return nil, fmt.Errorf("optional without default: %q, %v", a, errA)
				}
				return []string{b, c, fe.Name}, errors.Join(errB, errC)
			}, w.opts(mw.WithSecret("missing", mw.Optional()), mw.WithSecret("defaulted", mw.Default("fallback")), mw.WithSecrets("present"), mw.WithStartupWindow(0))...)
			got, err := h(invokeCtx(t, 5*time.Second), 0)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != "[fallback p missing]" {
				t.Errorf("got %v", got)
			}
			// (mw.optional.absent_items on the span: ../test.)
		})
	}
}

// RefreshSecret returns the value it fetched, even while another declared
// item has just failed for good (its refresh failed, and WithMaxStale(0)
// serves no stale value), so that no new set of values can be published.
func TestRefreshSecretReturnsItsNewValueWhileAnotherItemFails(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("a", "a1")
	w.ext.PutSecret("b", "b1")
	c := newClock()
	release := make(chan struct{})
	inHandler := make(chan struct{})
	h := mw.Wrap(func(ctx context.Context, refresh bool) (string, error) {
		if !refresh {
			return "", nil
		}
		close(inHandler)
		<-release
		return mw.RefreshSecret(ctx, "a")
	}, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecret("a", mw.TTL(time.Hour)), mw.WithSecret("b", mw.TTL(time.Minute)),
		mw.WithMaxStale(0), withClock(c))...)
	if _, err := h(invokeCtx(t, 5*time.Second), false); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		v, err := h(invokeCtx(t, 5*time.Second), true)
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	<-inHandler
	c.Advance(2 * time.Minute) // b expires
	w.ext.Deny("b")
	if _, err := h(invokeCtx(t, 5*time.Second), false); err == nil {
		t.Fatal("b's refresh failed, with no stale value to serve: want the invoke to fail")
	}
	w.ext.PutSecret("a", "a2")
	close(release)
	if v := <-got; v != "a2" {
		t.Errorf("RefreshSecret returned %q with no error; want the value it fetched, a2", v)
	}
}
