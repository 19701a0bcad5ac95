package mw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/safejson"
)

// A Flag is one feature flag of an AWS AppConfig feature-flag profile
// (AWS.AppConfig.FeatureFlags), as the AWS AppConfig Agent Lambda extension
// serves it: whether it is enabled and, while it is, its attributes. The
// extension serves a disabled flag without its attributes.
type Flag struct {
	// Enabled says whether the flag is on.
	Enabled bool

	// Variant is the name of the variant the extension chose for a
	// multi-variant flag ("_variant"), "" for a basic flag. FeatureFlag
	// reads the profile as fetched with no context: its default variant;
	// EvaluateFlag, the variant a caller's context chose.
	Variant string

	// Attributes are the flag's attributes, by key, typed as AppConfig
	// types them: string, float64 (a number), bool, []string or []float64
	// (an array of strings or of numbers); anything else as encoding/json
	// decodes it into an any. Nil when the flag has none. Each call of
	// FeatureFlag returns a copy the caller may keep and change.
	Attributes map[string]any
}

// EvaluateFlag evaluates flag, of a feature-flag profile declared with
// WithAppConfig (by the profile's name or Alias), against evalCtx, a
// caller's context such as {"country": "UK", "tier": "gold"}, as a
// multi-variant flag's rules need: the variant the rules choose is in
// Flag.Variant, with its value in Flag.Attributes.
//
// Unlike FeatureFlag it does I/O: one request to the profile's source per
// call, within ctx's deadline, which mw does not cache or retry: the AWS
// AppConfig Agent Lambda extension (version 2.0.45 or later: its Context
// header) or Cloud Extensions (GetFlag), both local, answering from their
// own cache. Where a flag has no variants, or the caller has no context,
// FeatureFlag answers the same from memory. Each request is an
// mw.evaluate span; neither the context nor the flag's value goes into an
// error, a span or a metric. The module github.com/lambda-mw/mw/openfeature reads flags so
// through OpenFeature's client.
//
// It returns a *LookupError wrapping ErrUnknownFlag for a flag the profile
// does not hold, ErrNotDeclared for a profile not declared, or
// ErrNotEvaluable when its source cannot evaluate a flag; a *FetchError
// when the source fails. In a context made by mwtest.NewContext it returns
// what FeatureFlag returns.
func EvaluateFlag(ctx context.Context, profile, flag string, evalCtx map[string]string) (Flag, error) {
	w := owner(ctx, KindAppConfig, profile)
	if w == nil {
		return FeatureFlag(ctx, profile, flag)
	}
	f, err := w.evaluate(ctx, profile, flag, evalCtx)
	if err != nil {
		return Flag{}, err
	}
	f.Attributes = copyAttributes(f.Attributes)
	return f, nil
}

// ErrNotEvaluable is what the *LookupError of EvaluateFlag wraps when the
// profile's source cannot evaluate a flag against a context (it is not a
// FlagEvaluator).
var ErrNotEvaluable = errors.New("the profile's source cannot evaluate a flag against a context")

// ErrUnknownFlag is what the *LookupError of FeatureFlag wraps when the
// profile has no flag of the key asked for.
var ErrUnknownFlag = errors.New("no such feature flag in the profile")

// FeatureFlag returns the feature flag of key flag in a feature-flag
// profile declared with WithAppConfig, by the profile's name or Alias. The
// profile is decoded once per fetched value, and each call returns a copy.
// It does no I/O.
//
// A flag the profile does not hold gives a *LookupError wrapping
// ErrUnknownFlag and naming the flag and the profile; a profile that is not
// the extension's JSON of feature flags, one wrapping ErrDecode. Neither
// holds anything of the configuration.
func FeatureFlag(ctx context.Context, profile, flag string) (Flag, error) {
	s, i, err := find(ctx, KindAppConfig, profile)
	if err != nil {
		return Flag{}, err
	}
	v, err := s.Memo(i, flagsKey{}, decodeFlags)
	if err != nil {
		return Flag{}, &LookupError{Kind: KindAppConfig, Name: profile, Err: fmt.Errorf("%w as feature flags: %v", ErrDecode, err)}
	}
	f, ok := v.(map[string]Flag)[flag]
	if !ok {
		return Flag{}, &LookupError{Kind: KindAppConfig, Name: profile, Err: fmt.Errorf("%w: %q", ErrUnknownFlag, flag)}
	}
	f.Attributes = copyAttributes(f.Attributes)
	return f, nil
}

// flagsKey is the memo key of a profile's decoded flags.
type flagsKey struct{}

// decodeFlags reads a feature-flag profile as the extension serves it:
// {"<flag>": {"enabled": bool, "_variant": "...", "<attribute>": value,
// ...}, ...} ("Retrieving basic and multi-variant feature flags"). Errors
// say where the JSON is wrong, never what it holds, nor a key (a key comes
// from the configuration).
func decodeFlags(raw string) (any, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &top); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			return nil, errors.New("the configuration is not a JSON object of flags: is the profile of type AWS.AppConfig.FeatureFlags?")
		}
		return nil, errors.New(safejson.Problem(nil, raw, err))
	}
	flags := make(map[string]Flag, len(top))
	for key, obj := range top {
		f, err := decodeFlag(obj)
		if err != nil {
			return nil, err
		}
		flags[key] = f
	}
	return flags, nil
}

