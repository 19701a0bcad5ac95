package openfeature

import (
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
)

// evaluationContext is flatCtx as mw.EvaluateFlag takes it, each value a
// string: a string as it is; a boolean "true" or "false"; an integer in
// decimal; a float in decimal without an exponent; a time.Time in RFC 3339
// (UTC). The targeting key goes under p.targetingKey. A nil value is left
// out; a value of another type (a list, a map, a struct) is
// INVALID_CONTEXT, named by its key, never shown.
func (p *Provider) evaluationContext(flatCtx openfeature.FlattenedContext) (map[string]string, *openfeature.ResolutionError) {
	if len(flatCtx) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(flatCtx))
	var target *string
	for k, v := range flatCtx {
		if v == nil {
			continue
		}
		s, ok := contextValue(v)
		if !ok {
			re := openfeature.NewInvalidContextResolutionError(fmt.Sprintf(
				"mw: the evaluation context's %q is a %T: AppConfig's rules read strings, numbers, booleans and times", k, v))
			return nil, &re
		}
		if k == openfeature.TargetingKey {
			target = &s
			continue
		}
		out[k] = s
	}
	if target != nil {
		out[p.targetingKey] = *target
	}
	return out, nil
}

// contextValue is v as a string, for the value types a rule reads.
func contextValue(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, rv.Type().Bits()), true
	}
	return "", false
}
