package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/mwtest"
)

// TestValuesNeverLeak sends a canary value down every path, failing and
// succeeding, and searches every error and printed form for it. (The same
// paths' spans, events, statuses and metric data points are searched in
// ../test, where the OTel SDK records them.)
func TestValuesNeverLeak(t *testing.T) {
	var seen []string
	check := func(where string, s string) {
		seen = append(seen, s)
		if strings.Contains(s, canary) || strings.Contains(s, canary[:12]) {
			t.Errorf("%s reveals the value: %s", where, s)
		}
	}
	printAll := func(where string, v any) {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			check(where+" "+f, fmt.Sprintf(f, v))
		}
	}
	for _, d := range dialects {
		w := newWorld(t, d)
		w.ext.PutSecret("good", canary)
		w.ext.PutSecret("denied", canary)
		w.ext.Deny("denied")
		w.ext.PutSecretBinary("bin", []byte(canary))
		// A 200 whose body is not JSON but holds the value.
		broken := serveWorld(t, w.ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			_, _ = rw.Write([]byte(`{"SecretString":"` + canary + `"` + "\x01"))
		}))
		wrong := serveWorld(t, w.ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			_, _ = rw.Write([]byte(`{"SecretString":` + canary + `}`))
		}))
		paths := []struct {
			name string
			h    func(context.Context, []string) (map[string]string, error)
		}{
			{"success", mw.Wrap(echo, w.opts(mw.WithSecrets("good", "bin"))...)},
			{"denied", mw.Wrap(echo, w.opts(mw.WithSecrets("good", "denied"), mw.WithStartupWindow(0))...)},
			{"malformed", mw.Wrap(echo, broken.opts(mw.WithSecrets("good"))...)},
			{"unquoted", mw.Wrap(echo, wrong.opts(mw.WithSecrets("good"))...)},
		}
		for _, p := range paths {
			ctx := invokeCtx(t, 2*time.Second)
			var inner context.Context
			h := mw.Wrap(func(c context.Context, keys []string) (map[string]string, error) {
				inner = c
				return echo(c, keys)
			}, w.opts(mw.WithSecrets("good"))...)
			if _, err := h(ctx, nil); err != nil {
				t.Fatal(err)
			}
			printAll(p.name+" handler ctx", inner)
			got, err := p.h(ctx, []string{"secret:good"})
			if p.name == "success" {
				if err != nil || got["secret:good"] != canary {
					t.Fatalf("success path: %v", err)
				}
				continue
			}
			if err == nil {
				t.Fatalf("%s: want an error", p.name)
			}
			printAll(p.name+" error", err)
			var pe *mw.PrefetchError
			if errors.As(err, &pe) {
				printAll(p.name+" *PrefetchError", *pe)
				for _, f := range pe.Failed {
					printAll(p.name+" *FetchError", *f)
					check(p.name+" hint", f.Hint())
				}
			}
		}
	}
	printAll("mwtest context", mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"x": canary}}))
	printAll("option", mw.WithSecrets("x"))
	if len(seen) < 50 {
		t.Fatalf("only %d outputs searched: the test lost its paths", len(seen))
	}
}

func TestCanaryNeverLeaksFromLifecyclePaths(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("s", canary)
	clk := newClock()
	var printed []string
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		v, err := mw.RefreshSecret(ctx, "s")
		printed = append(printed, fmt.Sprintf("%v %+v %#v", ctx, err, resolvedHolder(ctx)))
		_, err = mw.Secret(ctx, "optional")
		printed = append(printed, fmt.Sprintf("%v %+v", err, err))
		return fmt.Sprint(len(v)), nil
	}, w.opts(mw.WithSecrets("s"), mw.WithSecret("optional", mw.Optional()), mw.WithSecretsManagerAgent(), withClock(clk), mw.WithTTL(time.Minute))...)
	if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	// Stale: the refresh fails, the canary is served stale.
	w.ext.Deny("s")
	clk.Advance(2 * time.Minute)
	if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil {
		printed = append(printed, err.Error())
	}
	// Beyond the bound: an error.
	clk.Advance(2 * time.Hour)
	_, err := h(invokeCtx(t, 5*time.Second), 0)
	if err == nil {
		t.Fatal("want an error beyond the stale bound")
	}
	printed = append(printed, fmt.Sprintf("%v %+v %#v", err, err, err))
	// (The spans of these paths are searched in ../test.)
	for _, p := range printed {
		if strings.Contains(p, canary) {
			t.Errorf("leaked: %s", p)
		}
	}
	if len(printed) < 5 {
		t.Fatalf("only %d outputs searched", len(printed))
	}
}

// resolvedHolder is the innermost Wrap's values in ctx.
func resolvedHolder(ctx context.Context) any {
	h, _ := resolved.Next(ctx)
	return h
}
