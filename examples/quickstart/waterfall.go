package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// waterfallWidth is the width of the bar area, in columns.
const waterfallWidth = 50

// waterfall prints spans as a plain-ASCII waterfall: one line per span,
// indented under its parent, its bar placed on a common time scale, then
// its duration and what it recorded. On an mw.fetch bar, each retried
// attempt is an x where it failed, followed by dots for the wait before the
// next attempt; the notes list the statuses in order (x400 x400 200).
func waterfall(out io.Writer, spans []sdktrace.ReadOnlySpan) {
	if len(spans) == 0 {
		return
	}
	byID := map[trace.SpanID]bool{}
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	start, end := spans[0].StartTime(), spans[0].EndTime()
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = true
		if s.StartTime().Before(start) {
			start = s.StartTime()
		}
		if s.EndTime().After(end) {
			end = s.EndTime()
		}
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if p := s.Parent(); p.IsValid() && byID[p.SpanID()] {
			children[p.SpanID()] = append(children[p.SpanID()], s)
		} else {
			roots = append(roots, s)
		}
	}
	total := max(end.Sub(start), time.Microsecond)

	type row struct {
		label string
		s     sdktrace.ReadOnlySpan
	}
	var rows []row
	var walk func(list []sdktrace.ReadOnlySpan, depth int)
	walk = func(list []sdktrace.ReadOnlySpan, depth int) {
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].StartTime().Equal(list[j].StartTime()) {
				return list[i].StartTime().Before(list[j].StartTime())
			}
			return label(list[i]) < label(list[j])
		})
		for _, s := range list {
			rows = append(rows, row{strings.Repeat("  ", depth) + label(s), s})
			walk(children[s.SpanContext().SpanID()], depth+1)
		}
	}
	walk(roots, 0)

	lw := 0
	for _, r := range rows {
		lw = max(lw, len(r.label))
	}
	col := func(t time.Time) int {
		c := int(int64(t.Sub(start)) * waterfallWidth / int64(total))
		return min(max(c, 0), waterfallWidth-1)
	}

	// The scale: a tick every quarter, labelled where the label fits with a
	// space on each side; the last, the whole trace's time, always.
	ticks := []byte(strings.Repeat(" ", waterfallWidth+8))
	ruler := []byte(strings.Repeat("-", waterfallWidth))
	free := len(ticks) // the first column taken by a label to the right
	for q := 4; q >= 0; q-- {
		c := q * (waterfallWidth - 1) / 4
		ruler[c] = '+'
		l := "0"
		if q > 0 {
			l = formatDuration(total * time.Duration(q) / 4)
		}
		at := c - len(l)/2
		switch q {
		case 4:
			at = c - len(l) + 1
		case 0:
			at = c
		}
		if at = max(at, 0); at+len(l) < free {
			copy(ticks[at:], l)
			free = at
		}
	}
	fmt.Fprintf(out, "   %-*s  %s\n", lw, "", strings.TrimRight(string(ticks), " "))
	fmt.Fprintf(out, "   %-*s  %s\n", lw, "", ruler)

	for _, r := range rows {
		s := r.s
		bar := []byte(strings.Repeat(" ", waterfallWidth))
		from, to := col(s.StartTime()), col(s.EndTime())
		for c := from; c <= to; c++ {
			bar[c] = '='
		}
		for _, e := range s.Events() {
			if e.Name != "mw.fetch.retry" {
				continue
			}
			a := attrs(e.Attributes)
			x := col(e.Time)
			wait := e.Time.Add(time.Duration(a["mw.fetch.retry_delay_ms"].AsInt64()) * time.Millisecond)
			for c := x + 1; c <= min(col(wait), to); c++ {
				bar[c] = '.'
			}
			bar[x] = 'x'
		}
		line := fmt.Sprintf("   %-*s |%s| %9s  %s", lw, r.label, bar, formatDuration(s.EndTime().Sub(s.StartTime())), notes(s))
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
}

// label names a span on its line.
func label(s sdktrace.ReadOnlySpan) string {
	a := attrs(s.Attributes())
	switch s.Name() {
	case "mw.fetch":
		return fmt.Sprintf("mw.fetch %s %s", a["mw.item.kind"].AsString(), a["mw.item.name"].AsString())
	case "":
		return "(invoke)"
	}
	return s.Name()
}

// notes says what a span recorded that matters at a glance.
func notes(s sdktrace.ReadOnlySpan) string {
	a := attrs(s.Attributes())
	var n []string
	switch s.Name() {
	case "mw.resolve":
		n = append(n, fmt.Sprintf("%d hits, %d misses,", a["mw.cache.hits"].AsInt64(), a["mw.cache.misses"].AsInt64()))
		if a["mw.cold_start"].AsBool() {
			n = append(n, "cold start")
		}
		if v := a["mw.cache.stale_items"].AsStringSlice(); len(v) > 0 {
			n = append(n, "stale: "+strings.Join(v, " "))
		}
		if v := a["mw.failed_items"].AsStringSlice(); len(v) > 0 {
			n = append(n, "FAILED: "+strings.Join(v, " "))
		}
	case "mw.fetch":
		for _, e := range s.Events() {
			if e.Name == "mw.fetch.retry" {
				ea := attrs(e.Attributes)
				if code := ea["http.response.status_code"].AsInt64(); code != 0 {
					n = append(n, fmt.Sprintf("x%d", code))
				} else {
					n = append(n, "x"+ea["error.type"].AsString())
				}
			}
		}
		last := "no answer"
		if code := a["http.response.status_code"].AsInt64(); code != 0 {
			last = fmt.Sprint(code)
		}
		if s.Status().Code == codes.Error {
			last += " FAILED (" + a["error.type"].AsString() + ")"
		}
		n = append(n, last)
	default:
		if s.Status().Code == codes.Error {
			n = append(n, "FAILED ("+a["error.type"].AsString()+")")
		}
	}
	return strings.TrimSuffix(strings.Join(n, " "), ",")
}

// formatDuration prints d in ms, or in us below a millisecond: ASCII only.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d us", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func attrs(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}
