package mwtest

import (
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The AppConfig dialect's store: configurations deployed to environments,
// freeform or feature flags, and the access rules.

// Configuration profile types, as AWS AppConfig names them.
const (
	TypeFreeform     = "AWS.Freeform"
	TypeFeatureFlags = "AWS.AppConfig.FeatureFlags"
)

// A Flag is one feature flag of an AWS.AppConfig.FeatureFlags profile, for
// PutFeatureFlags: whether it is enabled, and its attributes, which the
// extension serves only while the flag is enabled. Attribute values are
// what AppConfig allows: a string, a number, a boolean, or a slice of
// strings or of numbers.
//
// A multi-variant flag has Variants, in the order AppConfig checks them,
// and DefaultVariant, the name of the one served when no other matches the
// request's context; its own Enabled and Attributes are then left zero,
// since the variant chosen carries them. Printed with fmt, a Flag shows
// its attribute and variant names, never a value.
type Flag struct {
	Enabled        bool
	Attributes     map[string]any
	Variants       []Variant
	DefaultVariant string
}

// A Variant is one variant of a multi-variant flag: its name, whether it
// is enabled, its attribute values, and When, the rule that chooses it.
//
// When stands in for AppConfig's rule language, which the fake does not
// emulate (no operators such as eq, in, begins_with or split, no numbers
// or timestamps): a request's context matches it when the context holds
// each of When's keys with exactly its value. The first variant whose When
// matches is served, else the flag's DefaultVariant, which has no When, as
// AppConfig's default variant has no rule. cloudexttest.Variant, the Cloud
// Extensions fake's, reads the same way.
type Variant struct {
	Name       string
	Enabled    bool
	Attributes map[string]any
	When       map[string]string
}

// String returns whether the flag is enabled and its attribute names, and
// a multi-variant flag's variant names: mwtest.Flag{Enabled: true,
// Attributes: ["limit"]}, mwtest.Flag{Variants: ["gold" "off"],
// DefaultVariant: "off"}.
func (f Flag) String() string {
	if len(f.Variants) > 0 {
		names := make([]string, len(f.Variants))
		for i, v := range f.Variants {
			names[i] = strconv.Quote(v.Name)
		}
		return "mwtest.Flag{Variants: [" + strings.Join(names, " ") + "], DefaultVariant: " + strconv.Quote(f.DefaultVariant) + "}"
	}
	return "mwtest.Flag{Enabled: " + strconv.FormatBool(f.Enabled) + ", Attributes: " + quotedKeys(f.Attributes) + "}"
}

// GoString returns String.
func (f Flag) GoString() string { return f.String() }

// Format writes String for every verb.
func (f Flag) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, f.String()) }

// String returns the variant's name, whether it is enabled, and the names
// of its attributes and of When's keys, never a value:
// mwtest.Variant{Name: "gold", Enabled: true, Attributes: ["limit"], When: ["tier"]}.
func (v Variant) String() string {
	return "mwtest.Variant{Name: " + strconv.Quote(v.Name) + ", Enabled: " + strconv.FormatBool(v.Enabled) +
		", Attributes: " + quotedKeys(v.Attributes) + ", When: " + quotedKeys(v.When) + "}"
}

// GoString returns String.
func (v Variant) GoString() string { return v.String() }

// Format writes String for every verb.
func (v Variant) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, v.String()) }

// configKey names a configuration profile deployed to an environment.
type configKey struct{ application, environment, profile string }

// name is the key's name in Stats: application/environment/profile.
func (k configKey) name() string { return k.application + "/" + k.environment + "/" + k.profile }

// profile is one configuration profile in one environment, with its
// deployed versions.
type profile struct {
	typ      string
	versions []configVersion // versions[i] is version i+1; the last one is served
}

// configVersion is one deployed version of a profile, as the extension
// serves it.
type configVersion struct {
	contentType string
	content     []byte          // never mutated; a feature-flag profile's as served with no context
	flags       map[string]Flag // a feature-flag profile's flags, never mutated; nil for a freeform one
}

// flagKey is the pattern of a flag's key and of an attribute's key in the
// AWS.AppConfig.FeatureFlags type reference.
var flagKey = regexp.MustCompile(`^[a-z][a-zA-Z\d_-]{0,63}$`)

func (s *store) putConfiguration(k configKey, typ, contentType string, content []byte, flags map[string]Flag) int {
	if k.application == "" || k.environment == "" || k.profile == "" {
		panic(fmt.Sprintf("mwtest: %q: a configuration needs an application, an environment and a profile", k.name()))
	}
	p := s.configs[k]
	if p == nil {
		p = &profile{typ: typ}
		s.configs[k] = p
		s.name(k.name())
	}
	if p.typ != typ {
		panic(fmt.Sprintf("mwtest: configuration profile %q is of type %s, not %s (AppConfig cannot change a profile's type)", k.name(), p.typ, typ))
	}
	p.versions = append(p.versions, configVersion{contentType: contentType, content: content, flags: flags})
	return len(p.versions)
}

// flagsBody checks flags as AppConfig would, and builds what the
// extension serves for the profile with no context ("Retrieving basic and
// multi-variant feature flags"): a map of each flag's key to its object
// (served). It returns a copy of flags the caller cannot change, for the
// requests with a context. It panics on what AppConfig would refuse.
func flagsBody(name string, flags map[string]Flag) ([]byte, map[string]Flag) {
	kept := make(map[string]Flag, len(flags))
	for key, f := range flags {
		checkFlag(name, key, f)
		kept[key] = cloneFlag(f)
	}
	return []byte(renderFlags(kept, slices.Sorted(maps.Keys(kept)), nil)), kept
}

