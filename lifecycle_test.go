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
