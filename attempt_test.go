package mw_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/mwtest"
)

// The fault matrix rows not covered next to the behaviour they break:
// each asserts the outcome (value served, clear error, deadline held).

func TestInitPhase400BurstIsRiddenOut(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		w.ext.PutSecret(id, "v-"+id)
	}
	w.ext.PutParameter("/p", "SecureString", "pv")
	w.ext.NotReadyFor(12) // a burst: several 400s for every item
	h := mw.Wrap(echo, w.opts(mw.WithSecrets(ids...), mw.WithParameters("/p"))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:a", "secret:c", "parameter:/p"})
	if err != nil || got["secret:a"] != "v-a" || got["secret:c"] != "v-c" || got["parameter:/p"] != "pv" {
		t.Fatalf("got %v, %v", got, err)
	}
	if st := w.ext.Stats(); st.NotReady != 12 {
		t.Errorf("%d not-ready answers; want the whole burst of 12 met", st.NotReady)
	}
}

func Test1000ConcurrentColdInvokesFetchEachItemOnce(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		w.ext.PutSecret(id, "v-"+id)
	}
	w.ext.SetLatency(10 * time.Millisecond)
	h := mw.Wrap(echo, w.opts(mw.WithSecrets(ids...))...)
	const n = 1000
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			got, err := h(invokeCtx(t, 10*time.Second), []string{"secret:e"})
			if err == nil && got["secret:e"] != "v-e" {
				err = fmt.Errorf("wrong value")
			}
			errs <- err
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		if got := w.ext.Fetches(id); got != 1 {
			t.Errorf("%s fetched %d times by %d cold invokes; want 1", id, got, n)
		}
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

func resolvedHolder(ctx context.Context) any { return resolved.FromContext(ctx) }

// A probe that shows the extension serving may bring an answer to retry,
// such as a 500 or AWS's throttling: the item is retried, on its backoff,
// and is never served without a value (the storm simulation, tools/storm,
// once served empty values this way).
func TestProbeAnswerToRetryIsRetried(t *testing.T) {
	for _, f := range []mwtest.Faults{{ServerError: 1}, {Throttle: 1}} {
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			w := newWorld(t, mwtest.Managed)
			w.ext.PutSecret("s", "v")
			w.ext.NotReadyFor(1) // to the gate: the first probe meets the fault
			w.ext.SetFaults(f)
			ran := false
			h := mw.Wrap(func(ctx context.Context, _ []string) (map[string]string, error) {
				ran = true
				return echo(ctx, []string{"secret:s"})
			}, w.opts(mw.WithSecrets("s"))...)
			_, err := h(invokeCtx(t, 600*time.Millisecond), nil)
			if ran || err == nil {
				t.Fatalf("the handler ran (%v), error %v: want the item failed, retried", ran, err)
			}
			if n := w.ext.Stats().Fetches; n < 3 {
				t.Errorf("%d requests: want the not-ready one, the probe, and retries", n)
			}
		})
	}
}

// slow400 answers the managed extension's generic 400 for secret id, after
// a delay as long as a call to AWS, the first times requests (all of them
// if times < 0), as the extension does when AWS throttles it; everything
// else goes to next.
type slow400 struct {
	next  http.Handler
	id    string
	times int

	mu   sync.Mutex
	seen int
}

func (s *slow400) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("secretId") == s.id {
		s.mu.Lock()
		s.seen++
		answer := s.times < 0 || s.seen <= s.times
		s.mu.Unlock()
		if answer {
			time.Sleep(15 * time.Millisecond)
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = rw.Write([]byte(mwtest.GenericError))
			return
		}
	}
	s.next.ServeHTTP(rw, r)
}

// A bare 400 that took as long as a call to AWS, from an extension that
// serves, may be AWS throttling it: a required item retries it (the storm
// simulation failed most invokes of a throttled storm), and a
// missing one still fails, with a hint that names both causes.
func TestSlowBare400FromServingExtensionIsRetried(t *testing.T) {
	t.Run("throttled twice", func(t *testing.T) {
		ext := mwtest.New(mwtest.Managed)
		ext.SetToken("")
		ext.PutSecret("a", "va")
		ext.PutSecret("b", "vb")
		w := serveWorld(t, ext, &slow400{next: ext, id: "b", times: 2})
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("a", "b"))...)
		got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:a", "secret:b"})
		if err != nil || got["secret:b"] != "vb" {
			t.Fatalf("got %v, %v; want b after two throttled answers", got, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		ext := mwtest.New(mwtest.Managed)
		ext.SetToken("")
		ext.PutSecret("a", "va")
		w := serveWorld(t, ext, &slow400{next: ext, id: "b", times: -1})
		h := mw.Wrap(echo, w.opts(mw.WithSecrets("a", "b"))...)
		_, err := h(invokeCtx(t, 5*time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassRejected || fe.Attempts < 3 {
			t.Errorf("class %s after %d attempts; want rejected after retries", fe.Class, fe.Attempts)
		}
		if h := fe.Hint(); !strings.Contains(h, "not found or not allowed") || !strings.Contains(h, "10,000 GetSecretValue calls a second") {
			t.Errorf("hint %q: want both causes, and the quota", h)
		}
	})
}
