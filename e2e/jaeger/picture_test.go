package jaeger

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// picture draws traces as SVG waterfalls, one under the other, each on its
// own time scale: a row per span, indented under its parent, its bar placed
// in time, a tick where each retried attempt failed.
func picture(cold, warm []span) string {
	const (
		width  = 980
		labelW = 390 // the label column
		barX   = labelW + 10
		barW   = 470
		rowH   = 24
	)
	var body strings.Builder
	y := 0
	for _, tr := range []struct {
		title string
		spans []span
	}{
		{"Cold start: the first invoke", cold},
		{"Warm invoke: the second", warm},
	} {
		rows := treeOrder(tr.spans)
		if len(rows) == 0 {
			continue
		}
		start, end := rows[0].s.Start, rows[0].s.End
		for _, r := range rows {
			start, end = minTime(start, r.s.Start), maxTime(end, r.s.End)
		}
		total := max(end.Sub(start), time.Microsecond)
		x := func(t time.Time) float64 { return barX + float64(t.Sub(start))/float64(total)*barW }

		y += 30
		fmt.Fprintf(&body, `<text x="10" y="%d" class="h">%s</text>`+"\n", y, html.EscapeString(tr.title))
		y += 10
		// The time axis.
		step := niceStep(total)
		for t := time.Duration(0); t <= total; t += step {
			px := barX + float64(t)/float64(total)*barW
			fmt.Fprintf(&body, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="grid"/>`+"\n", px, y+4, px, y+8+len(rows)*rowH)
			fmt.Fprintf(&body, `<text x="%.1f" y="%d" class="axis" text-anchor="middle">%s</text>`+"\n", px, y, fmtDuration(t))
		}
		y += 8
		for i, r := range rows {
			top := y + i*rowH
			if i%2 == 0 {
				fmt.Fprintf(&body, `<rect x="0" y="%d" width="%d" height="%d" class="band"/>`+"\n", top, width, rowH)
			}
			fmt.Fprintf(&body, `<text x="%d" y="%d" class="name">%s <tspan class="note">%s</tspan></text>`+"\n",
				10+r.depth*16, top+16, html.EscapeString(r.s.Name), html.EscapeString(note(r.s)))
			x0, x1 := x(r.s.Start), x(r.s.End)
			fmt.Fprintf(&body, `<rect x="%.1f" y="%d" width="%.1f" height="14" rx="2" class="%s"><title>%s</title></rect>`+"\n",
				x0, top+5, math.Max(x1-x0, 1.5), barClass(r.s), html.EscapeString(r.s.Name+" "+fmtDuration(r.s.End.Sub(r.s.Start))))
			for _, e := range r.s.Events {
				ex := x(e.Time)
				fmt.Fprintf(&body, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" class="retry"><title>%s</title></line>`+"\n",
					ex, top+2, ex, top+22, html.EscapeString(fmt.Sprintf("%s: attempt %v %v (HTTP %v)", e.Name, e.Attrs["mw.fetch.attempt"], e.Attrs["error.type"], e.Attrs["http.response.status_code"])))
			}
			fmt.Fprintf(&body, `<text x="%.1f" y="%d" class="dur">%s</text>`+"\n", math.Max(x1, x0+1.5)+6, top+16, fmtDuration(r.s.End.Sub(r.s.Start)))
		}
		y += len(rows)*rowH + 6
	}
	y += 34
	fmt.Fprintf(&body, `<text x="10" y="%d" class="foot">examples/tracing under mw-local, its spans exported over OTLP to Jaeger and read back from Jaeger's query API (e2e/jaeger).</text>`+"\n", y-18)
	fmt.Fprintf(&body, `<text x="10" y="%d" class="foot">A red tick is a failed attempt that mw retried (mw.fetch.retry): the emulated extension answered its startup 400.</text>`+"\n", y-4)

	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
<style>
.h { font-size: 15px; font-weight: bold; fill: #222; }
.name { font-size: 13px; fill: #222; }
.note { fill: #666; font-size: 12px; }
.axis { font-size: 10px; fill: #777; }
.dur { font-size: 11px; fill: #444; }
.foot { font-size: 11px; fill: #666; }
.grid { stroke: #ddd; stroke-width: 1; }
.band { fill: #f6f7f9; }
.root { fill: #8d99ae; }
.resolve { fill: #2a9d8f; }
.fetch { fill: #e9c46a; }
.handler { fill: #457b9d; }
.retry { stroke: #d62828; stroke-width: 2; }
</style>
<rect width="100%%" height="100%%" fill="#fff"/>
%s</svg>
`, width, y, width, y, body.String())
}

type row struct {
	s     span
	depth int
}

// treeOrder lists spans depth first, children by start time.
func treeOrder(spans []span) []row {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.SpanID] = true
	}
	children := map[string][]span{}
	var roots []span
	for _, s := range spans {
		if ids[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	var rows []row
	var walk func([]span, int)
	walk = func(list []span, depth int) {
		slices.SortStableFunc(list, func(a, b span) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(fmt.Sprint(a.Attrs["mw.item.name"]), fmt.Sprint(b.Attrs["mw.item.name"]))
		})
		for _, s := range list {
			rows = append(rows, row{s, depth})
			walk(children[s.SpanID], depth+1)
		}
	}
	walk(roots, 0)
	return rows
}

// note says in a few words what a span recorded.
func note(s span) string {
	a := s.Attrs
	switch s.Name {
	case "mw.resolve":
		if a["mw.cold_start"] == true {
			return fmt.Sprintf("cold start: %v items, %v misses", a["mw.items"], a["mw.cache.misses"])
		}
		return fmt.Sprintf("%v hits, %v misses", a["mw.cache.hits"], a["mw.cache.misses"])
	case "mw.fetch":
		return fmt.Sprintf("%v %v, %v attempts, HTTP %v", a["mw.item.kind"], a["mw.item.name"], a["mw.fetch.attempts"], a["http.response.status_code"])
	case "mw.handler":
		return "the handler"
	}
	if s.ParentID == "" {
		return "otellambda: the invocation"
	}
	return ""
}

func barClass(s span) string {
	switch s.Name {
	case "mw.resolve":
		return "resolve"
	case "mw.fetch":
		return "fetch"
	case "mw.handler":
		return "handler"
	}
	return "root"
}

// niceStep is an axis step of 1, 2 or 5 × 10^n that cuts total into 4 to 10.
func niceStep(total time.Duration) time.Duration {
	for step := time.Microsecond; ; step *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if total/(step*m) <= 8 {
				return step * m
			}
		}
	}
}

func fmtDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0f µs", float64(d)/1e3)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
