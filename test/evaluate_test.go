package test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A flag evaluated against a caller's context: one mw.evaluate span per
// call, under the handler's span, naming the profile and the source; the
// canary, in the context and in the flag's attributes, in no span, status
// or event, whether the evaluation succeeds or fails.
func TestEvaluateSpansHoldNoContextOrAttribute(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	ac, acSrv := mwtest.Start(t, mwtest.AppConfig)
	ac.PutFeatureFlags("orders", "prod", "flags", map[string]mwtest.Flag{"checkout": {
		Variants: []mwtest.Variant{
			{Name: "uk", Enabled: true, Attributes: map[string]any{"note": canary}, When: map[string]string{"country": canary}},
			{Name: "off"},
		},
		DefaultVariant: "off",
	}})
	var once sync.Once
	type call struct {
		flag    string
		evalCtx map[string]string
		fail    func()
		class   mw.Class // "" for success
	}
	calls := []call{
		{"checkout", map[string]string{"country": canary}, nil, ""},
		{"nope", map[string]string{"country": canary}, nil, mw.ClassNotFound},
		{"checkout", map[string]string{"country": canary + "\n"}, nil, mw.ClassConfig},
		{"checkout", map[string]string{"country": canary}, func() { ac.DenyConfiguration("orders", "prod", "flags") }, mw.ClassAccessDenied},
	}
	var handlerSpan trace.SpanID
	h := mw.Wrap(func(ctx context.Context, c call) (mw.Flag, error) {
		handlerSpan = trace.SpanContextFromContext(ctx).SpanID()
		if c.fail != nil {
			once.Do(c.fail)
		}
		return mw.EvaluateFlag(ctx, "flags", c.flag, c.evalCtx)
	}, w.opts(mw.WithAppConfigEndpoint(acSrv.URL), mw.WithAppConfig("orders", "prod", "flags", mw.Alias("flags")))...)
	c := &leakCheck{t: t}
	for i, call := range calls {
		f, err := h(invokeCtx(t, 5*time.Second), call)
		var fe *mw.FetchError
		switch {
		case call.class == "" && (err != nil || f.Variant != "uk" || f.Attributes["note"] != canary):
			t.Fatalf("call %d: %+v, %v; want the variant uk", i, f, err)
		case call.class == mw.ClassNotFound && !errors.Is(err, mw.ErrUnknownFlag):
			t.Fatalf("call %d: %v; want ErrUnknownFlag", i, err)
		case call.class != "" && call.class != mw.ClassNotFound && (!errors.As(err, &fe) || fe.Class != call.class):
			t.Fatalf("call %d: %v; want class %s", i, err, call.class)
		}
		if err != nil {
			c.check("the error", err.Error())
		}
		spans := w.spans("mw.evaluate")
		if len(spans) != i+1 {
			t.Fatalf("call %d: %d mw.evaluate spans; want one a call", i, len(spans))
		}
		s := spans[i]
		if s.SpanKind() != trace.SpanKindClient || s.Parent().SpanID() != handlerSpan ||
			attr(s, "mw.source").AsString() != "appconfig" || attr(s, "mw.item.name").AsString() != "orders/prod/flags" ||
			attr(s, "mw.item.alias").AsString() != "flags" || attr(s, "mw.item.kind").AsString() != "appconfig" ||
			attr(s, "error.type").AsString() != string(call.class) {
			t.Errorf("call %d: span %s %v, parent %s, attributes %v", i, s.Name(), s.SpanKind(), s.Parent().SpanID(), s.Attributes())
		}
		if wantStatus := map[bool]codes.Code{true: codes.Unset, false: codes.Error}[call.class == ""]; s.Status().Code != wantStatus {
			t.Errorf("call %d: status %v; want %v", i, s.Status(), wantStatus)
		}
	}
	c.spans(w)
	c.metrics(w)
	if c.seen < 40 {
		t.Fatalf("only %d outputs searched", c.seen)
	}
}
