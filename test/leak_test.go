package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// leakCheck collects what telemetry shows and fails on the canary.
type leakCheck struct {
	t    *testing.T
	seen int
}

func (c *leakCheck) check(where, s string) {
	c.t.Helper()
	c.seen++
	if strings.Contains(s, canary) || strings.Contains(s, canary[:12]) {
		c.t.Errorf("%s reveals the value: %s", where, s)
	}
}

// spans searches every span w recorded: names, statuses, attributes and
// events' attributes.
func (c *leakCheck) spans(w *world) {
	c.t.Helper()
	for _, s := range w.rec.Ended() {
		c.check("span name", s.Name())
		c.check("span status", s.Status().Description)
		for _, kv := range s.Attributes() {
			c.check("span attribute "+string(kv.Key), kv.Value.String())
		}
		for _, e := range s.Events() {
			c.check("event name", e.Name)
			for _, kv := range e.Attributes {
				c.check("event attribute "+string(kv.Key), kv.Value.String())
			}
		}
	}
}

// metrics searches every metric w recorded, and every data point's
// attributes, and returns how many data points it searched.
func (c *leakCheck) metrics(w *world) int {
	c.t.Helper()
	points := 0
	for _, m := range w.metrics() {
		c.check("metric name", m.Name)
		for _, set := range dataPointAttributes(m) {
			points++
			for _, kv := range set.ToSlice() {
				c.check("metric "+m.Name+" attribute "+string(kv.Key), kv.Value.String())
			}
		}
	}
	return points
}

// TestValuesNeverLeakIntoTelemetry sends a canary value down every path,
// failing and succeeding, and searches every span, event, status and
// metric data point for it. (The library's module searches the same
// paths' errors and printed forms.)
func TestValuesNeverLeakIntoTelemetry(t *testing.T) {
	c := &leakCheck{t: t}
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
			if _, err := mw.Wrap(echo, w.opts(mw.WithSecrets("good"))...)(ctx, []string{"secret:good"}); err != nil {
				t.Fatal(err)
			}
			got, err := p.h(ctx, []string{"secret:good"})
			if (err == nil) != (p.name == "success") || (err == nil && got["secret:good"] != canary) {
				t.Fatalf("%s: %v, %v", p.name, got != nil, err)
			}
		}
		for _, rec := range []*world{w, broken, wrong} {
			c.spans(rec)
			if c.metrics(rec) == 0 {
				t.Error("no metric data points searched")
			}
		}
	}
	if c.seen < 100 {
		t.Fatalf("only %d outputs searched: the test lost its paths", c.seen)
	}
}

// The lifecycle's paths (a forced refresh, an optional item absent, a value
// served stale, a value past the stale bound) keep the canary out of their
// spans too. Real time stands in for a clock: with a TTL of 0 an item is
// expired at the next invoke, and with a stale bound of 0 it is past it.
func TestCanaryNeverLeaksFromLifecyclePathsIntoSpans(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("s", canary)
	handler := func(ctx context.Context, _ int) (string, error) {
		v, _ := mw.RefreshSecret(ctx, "s") // fails once the secret is denied
		_, _ = mw.Secret(ctx, "optional")
		return fmt.Sprint(len(v)), nil
	}
	opts := w.opts(mw.WithSecret("s", mw.TTL(0)), mw.WithSecret("optional", mw.Optional()), mw.WithSecretsManagerAgent())
	served := mw.Wrap(handler, opts...)
	bounded := mw.Wrap(handler, append(opts, mw.WithMaxStale(0))...)
	for _, h := range []func(context.Context, int) (string, error){served, bounded} {
		if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil {
			t.Fatal(err)
		}
	}
	// The refresh fails: the canary is served stale, then is past its bound.
	w.ext.Deny("s")
	if _, err := served(invokeCtx(t, 5*time.Second), 0); err != nil {
		t.Fatalf("err = %v; want the value served stale", err)
	}
	if _, err := bounded(invokeCtx(t, 5*time.Second), 0); err == nil || !strings.Contains(err.Error(), "past its TTL") {
		t.Fatalf("err = %v; want an error past the stale bound", err)
	}
	if len(w.spans("mw.resolve")) != 4 {
		t.Fatalf("%d mw.resolve spans; want 4", len(w.spans("mw.resolve")))
	}
	c := &leakCheck{t: t}
	c.spans(w)
	if c.seen < 30 {
		t.Fatalf("only %d outputs searched", c.seen)
	}
}

