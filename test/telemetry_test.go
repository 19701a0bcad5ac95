package test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// TestTelemetryMatchesTELEMETRYmd records every path mw reports and checks
// that what it emits is exactly what TELEMETRY.md documents: every span
// with its kind, every attribute and event with its type, every metric
// with its instrument, unit and attributes. Renaming anything breaks it.
func TestTelemetryMatchesTELEMETRYmd(t *testing.T) {
	doc, err := os.ReadFile("../TELEMETRY.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := parseTelemetryDoc(t, string(doc))
	w := recordEveryPath(t)
	emitted := emittedTelemetry(t, w)

	// Every documented value of these is emitted; of the others, such as
	// error.type's classes or an example name, some are.
	exhaustive := func(fact string) bool {
		for _, k := range []string{"mw.item.kind", "mw.cache.outcome", "mw.fetch.reason", "mw.cold_start"} {
			if strings.HasPrefix(fact, "metric value "+k+"=") {
				return true
			}
		}
		return !strings.HasPrefix(fact, "metric value ")
	}
	var missing, extra []string
	for k := range documented {
		if !emitted[k] && exhaustive(k) {
			missing = append(missing, k)
		}
	}
	for k := range emitted {
		if !documented[k] && !strings.HasPrefix(k, "metric value mw.item.name=") &&
			!strings.HasPrefix(k, "metric value mw.item.alias=") && !strings.HasPrefix(k, "metric value mw.item.version=") {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("TELEMETRY.md and the telemetry differ:\n- documented, never emitted:\n\t%s\n+ emitted, not documented:\n\t%s",
			strings.Join(missing, "\n\t"), strings.Join(extra, "\n\t"))
	}
	if len(documented) < 40 {
		t.Errorf("only %d facts parsed from TELEMETRY.md: did its format change?", len(documented))
	}
}

// parseTelemetryDoc reads the contract from TELEMETRY.md's tables, as lines
// such as "span mw.fetch client", "span mw.fetch attr mw.item.name string",
// "metric mw.fetch.duration histogram s", "metric mw.fetch.duration attr
// error.type", "metric attr mw.cold_start bool", "metric value
// mw.cache.outcome=hit".
func parseTelemetryDoc(t *testing.T, doc string) map[string]bool {
	facts := map[string]bool{}
	var section, subject string
	ticked := func(s string) []string {
		var out []string
		for {
			_, rest, ok := strings.Cut(s, "`")
			if !ok {
				return out
			}
			name, after, ok := strings.Cut(rest, "`")
			if !ok {
				return out
			}
			out = append(out, name)
			s = after
		}
	}
	for _, line := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			section, subject = strings.TrimPrefix(line, "## "), ""
		case strings.HasPrefix(line, "### "):
			names := ticked(line)
			switch {
			case section == "Spans" && len(names) == 1:
				subject = "span " + names[0]
				kind := strings.Trim(strings.TrimSpace(line[strings.LastIndex(line, "`")+1:]), "()")
				facts[subject+" "+kind] = true
			case section == "Events" && len(names) == 2:
				subject = "event " + names[0]
				facts[subject+" on "+names[1]] = true
			case section == "Metrics":
				subject = "metric"
			default:
				t.Fatalf("TELEMETRY.md: unexpected heading %q in %q", line, section)
			}
		case strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			name := ticked(cells[1])[0]
			typ := strings.TrimSpace(cells[2])
			switch {
			case subject == "" && section == "Metrics":
				facts["metric "+name+" "+typ+" "+ticked(cells[3])[0]] = true
				for _, a := range ticked(cells[4]) {
					facts["metric "+name+" attr "+a] = true
				}
			case subject == "metric":
				facts["metric attr "+name+" "+typ] = true
				for _, v := range ticked(cells[3]) {
					facts["metric value "+name+"="+v] = true
				}
			case subject != "":
				facts[subject+" attr "+name+" "+typ] = true
			}
		}
	}
	return facts
}

