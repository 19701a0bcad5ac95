package mwtest

import (
	"context"

	"github.com/lambda-mw/mw/internal/resolved"
)

// Values are the parameters, secrets and AppConfig configurations a test
// context carries, by the names (or aliases) a handler passes to
// mw.Parameter, mw.Secret and mw.AppConfig (a configuration profile's name).
// The typed accessors read them too: a JSON string for mw.SecretJSON and
// mw.AppConfigJSON, a comma-joined string for mw.ParameterList,
// string(bytes) for mw.SecretBinary, and for mw.FeatureFlag a feature-flag
// profile as the AppConfig extension serves it, such as
// {"new-checkout":{"enabled":true,"limit":5}}. Printed with fmt, under any
// verb, Values shows its names, never its values.
type Values struct {
	Parameters map[string]string
	Secrets    map[string]string
	AppConfig  map[string]string
}

// NewContext returns a copy of ctx in which mw.Parameter, mw.Secret and
// mw.AppConfig (and the accessors built on them) answer from v, as they do inside an invoke of a handler made by mw.Wrap. A name
// that v lacks is reported as not declared. mw.RefreshSecret and
// mw.RefreshParameter return the value unchanged.
func NewContext(ctx context.Context, v Values) context.Context {
	ix := &resolved.Index{}
	vals := make([]string, 0, len(v.Parameters)+len(v.Secrets)+len(v.AppConfig))
	for name, val := range v.Parameters {
		ix.Add(resolved.Parameter, name, len(vals))
		vals = append(vals, val)
	}
	for id, val := range v.Secrets {
		ix.Add(resolved.Secret, id, len(vals))
		vals = append(vals, val)
	}
	for profile, val := range v.AppConfig {
		ix.Add(resolved.AppConfig, profile, len(vals))
		vals = append(vals, val)
	}
	h := &resolved.Holder{}
	h.Store(&resolved.Set{Index: ix, Values: vals})
	return resolved.NewContext(ctx, h)
}