// checkFlag panics on a flag AppConfig would refuse: a key or an attribute
// key off its pattern, and a multi-variant flag with no default variant,
// two variants of a name, a default variant with a rule, another variant
// without one, or values of its own. A message names keys, never a value.
func checkFlag(name, key string, f Flag) {
	bad := func(format string, args ...any) {
		panic(fmt.Sprintf("mwtest: PutFeatureFlags %q: flag %q: ", name, key) + fmt.Sprintf(format, args...))
	}
	if !flagKey.MatchString(key) {
		bad("the key does not match %s", flagKey)
	}
	checkAttributes := func(attrs map[string]any) {
		for attr := range attrs {
			if !flagKey.MatchString(attr) || attr == "enabled" {
				bad("attribute key %q does not match %s, or is \"enabled\"", attr, flagKey)
			}
		}
	}
	checkAttributes(f.Attributes)
	if len(f.Variants) == 0 {
		if f.DefaultVariant != "" {
			bad("DefaultVariant names a variant, but the flag has none")
		}
		return
	}
	if f.Enabled || len(f.Attributes) > 0 {
		bad("a multi-variant flag's Enabled and Attributes are its variants': leave the flag's own zero")
	}
	if !slices.ContainsFunc(f.Variants, func(v Variant) bool { return v.Name == f.DefaultVariant }) {
		bad("DefaultVariant %q names none of its variants: every multi-variant flag has a default variant", f.DefaultVariant)
	}
	seen := map[string]bool{}
	for _, v := range f.Variants {
		switch {
		case v.Name == "":
			bad("a variant has no name")
		case seen[v.Name]:
			bad("two variants are named %q", v.Name)
		case v.Name == f.DefaultVariant && len(v.When) > 0:
			bad("the default variant %q has a When: AppConfig's default variant has no rule", v.Name)
		case v.Name != f.DefaultVariant && len(v.When) == 0:
			bad("variant %q has no When: every variant but the default has a rule", v.Name)
		}
		seen[v.Name] = true
		checkAttributes(v.Attributes)
	}
}

// cloneFlag copies f deeply enough that the caller's maps and slices are
// not shared.
func cloneFlag(f Flag) Flag {
	f.Attributes = cloneAttributes(f.Attributes)
	f.Variants = slices.Clone(f.Variants)
	for i, v := range f.Variants {
		f.Variants[i].Attributes = cloneAttributes(v.Attributes)
		f.Variants[i].When = maps.Clone(v.When)
	}
	return f
}

func cloneAttributes(attrs map[string]any) map[string]any {
	if attrs == nil {
		return nil
	}
	out := make(map[string]any, len(attrs))
	for k, v := range attrs {
		switch x := v.(type) {
		case []string:
			v = slices.Clone(x)
		case []float64:
			v = slices.Clone(x)
		case []any:
			v = slices.Clone(x)
		}
		out[k] = v
	}
	return out
}

// choose returns the variant served for evalCtx: the first whose When
// evalCtx matches, else the default one.
func (f Flag) choose(evalCtx map[string]string) Variant {
	var def Variant
	for _, v := range f.Variants {
		if v.Name == f.DefaultVariant {
			def = v
			continue
		}
		if matches(v.When, evalCtx) {
			return v
		}
	}
	return def
}

// matches reports whether evalCtx holds each key of when with its value.
func matches(when, evalCtx map[string]string) bool {
	for k, want := range when {
		if got, ok := evalCtx[k]; !ok || got != want {
			return false
		}
	}
	return true
}

// served is a flag's object as the extension serves it for evalCtx:
// {"enabled": bool, ...attributes} for a basic flag, the attributes only
// while it is enabled; for a multi-variant flag, the chosen variant's, with
// its name in "_variant", as AWS's example shows:
// {"_variant":"QA","dark_mode_support":true,"enabled":true}. UNVERIFIED:
// that a disabled variant, as a disabled flag, is served without its
// attributes.
func (f Flag) served(evalCtx map[string]string) string {
	enabled, attrs := f.Enabled, f.Attributes
	obj := map[string]any{}
	if len(f.Variants) > 0 {
		v := f.choose(evalCtx)
		enabled, attrs = v.Enabled, v.Attributes
		obj["_variant"] = v.Name
	}
	obj["enabled"] = enabled
	if enabled {
		maps.Copy(obj, attrs)
	}
	return mustJSON(obj)
}

// renderFlags is the JSON object of the flags of keys, in that order, each
// as served for evalCtx.
func renderFlags(flags map[string]Flag, keys []string, evalCtx map[string]string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, key := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(mustJSON(key) + ":" + flags[key].served(evalCtx))
	}
	b.WriteByte('}')
	return b.String()
}

// getConfiguration returns the served version of a profile, or the
// failure the extension answers.
func (s *store) getConfiguration(k configKey) (*profile, int, *failure) {
	if s.deniedConfigs[k] {
		return nil, 0, accessDenied("appconfig:StartConfigurationSession", ConfigurationARN(k.application, k.environment, k.profile))
	}
	p := s.configs[k]
	if p == nil {
		return nil, 0, &failure{code: codeResourceNotFound, msg: msgConfigurationNotFound}
	}
	return p, len(p.versions), nil
}

// ConfigurationARN returns the ARN of a configuration, as IAM policies name
// it for appconfig:StartConfigurationSession and
// appconfig:GetLatestConfiguration; AWS writes IDs where the fake, which has
// none, writes the names:
// arn:aws:appconfig:us-east-1:123456789012:application/<application>/environment/<environment>/configuration/<profile>.
func ConfigurationARN(application, environment, profile string) string {
	return "arn:aws:appconfig:" + Region + ":" + AccountID + ":application/" + application +
		"/environment/" + environment + "/configuration/" + profile
}