// decodeFlag reads one flag's object.
func decodeFlag(obj json.RawMessage) (Flag, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj, &fields); err != nil {
		return Flag{}, errors.New("a flag is not a JSON object: is the profile of type AWS.AppConfig.FeatureFlags?")
	}
	var f Flag
	enabled, ok := fields["enabled"]
	if !ok || json.Unmarshal(enabled, &f.Enabled) != nil {
		return Flag{}, errors.New(`a flag has no boolean "enabled": is the profile of type AWS.AppConfig.FeatureFlags?`)
	}
	if v, ok := fields["_variant"]; ok && json.Unmarshal(v, &f.Variant) != nil {
		return Flag{}, errors.New(`a flag's "_variant" is not a string`)
	}
	for k, v := range fields {
		if k == "enabled" || k == "_variant" {
			continue
		}
		if f.Attributes == nil {
			f.Attributes = make(map[string]any, len(fields))
		}
		f.Attributes[k] = attributeValue(v)
	}
	return f, nil
}

// attributeValue types an attribute's JSON as AppConfig types attributes:
// a string, a number, a boolean, or an array of strings or of numbers;
// anything else as encoding/json would decode it.
func attributeValue(raw json.RawMessage) any {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '[' {
		var ss []string
		if json.Unmarshal(raw, &ss) == nil {
			return ss
		}
		var ns []float64
		if json.Unmarshal(raw, &ns) == nil {
			return ns
		}
	}
	var v any
	_ = json.Unmarshal(raw, &v) // raw is a value of a decoded object
	return v
}

// copyAttributes copies attributes so that no two callers share memory.
func copyAttributes(attrs map[string]any) map[string]any {
	if attrs == nil {
		return nil
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []float64:
		return slices.Clone(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case map[string]any:
		out := maps.Clone(x)
		for k, e := range out {
			out[k] = copyValue(e)
		}
		return out
	}
	return v
}

// AppConfig returns the configuration of a profile declared with
// WithAppConfig, by the profile's name (or its Alias), as the AWS AppConfig
// Agent Lambda extension served it for the current invoke: the bytes of the
// deployed version, whatever its content type (JSON, YAML, text, or binary
// data). It does no I/O. Each call returns a new slice, which the caller
// may keep and change. As the other accessors, it returns a *LookupError
// when ctx holds no values or the profile was not declared, or when an
// Optional profile has no value.
func AppConfig(ctx context.Context, profile string) ([]byte, error) {
	s, i, err := find(ctx, KindAppConfig, profile)
	if err != nil {
		return nil, err
	}
	return []byte(s.Values[i]), nil
}

// AppConfigJSON decodes a declared profile's JSON configuration into a T,
// as SecretJSON does for secrets: decoded once per type and value when T
// holds no pointers, maps, slices or interfaces, else on each call. A
// configuration that is not JSON of T's shape (such as a YAML one) gives a
// *LookupError wrapping ErrDecode, which says where the JSON went wrong but
// never quotes it.
func AppConfigJSON[T any](ctx context.Context, profile string) (T, error) {
	return decodeJSON[T](ctx, KindAppConfig, profile)
}

// A FlagEvaluator is a Source that can evaluate one feature flag of a
// declared AppConfig profile against a caller's context, as a
// multi-variant flag's rules need: the AWS AppConfig Agent's Context
// header, or Cloud Extensions' GetFlag. Each evaluation is one request to
// the source, made within ctx; its error is a *SourceError, as Fetch's.
type FlagEvaluator interface {
	EvaluateFlag(ctx context.Context, it Item, flag string, evalCtx map[string]string) (Flag, error)
}

// evaluate is EvaluateFlag: one request for flag of profile, to its
// source, against evalCtx, within ctx less the reserve, and never past it.
func (w *wrapper) evaluate(ctx context.Context, profile, flag string, evalCtx map[string]string) (Flag, error) {
	i, ok := w.index.Lookup(resolved.Kind(KindAppConfig), profile)
	if !ok {
		return Flag{}, &LookupError{Kind: KindAppConfig, Name: profile, Err: ErrNotDeclared}
	}
	r := w.plans[i].route
	fe, ok := r.src.(FlagEvaluator)
	if !ok {
		return Flag{}, &LookupError{Kind: KindAppConfig, Name: profile,
			Err: fmt.Errorf("%w: the %s source does not; read the profile through the AWS AppConfig Agent or Cloud Extensions", ErrNotEvaluable, r.name)}
	}
	fctx, cancel := w.fetchContext(ctx)
	defer cancel()
	fctx, span := w.tel.StartEvaluate(fctx, i, r.name)
	start := time.Now()
	f, err := within(fctx, r, func() (Flag, error) { return fe.EvaluateFlag(fctx, w.items[i].Item, flag, evalCtx) })
	if err == nil {
		span.End("")
		return f, nil
	}
	if errors.Is(err, ErrUnknownFlag) {
		span.End(string(ClassNotFound))
		return Flag{}, &LookupError{Kind: KindAppConfig, Name: profile, Err: fmt.Errorf("%w: %q", ErrUnknownFlag, flag)}
	}
	se := judge(fctx, err).se
	fe2 := w.items[i].fetchError(fetchFailure{class: se.Class, status: se.Status, code: se.Code, hint: se.Hint, err: se,
		source: r.name, attempts: 1, elapsed: time.Since(start)})
	span.End(string(fe2.Class))
	return Flag{}, fe2
}
