package openfeature

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/lambda-mw/mw"
	"github.com/open-feature/go-sdk/openfeature"
)

// kind is how one of OpenFeature's types reads an AppConfig flag: the flag
// itself (nil when the type cannot: TYPE_MISMATCH), and an attribute.
type kind[T any] struct {
	name      string // "a boolean", for the messages
	flag      func(mw.Flag) (T, outcome)
	attribute func(any) (T, bool)
}

// outcome is what reading the flag itself as a type found.
type outcome int

const (
	found    outcome = iota
	off              // the value, which is what it is because the flag is disabled: DISABLED
	disabled         // the flag is disabled and holds no value of the type: the default, DISABLED
	mismatch         // the flag has no value of the type: TYPE_MISMATCH
)

// resolve evaluates key, a flag ("checkout") or one of its attributes
// ("checkout.currency"), as a T.
func resolve[T any](ctx context.Context, p *Provider, key string, def T, flatCtx openfeature.FlattenedContext, k kind[T]) openfeature.GenericResolutionDetail[T] {
	flagKey, attr, _ := strings.Cut(key, ".")
	f, reason, rerr := p.evaluate(ctx, flagKey, flatCtx)
	if rerr != nil {
		return failed(def, *rerr)
	}
	out := openfeature.GenericResolutionDetail[T]{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{Reason: reason, Variant: f.Variant}}
	if attr == "" {
		if k.flag == nil {
			return failed(def, openfeature.NewTypeMismatchResolutionError(fmt.Sprintf(
				"mw: flag %q is read as a boolean (its state), a string (its variant) or an object (its attributes), not as %s: read one of its attributes as %q",
				flagKey, k.name, flagKey+".<attribute>")))
		}
		v, o := k.flag(f)
		switch o {
		case off:
			out.Value, out.Reason = v, openfeature.DisabledReason
			return out
		case disabled:
			out.Reason = openfeature.DisabledReason
			return out
		case mismatch:
			return failed(def, openfeature.NewTypeMismatchResolutionError(fmt.Sprintf(
				"mw: flag %q has no variants, so no value as %s: read its state as a boolean, or one of its attributes as %q",
				flagKey, k.name, flagKey+".<attribute>")))
		}
		out.Value = v
		return out
	}
	raw, ok := f.Attributes[attr]
	switch {
	case !ok && !f.Enabled:
		out.Reason = openfeature.DisabledReason // AppConfig serves a disabled flag without its attributes
		return out
	case !ok:
		return failed(def, openfeature.NewFlagNotFoundResolutionError(fmt.Sprintf("mw: flag %q of profile %q has no attribute %q", flagKey, p.profile, attr)))
	}
	v, ok := k.attribute(raw)
	if !ok {
		return failed(def, openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("mw: attribute %q of flag %q is %s, not %s", attr, flagKey, typeName(raw), k.name)))
	}
	out.Value = v
	return out
}

// evaluate reads flag: from memory when flatCtx is empty (mw.FeatureFlag),
// else evaluated against it (mw.EvaluateFlag, one request).
func (p *Provider) evaluate(ctx context.Context, flag string, flatCtx openfeature.FlattenedContext) (mw.Flag, openfeature.Reason, *openfeature.ResolutionError) {
	evalCtx, rerr := p.evaluationContext(flatCtx)
	if rerr != nil {
		return mw.Flag{}, "", rerr
	}
	if len(evalCtx) == 0 {
		f, err := mw.FeatureFlag(ctx, p.profile, flag)
		if err != nil {
			return mw.Flag{}, "", resolutionError(err)
		}
		if f.Variant != "" {
			return f, openfeature.DefaultReason, nil // no context: the default variant
		}
		return f, openfeature.StaticReason, nil
	}
	f, err := mw.EvaluateFlag(ctx, p.profile, flag, evalCtx)
	if err != nil {
		return mw.Flag{}, "", resolutionError(err)
	}
	if f.Variant == "" {
		return f, openfeature.StaticReason, nil
	}
	// The variant served without a context is the default one.
	if d, err := mw.FeatureFlag(ctx, p.profile, flag); err == nil && d.Variant == f.Variant {
		return f, openfeature.DefaultReason, nil
	}
	return f, openfeature.TargetingMatchReason, nil
}

// resolutionError is OpenFeature's code for an error of mw's accessors.
// Their messages name the profile, the flag and the fix, never a value.
func resolutionError(err error) *openfeature.ResolutionError {
	var re openfeature.ResolutionError
	switch {
	case errors.Is(err, mw.ErrNoValues):
		re = openfeature.NewProviderNotReadyResolutionError(
			"mw: the context holds no mw values: evaluate with the ctx of a handler wrapped by mw.Wrap (" + err.Error() + ")")
	case errors.Is(err, mw.ErrUnknownFlag):
		re = openfeature.NewFlagNotFoundResolutionError(err.Error())
	case errors.Is(err, mw.ErrDecode):
		re = openfeature.NewParseErrorResolutionError(err.Error(), err)
	default:
		re = openfeature.NewGeneralResolutionError(err.Error(), err)
	}
	return &re
}

// failed is the default value, with the reason ERROR and rerr.
func failed[T any](def T, rerr openfeature.ResolutionError) openfeature.GenericResolutionDetail[T] {
	return openfeature.GenericResolutionDetail[T]{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
		Reason: openfeature.ErrorReason, ResolutionError: rerr}}
}

// flagState reads the flag as a boolean: whether it is enabled. A flag
// without variants that is disabled is so in AppConfig: DISABLED.
func flagState(f mw.Flag) (bool, outcome) {
	if !f.Enabled && f.Variant == "" {
		return false, off
	}
	return f.Enabled, found
}

// flagVariant reads the flag as a string: a multi-variant flag's variant.
func flagVariant(f mw.Flag) (string, outcome) {
	if f.Variant == "" {
		return "", mismatch
	}
	return f.Variant, found
}

// flagAttributes reads the flag as an object: its attributes, which a
// disabled flag is served without.
func flagAttributes(f mw.Flag) (any, outcome) {
	switch {
	case f.Attributes != nil:
		return f.Attributes, found
	case !f.Enabled:
		return nil, disabled
	}
	return map[string]any{}, found
}

func asBool(v any) (bool, bool)     { b, ok := v.(bool); return b, ok }
func asString(v any) (string, bool) { s, ok := v.(string); return s, ok }
func asFloat(v any) (float64, bool) { x, ok := v.(float64); return x, ok }
func asAny(v any) (any, bool)       { return v, true }

// asInt reads a number that is a whole number in int64's range.
func asInt(v any) (int64, bool) {
	x, ok := v.(float64)
	if !ok || x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
		return 0, false
	}
	return int64(x), true
}

// typeName names an attribute's type as AppConfig does, for a message that
// holds no value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		return "a number"
	case []string:
		return "a list of strings"
	case []float64:
		return "a list of numbers"
	}
	return fmt.Sprintf("a %T", v)
}
