package jaeger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Traces as Jaeger's query API v3 returns them: OTLP JSON (with hex ids),
// {"result": {"resourceSpans": [...]}}, flattened into spans.

// span is one span, its attributes decoded.
type span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      int // OTLP: 1 internal, 2 server, 3 client
	Scope                     string
	Start, End                time.Time
	Attrs                     map[string]any // string, int64, bool, float64 or []any
	Events                    []event
}

type event struct {
	Name  string
	Time  time.Time
	Attrs map[string]any
}

// OTLP span kinds.
const (
	kindInternal = 1
	kindServer   = 2
	kindClient   = 3
)

type otlpValue struct {
	StringValue *string          `json:"stringValue"`
	IntValue    *json.RawMessage `json:"intValue"` // a string in OTLP JSON; a number accepted
	BoolValue   *bool            `json:"boolValue"`
	DoubleValue *float64         `json:"doubleValue"`
	ArrayValue  *struct {
		Values []otlpValue `json:"values"`
	} `json:"arrayValue"`
}

type otlpKeyValue struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpSpan struct {
	TraceID      string         `json:"traceId"`
	SpanID       string         `json:"spanId"`
	ParentSpanID string         `json:"parentSpanId"`
	Name         string         `json:"name"`
	Kind         int            `json:"kind"`
	Start        string         `json:"startTimeUnixNano"`
	End          string         `json:"endTimeUnixNano"`
	Attributes   []otlpKeyValue `json:"attributes"`
	Events       []struct {
		Name       string         `json:"name"`
		Time       string         `json:"timeUnixNano"`
		Attributes []otlpKeyValue `json:"attributes"`
	} `json:"events"`
}

type otlpResult struct {
	Result struct {
		ResourceSpans []struct {
			ScopeSpans []struct {
				Scope struct {
					Name string `json:"name"`
				} `json:"scope"`
				Spans []otlpSpan `json:"spans"`
			} `json:"scopeSpans"`
		} `json:"resourceSpans"`
	} `json:"result"`
}

// parseTraces returns the spans of an API v3 answer, by trace id.
func parseTraces(data []byte) (map[string][]span, error) {
	var r otlpResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	traces := map[string][]span{}
	for _, rs := range r.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp, err := s.decode(ss.Scope.Name)
				if err != nil {
					return nil, fmt.Errorf("span %s %s: %w", s.Name, s.SpanID, err)
				}
				traces[sp.TraceID] = append(traces[sp.TraceID], sp)
			}
		}
	}
	for _, spans := range traces {
		slices.SortFunc(spans, func(a, b span) int { return a.Start.Compare(b.Start) })
	}
	return traces, nil
}

func (s otlpSpan) decode(scope string) (span, error) {
	sp := span{TraceID: s.TraceID, SpanID: s.SpanID, ParentID: s.ParentSpanID, Name: s.Name, Kind: s.Kind, Scope: scope}
	var err error
	if sp.Start, err = unixNano(s.Start); err != nil {
		return sp, err
	}
	if sp.End, err = unixNano(s.End); err != nil {
		return sp, err
	}
	if sp.Attrs, err = attrs(s.Attributes); err != nil {
		return sp, err
	}
	for _, e := range s.Events {
		ev := event{Name: e.Name}
		if ev.Time, err = unixNano(e.Time); err != nil {
			return sp, err
		}
		if ev.Attrs, err = attrs(e.Attributes); err != nil {
			return sp, err
		}
		sp.Events = append(sp.Events, ev)
	}
	return sp, nil
}

func unixNano(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return time.Unix(0, n), nil
}

func attrs(kvs []otlpKeyValue) (map[string]any, error) {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		v, err := kv.Value.decode()
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", kv.Key, err)
		}
		m[kv.Key] = v
	}
	return m, nil
}

func (v otlpValue) decode() (any, error) {
	switch {
	case v.StringValue != nil:
		return *v.StringValue, nil
	case v.IntValue != nil:
		var s string
		if err := json.Unmarshal(*v.IntValue, &s); err != nil {
			s = string(*v.IntValue)
		}
		return strconv.ParseInt(s, 10, 64)
	case v.BoolValue != nil:
		return *v.BoolValue, nil
	case v.DoubleValue != nil:
		return *v.DoubleValue, nil
	case v.ArrayValue != nil:
		var list []any
		for _, e := range v.ArrayValue.Values {
			x, err := e.decode()
			if err != nil {
				return nil, err
			}
			list = append(list, x)
		}
		return list, nil
	}
	return nil, fmt.Errorf("a value of no type this test reads")
}

// named returns the spans called name.
func named(spans []span, name string) []span {
	var out []span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}
