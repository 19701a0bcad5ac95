package telemetry

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// (That the names are those TELEMETRY.md documents, and what spans and
// metrics an invoke records, is tested in the test module, against the
// OTel SDK, which the library's module does not require.)

var labels = []Label{
	{Kind: "secret", Name: "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf", Alias: "db", Key: "secret:db"},
	{Kind: "parameter", Name: "/app/flags", Version: "version 3", Key: "parameter:/app/flags"},
	{Kind: "secret", Name: "optional", Key: "secret:optional"},
}

// countingProvider is a meter provider whose counters count, and report
// themselves enabled; its histograms are no-ops. It records each Add's
// attributes by instrument name.
type countingProvider struct {
	metricnoop.MeterProvider
	mu   sync.Mutex
	adds map[string][]attribute.Set
}

type countingMeter struct {
	metricnoop.Meter
	p *countingProvider
}

type countingCounter struct {
	metricnoop.Int64Counter
	name string
	p    *countingProvider
}

func (p *countingProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return countingMeter{p: p}
}

func (m countingMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return countingCounter{name: name, p: m.p}, nil
}

func (c countingCounter) Enabled(context.Context) bool { return true }

func (c countingCounter) Add(_ context.Context, _ int64, opts ...metric.AddOption) {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.p.adds == nil {
		c.p.adds = map[string][]attribute.Set{}
	}
	c.p.adds[c.name] = append(c.p.adds[c.name], metric.NewAddConfig(opts).Attributes())
}

// lookups returns the lookups counted so far, in order, each as
// "name/alias/version=outcome", and forgets them.
func (p *countingProvider) lookups() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.adds["mw.cache.lookups"] {
		get := func(k attribute.Key) string { v, _ := s.Value(k); return v.AsString() }
		out = append(out, fmt.Sprintf("%s/%s/%s=%s", get(AttrName), get(AttrAlias), get(AttrVersion), get(AttrOutcome)))
	}
	delete(p.adds, "mw.cache.lookups")
	return strings.Join(out, " ")
}

// A Wrap whose meter records nothing keeps no lookup attributes: they are
// made when a meter first records a lookup, not at Wrap.
func TestAQuietRecorderKeepsNoLookupAttributes(t *testing.T) {
	r := New(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider(), "scope", "v", labels)
	ctx := context.Background()
	for range 3 {
		r.Warm(ctx, false, []int{1}, []int{2})
		_, s := r.StartResolve(ctx, len(labels), true)
		s.End(ctx, Outcome{Missed: []int{0}, Stale: []int{1}, Absent: []int{2}})
	}
	if r.byItem != nil {
		t.Errorf("lookup attributes made for a meter that records nothing: %d items", len(r.byItem))
	}
}

// Each declared item's lookup is counted once per invoke, by outcome, and
// named by the item's kind, name, alias and version, never a value; the
// attributes are made once, on the first lookup counted.
func TestLookupsAreCountedByItemAndOutcome(t *testing.T) {
	p := &countingProvider{}
	r := New(tracenoop.NewTracerProvider(), p, "scope", "v", labels)
	if r.byItem != nil {
		t.Fatal("lookup attributes made at Wrap")
	}
	ctx := context.Background()
	db := "arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf/db/"
	r.Warm(ctx, false, nil, nil)
	if got, want := p.lookups(), db+"=hit /app/flags//version 3=hit optional//=hit"; got != want {
		t.Errorf("a warm invoke: %s\nwant %s", got, want)
	}
	made := &r.byItem[0]
	r.Warm(ctx, false, []int{1}, []int{2})
	if got, want := p.lookups(), db+"=hit /app/flags//version 3=stale optional//=absent"; got != want {
		t.Errorf("stale and absent: %s\nwant %s", got, want)
	}
	_, s := r.StartResolve(ctx, len(labels), true)
	s.End(ctx, Outcome{Hits: 1, Missed: []int{0, 2}, Stale: []int{2}})
	if got, want := p.lookups(), db+"=miss /app/flags//version 3=hit optional//=stale"; got != want {
		t.Errorf("missed, and a miss served stale: %s\nwant %s", got, want)
	}
	if &r.byItem[0] != made {
		t.Error("the lookup attributes were made again")
	}
}

// An item's attributes name it by kind and name, and by alias and version
// only when it has them, before any others.
func TestLabelAttributes(t *testing.T) {
	got := fmt.Sprint(labels[1].attributes(AttrOutcome.String("hit")))
	want := fmt.Sprint([]attribute.KeyValue{AttrKind.String("parameter"), AttrName.String("/app/flags"), AttrVersion.String("version 3"), AttrOutcome.String("hit")})
	if got != want {
		t.Errorf("%s\nwant %s", got, want)
	}
	if n := len(labels[2].attributes()); n != 2 {
		t.Errorf("an item with no alias or version has %d attributes; want 2", n)
	}
}

// keys lists items by their Key, as span attributes do.
func TestKeysNameItemsByKey(t *testing.T) {
	r := New(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider(), "scope", "v", labels)
	if got := fmt.Sprint(r.keys([]int{2, 0})); got != "[secret:optional secret:db]" {
		t.Errorf("keys: %s", got)
	}
}