// recordEveryPath invokes wrapped handlers down every path that mw
// reports, into one world.
func recordEveryPath(t *testing.T) *world {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutParameter("/app/flags", "String", "on")
	ctx := func() context.Context { return invokeCtx(t, 5*time.Second) }

	// Items with an alias and a version, so that every metric and span
	// carries mw.item.alias and mw.item.version.
	db := mw.WithSecret("prod/db", mw.VersionStage("AWSCURRENT"), mw.Alias("db"))
	flags := mw.WithParameter("/app/flags", mw.ParameterVersion(1), mw.Alias("flags"))

	// Cold with a startup 400 retried, an optional item absent; warm; a
	// handler error.
	w.ext.NotReadyFor(1)
	failing := errors.New("no")
	a := mw.Wrap(func(ctx context.Context, keys []string) (map[string]string, error) {
		if len(keys) > 0 && keys[0] == "fail" {
			return nil, fmt.Errorf("handler: %w", failing)
		}
		return echo(ctx, keys)
	}, w.opts(db, flags, mw.WithParameter("/app/beta", mw.Optional(), mw.Alias("beta"), mw.Label("live")), mw.WithStartupWindow(150*time.Millisecond))...)
	for _, keys := range [][]string{nil, nil, {"fail"}} {
		if _, err := a(ctx(), keys); (err != nil) != (keys != nil) {
			t.Fatalf("invoke %v: %v", keys, err)
		}
	}

	// Refresh ahead: a refresh-ahead window as long as the TTL puts every
	// warm invoke in it. Forced: in a Wrap of its own, where no refresh
	// ahead is in flight for the forced one to join.
	refresh := func(ctx context.Context, force bool) (string, error) {
		if force {
			return mw.RefreshParameter(ctx, "flags")
		}
		return "", nil
	}
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ahead := mw.Wrap(refresh, w.opts(db, flags, mw.WithTTL(time.Hour), mw.WithRefreshAhead(time.Hour))...)
	must(ahead(ctx(), false))
	must(ahead(ctx(), false)) // within the refresh-ahead window
	must(mw.Wrap(refresh, w.opts(db, flags)...)(ctx(), true))

	// Stale: with a TTL of 0, both items are expired at the next invoke;
	// the secret's refresh fails and its last good value is served stale.
	stale := mw.Wrap(func(context.Context, bool) (string, error) { return "", nil },
		w.opts(db, flags, mw.WithTTL(0), mw.WithStartupWindow(0))...)
	must(stale(ctx(), false))
	w.ext.Deny("prod/db")
	must(stale(ctx(), false))

	// A source of its own, which fetches parameters in batches and lists
	// paths; one item of the batch is throttled once and retried.
	src := &mapSource{values: map[string]string{"/p/a": "1", "/p/b": "2", "/tree/x": "3"}, throttleOnce: map[string]bool{"/p/b": true}}
	batch := mw.Wrap(echo, w.opts(mw.WithSource(src), mw.WithParameters("/p/a", "/p/b"), mw.WithParametersByPath("/tree"))...)
	if _, err := batch(ctx(), []string{"parameter:/p/a", "parameter:/tree/x"}); err != nil {
		t.Fatal(err)
	}

	// An AppConfig profile, through mw's AppConfig source, read as a
	// feature flag: its span names the configuration version served. The
	// flag evaluated against a caller's context, and a flag the profile
	// lacks: an mw.evaluate span each.
	ac, acSrv := mwtest.Start(t, mwtest.AppConfig)
	ac.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"new-checkout": {Enabled: true}})
	flag := mw.Wrap(func(ctx context.Context, _ struct{}) (bool, error) {
		f, err := mw.FeatureFlag(ctx, "checkout-flags", "new-checkout")
		if err != nil {
			return false, err
		}
		if f, err = mw.EvaluateFlag(ctx, "checkout-flags", "new-checkout", map[string]string{"country": "UK"}); err != nil {
			return false, err
		}
		if _, err := mw.EvaluateFlag(ctx, "checkout-flags", "nope", nil); !errors.Is(err, mw.ErrUnknownFlag) {
			return false, fmt.Errorf("an unknown flag: %v", err)
		}
		return f.Enabled, nil
	}, w.opts(mw.WithAppConfigEndpoint(acSrv.URL), mw.WithAppConfig("orders", "prod", "flags", mw.Alias("checkout-flags")))...)
	if on, err := flag(ctx(), struct{}{}); err != nil || !on {
		t.Fatalf("feature flag: %t, %v", on, err)
	}

	// A failure.
	c := mw.Wrap(echo, w.opts(mw.WithSecret("missing", mw.Alias("m"), mw.VersionStage("AWSCURRENT")), mw.WithStartupWindow(0))...)
	if _, err := c(ctx(), nil); err == nil {
		t.Fatal("want a failure")
	}
	return w
}

func emittedTelemetry(t *testing.T, w *world) map[string]bool {
	facts := map[string]bool{}
	typ := func(v attribute.Value) string {
		switch v.Type() {
		case attribute.INT64:
			return "int"
		case attribute.BOOL:
			return "bool"
		case attribute.STRING:
			return "string"
		case attribute.STRINGSLICE:
			return "string[]"
		}
		return strings.ToLower(v.Type().String())
	}
	for _, s := range w.rec.Ended() {
		if s.InstrumentationScope().Name != mw.ScopeName {
			continue
		}
		span := "span " + s.Name()
		facts[span+" "+strings.ToLower(s.SpanKind().String())] = true
		for _, kv := range s.Attributes() {
			facts[span+" attr "+string(kv.Key)+" "+typ(kv.Value)] = true
		}
		for _, e := range s.Events() {
			facts["event "+e.Name+" on "+s.Name()] = true
			for _, kv := range e.Attributes {
				facts["event "+e.Name+" attr "+string(kv.Key)+" "+typ(kv.Value)] = true
			}
		}
	}
	for _, m := range w.metrics() {
		kind := fmt.Sprintf("%T", m.Data)
		switch m.Data.(type) {
		case metricdata.Sum[int64]:
			kind = "counter"
		case metricdata.Histogram[float64]:
			kind = "histogram"
		}
		facts["metric "+m.Name+" "+kind+" "+m.Unit] = true
		for _, set := range dataPointAttributes(m) {
			for _, kv := range set.ToSlice() {
				facts["metric "+m.Name+" attr "+string(kv.Key)] = true
				facts["metric attr "+string(kv.Key)+" "+typ(kv.Value)] = true
				facts["metric value "+string(kv.Key)+"="+kv.Value.String()] = true
			}
		}
	}
	return facts
}
