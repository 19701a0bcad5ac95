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
// strings or of numbers. Printed with fmt, a Flag shows its attribute names,
// never their values.
type Flag struct {
	Enabled    bool
	Attributes map[string]any
}

// String returns whether the flag is enabled and its attribute names:
// mwtest.Flag{Enabled: true, Attributes: ["limit"]}.
func (f Flag) String() string {
	return "mwtest.Flag{Enabled: " + strconv.FormatBool(f.Enabled) + ", Attributes: " + quotedKeys(f.Attributes) + "}"
}

// GoString returns String.
func (f Flag) GoString() string { return f.String() }

// Format writes String for every verb.
func (f Flag) Format(s fmt.State, _ rune) { _, _ = io.WriteString(s, f.String()) }

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
	content     []byte            // never mutated
	flags       map[string][]byte // a feature-flag profile's flags, each as served
}

// flagKey is the pattern of a flag's key and of an attribute's key in the
// AWS.AppConfig.FeatureFlags type reference.
var flagKey = regexp.MustCompile(`^[a-z][a-zA-Z\d_-]{0,63}$`)

func (s *store) putConfiguration(k configKey, typ, contentType string, content []byte, flags map[string][]byte) int {
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

// flagsBody builds what the extension serves for a feature-flag profile: a
// map of each flag's key to {"enabled": bool, ...attributes}, with the
// attributes only when the flag is enabled ("Retrieving basic and
// multi-variant feature flags"). It also returns each flag's object alone,
// for the flag query. It panics on a key AppConfig would refuse.
func flagsBody(name string, flags map[string]Flag) ([]byte, map[string][]byte) {
	each := make(map[string][]byte, len(flags))
	var b strings.Builder
	b.WriteByte('{')
	for i, key := range slices.Sorted(maps.Keys(flags)) {
		if !flagKey.MatchString(key) {
			panic(fmt.Sprintf("mwtest: PutFeatureFlags %q: flag key %q does not match %s", name, key, flagKey))
		}
		f := flags[key]
		obj := map[string]any{"enabled": f.Enabled}
		if f.Enabled {
			for attr, v := range f.Attributes {
				if !flagKey.MatchString(attr) || attr == "enabled" {
					panic(fmt.Sprintf("mwtest: PutFeatureFlags %q: flag %q: attribute key %q does not match %s, or is \"enabled\"", name, key, attr, flagKey))
				}
				obj[attr] = v
			}
		}
		each[key] = []byte(mustJSON(obj))
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(mustJSON(key) + ":" + string(each[key]))
	}
	b.WriteByte('}')
	return []byte(b.String()), each
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
