package mw_test

import (
	"context"
	"errors"
	"fmt"
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
