package mwtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/resolved"
)

// Values are what a test context carries: the values a handler reads, by the
// names (or aliases) it passes to the accessors, and the states mw may serve
// them in. The typed accessors read them too: a JSON string for
// mw.SecretJSON and mw.AppConfigJSON, a comma-joined string for
// mw.ParameterList, and string(bytes) for mw.SecretBinary. Printed with fmt,
// under any verb, Values shows its names, never its values.
type Values struct {
	Parameters map[string]string
	Secrets    map[string]string

	// AppConfig holds AppConfig configurations, by profile name (or
	// Alias), as the AppConfig extension serves them: mw.AppConfig returns
	// the bytes; for mw.FeatureFlag, a feature-flag profile is JSON such as
	// {"new-checkout":{"enabled":true,"limit":5}}, and a multi-variant
	// flag is its chosen variant's values with the variant's name in
	// _variant: {"checkout":{"enabled":true,"_variant":"express"}}.
	// mw.EvaluateFlag answers from it as mw.FeatureFlag does, whatever
	// the context: to test variants chosen by context, run the wrapped
	// handler against Extension (PutFeatureFlags).
	AppConfig map[string]string

	// ParametersByPath holds, by declared path, the parameters found
	// under it, by full name: mw.ParametersByPath returns a copy, and
	// mw.Parameter finds each by its full name.
	ParametersByPath map[string]map[string]string

	// Missing holds optional items that could not be fetched, each as the
	// *mw.FetchError that says why, naming its item by Kind and by Alias,
	// else Name (for an AppConfig profile, whose Name is
	// application/environment/profile, by the part after the last '/'): its accessor returns a *mw.LookupError wrapping
	// mw.ErrNotFound and that error, as for an item declared Optional
	// whose fetch failed.
	Missing []*mw.FetchError

	// Stale holds, by item as spans name them ("secret:prod/db",
	// "parameter:/app/flags"), how far past its TTL the value served is,
	// as when refreshing it failed: mw.Stale reports it. NewContext panics
	// on a key that names no item of these Values, and on a Missing entry
	// with no Kind or Name: the test would otherwise test another path.
	Stale map[string]time.Duration
}

// NewContext returns a copy of ctx in which the accessors answer from v, as
// they do inside an invoke of a handler made by mw.Wrap. A name that v lacks
// is reported as not declared. mw.RefreshSecret and mw.RefreshParameter
// return the value unchanged. A nil ctx is taken as context.Background().
func NewContext(ctx context.Context, v Values) context.Context {
	b := setBuilder{s: &resolved.Set{Index: resolved.NewIndex(resolved.Kind(mw.KindParameter))}}
	for _, name := range slices.Sorted(maps.Keys(v.Parameters)) {
		b.add(resolved.Kind(mw.KindParameter), name, v.Parameters[name])
	}
	for _, id := range slices.Sorted(maps.Keys(v.Secrets)) {
		b.add(resolved.Kind(mw.KindSecret), id, v.Secrets[id])
	}
	for _, path := range slices.Sorted(maps.Keys(v.ParametersByPath)) {
		b.path(path, v.ParametersByPath[path])
	}
	for _, profile := range slices.Sorted(maps.Keys(v.AppConfig)) {
		b.add(resolved.Kind(mw.KindAppConfig), profile, v.AppConfig[profile])
	}
	for _, fe := range v.Missing {
		b.missing(fe)
	}
	for key, d := range v.Stale {
		b.stale(key, d)
	}
	h := &resolved.Holder{}
	h.Store(b.s)
	return resolved.NewContext(ctx, h)
}

// setBuilder fills the Set a test context carries.
type setBuilder struct {
	s *resolved.Set
}

func (b *setBuilder) add(k resolved.Kind, ref, value string) int {
	i := len(b.s.Values)
	b.s.Index.Add(k, ref, i)
	b.s.Values = append(b.s.Values, value)
	return i
}

func (b *setBuilder) path(path string, found map[string]string) {
	i := b.add(resolved.Kind(mw.KindParametersByPath), path, "")
	b.s.Index.AddPath(path, i)
	if b.s.Trees == nil {
		b.s.Trees, b.s.Found = map[int]map[string]string{}, map[string]int{}
	}
	b.s.Trees[i] = maps.Clone(found)
	for _, name := range slices.Sorted(maps.Keys(found)) {
		if _, declared := b.s.Index.Lookup(resolved.Kind(mw.KindParameter), name); !declared {
			b.s.Found[name] = len(b.s.Values)
			b.s.Values = append(b.s.Values, found[name])
		}
	}
}

func (b *setBuilder) missing(fe *mw.FetchError) {
	if fe == nil {
		return
	}
	if fe.Kind == 0 || fe.Name == "" && fe.Alias == "" {
		panic(fmt.Sprintf("mwtest: Values.Missing holds a *mw.FetchError with no Kind or no Name (%v): give it the Kind and the Name (or Alias) the handler reads", fe.Kind))
	}
	ref := fe.Alias
	if ref == "" {
		ref = fe.Name
		if fe.Kind == mw.KindAppConfig {
			ref = ref[strings.LastIndexByte(ref, '/')+1:]
		}
	}
	i := b.add(resolved.Kind(fe.Kind), ref, "")
	if fe.Kind == mw.KindParametersByPath {
		b.s.Index.AddPath(fe.Name, i)
	}
	errs := make([]error, len(b.s.Values))
	copy(errs, b.s.Errs)
	errs[i] = fe
	b.s.Errs = errs
}

func (b *setBuilder) stale(key string, d time.Duration) {
	kind, ref, _ := strings.Cut(key, ":")
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret, mw.KindParametersByPath, mw.KindAppConfig} {
		if k.String() != kind {
			continue
		}
		if i, ok := b.s.Index.Lookup(resolved.Kind(k), ref); ok {
			stale := make([]time.Duration, len(b.s.Values))
			copy(stale, b.s.Stale)
			stale[i] = d
			b.s.Stale = stale
			return
		}
	}
	// A mistake in the test: without this, it would test the fresh path.
	panic(fmt.Sprintf("mwtest: Values.Stale key %q names no item of Values: write kind:name as spans do, "+
		"such as \"secret:prod/db\" or \"parameter:/app/flags\", by the name (or alias) the handler reads", key))
}