// An AppConfig configuration holding the canary, served, refused with the
// canary in the error body, too large, and read as feature flags it is not:
// no span, event, status or metric shows it.
func TestAppConfigContentNeverLeaksIntoTelemetry(t *testing.T) {
	c := &leakCheck{t: t}
	w := newWorld(t, mwtest.Managed)
	ac, acSrv := mwtest.Start(t, mwtest.AppConfig)
	ac.PutConfiguration("app", "prod", "good", "application/json", []byte(`{"k":"`+canary+`"}`))
	ac.PutConfiguration("app", "prod", "big", "application/json", []byte(canary))
	ac.FailNext("app/prod/big", mwtest.FaultMalformed, 1)
	answer := func(status int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rw.Header().Set("Configuration-Version", canary)
			rw.WriteHeader(status)
			fmt.Fprint(rw, `{"Message":"`+canary+`","ResourceType":"`+canary+`"}`)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	read := func(ctx context.Context, _ struct{}) (string, error) {
		_, err := mw.FeatureFlag(ctx, "good", "k") // not feature flags: a decode error
		return "", err
	}
	for name, opts := range map[string][]mw.Option{
		"served":    {mw.WithAppConfigEndpoint(acSrv.URL), mw.WithAppConfig("app", "prod", "good")},
		"oversize":  {mw.WithAppConfigEndpoint(acSrv.URL), mw.WithAppConfig("app", "prod", "big")},
		"not found": {mw.WithAppConfigEndpoint(answer(404)), mw.WithAppConfig("app", "prod", "good")},
		"denied":    {mw.WithAppConfigEndpoint(answer(403)), mw.WithAppConfig("app", "prod", "good")},
		"failing":   {mw.WithAppConfigEndpoint(answer(500)), mw.WithAppConfig("app", "prod", "good")},
	} {
		_, err := mw.Wrap(read, w.opts(opts...)...)(invokeCtx(t, 300*time.Millisecond), struct{}{})
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		c.check(name+": the error", err.Error())
	}
	c.spans(w)
	if c.metrics(w) == 0 {
		t.Error("no metric data points searched")
	}
	if c.seen < 50 {
		t.Fatalf("only %d outputs searched: the test lost its paths", c.seen)
	}
}

// rawEndpoint answers every connection with answer, as it is, once the
// request's headers have come, and closes it: an endpoint that is no HTTP
// server (a wrong port, a raw proxy) or a broken one.
func rawEndpoint(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				_, _ = io.WriteString(c, answer)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// An endpoint that answers a bare body, or garbage, holding the canary:
// net/http's own errors quote it, and the fetch span's status is the
// error's text. Neither the error nor any span shows it.
func TestTransportFailuresLeaveNothingInSpans(t *testing.T) {
	c := &leakCheck{t: t}
	w := newWorld(t, mwtest.Managed)
	body := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + canary + `"}`
	for _, answer := range []string{
		body,
		"HTTP/1.1 " + canary + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: " + canary + "\r\n\r\n",
		"HTTP/1.1 200 OK\r\n" + canary + "\r\n\r\n",
	} {
		url := rawEndpoint(t, answer)
		for source, opts := range map[string][]mw.Option{
			"extension": {mw.WithEndpoint(url), mw.WithSecrets("s")},
			"appconfig": {mw.WithAppConfigEndpoint(url), mw.WithAppConfig("a", "e", "p")},
		} {
			_, err := mw.Wrap(echo, w.opts(opts...)...)(invokeCtx(t, 300*time.Millisecond), nil)
			if err == nil {
				t.Fatalf("%s: no error", source)
			}
			c.check(source+": the error", err.Error())
			c.check(source+": the error under %+v", fmt.Sprintf("%+v", err))
		}
	}
	if len(w.spans("mw.fetch")) < 8 {
		t.Fatalf("%d mw.fetch spans; want one per fetch", len(w.spans("mw.fetch")))
	}
	c.spans(w)
	if c.seen < 50 {
		t.Fatalf("only %d outputs searched: the test lost its paths", c.seen)
	}
}
