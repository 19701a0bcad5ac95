package main

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A cold invoke on synthetic spans: two concurrent fetches, one retried
// twice after startup 400s, then the handler.
func TestWaterfall(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	ms := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Millisecond))) }
	tid := trace.TraceID{1}
	sc := func(id byte) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{id}})
	}
	retry := func(at float64, delay int64) sdktrace.Event {
		return sdktrace.Event{Name: "mw.fetch.retry", Time: ms(at), Attributes: []attribute.KeyValue{
			attribute.Int("mw.fetch.attempt", 1), attribute.String("error.type", "rejected"),
			attribute.Int64("mw.fetch.retry_delay_ms", delay), attribute.Int("http.response.status_code", 400)}}
	}
	stubs := tracetest.SpanStubs{
		{Name: "fn", SpanContext: sc(1), StartTime: ms(0), EndTime: ms(100)},
		{Name: "mw.resolve", SpanContext: sc(2), Parent: sc(1), StartTime: ms(0), EndTime: ms(90),
			Attributes: []attribute.KeyValue{attribute.Int("mw.cache.hits", 0), attribute.Int("mw.cache.misses", 2), attribute.Bool("mw.cold_start", true)}},
		{Name: "mw.fetch", SpanContext: sc(3), Parent: sc(2), StartTime: ms(0), EndTime: ms(88),
			Attributes: []attribute.KeyValue{attribute.String("mw.item.kind", "secret"), attribute.String("mw.item.name", "prod/db"), attribute.Int("http.response.status_code", 200)},
			Events:     []sdktrace.Event{retry(10, 20), retry(40, 30)}},
		{Name: "mw.fetch", SpanContext: sc(4), Parent: sc(2), StartTime: ms(0), EndTime: ms(20),
			Attributes: []attribute.KeyValue{attribute.String("mw.item.kind", "parameter"), attribute.String("mw.item.name", "/app/flags"), attribute.Int("http.response.status_code", 200)}},
		{Name: "mw.handler", SpanContext: sc(5), Parent: sc(1), StartTime: ms(90), EndTime: ms(100),
			Status:     sdktrace.Status{Code: codes.Error, Description: "handler returned an error of type *errors.errorString"},
			Attributes: []attribute.KeyValue{attribute.String("error.type", "*errors.errorString")}},
	}
	var b strings.Builder
	waterfall(&b, stubs.Snapshots())
	want := `
                                      0        25.0 ms     50.0 ms     75.0 ms  100.0 ms
                                      +-----------+-----------+-----------+------------+
   fn                                |==================================================|  100.0 ms
     mw.resolve                      |==============================================    |   90.0 ms  0 hits, 2 misses, cold start
       mw.fetch parameter /app/flags |===========                                       |   20.0 ms  200
       mw.fetch secret prod/db       |=====x..........====x...............=========     |   88.0 ms  x400 x400 200
     mw.handler                      |                                             =====|   10.0 ms  FAILED (*errors.errorString)
`
	if got := "\n" + b.String(); got != want {
		t.Errorf("waterfall:\n%s\nwant:\n%s", got, want)
	}
}
