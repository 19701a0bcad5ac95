package fakeext

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/lambda-mw/mw/mwtest"
)

// The values file's "appconfig" section: configurations of the AppConfig
// dialect, by application, environment and profile.

type configEntry struct {
	Application string `json:"application"`
	Environment string `json:"environment"`
	Profile     string `json:"profile"`
	configVersion
	Versions []configVersion `json:"versions"`
	Deny     bool            `json:"deny"`
}

// configVersion is one deployed version: freeform content, given as text
// ("content") or as any JSON value ("json"), or feature flags ("flags").
type configVersion struct {
	ContentType string                    `json:"contentType"`
	Content     *string                   `json:"content"`
	JSON        json.RawMessage           `json:"json"`
	Flags       map[string]map[string]any `json:"flags"`
}

func (c configEntry) name() string { return c.Application + "/" + c.Environment + "/" + c.Profile }

func (c configEntry) versions() []configVersion {
	if c.Versions != nil {
		return c.Versions
	}
	return []configVersion{c.configVersion}
}

// flagKey is the pattern of a flag's and of an attribute's key, from
// AppConfig's type reference for AWS.AppConfig.FeatureFlags; mwtest refuses
// any other.
var flagKey = regexp.MustCompile(`^[a-z][a-zA-Z\d_-]{0,63}$`)

func (c configEntry) check() error {
	if c.Application == "" || c.Environment == "" || c.Profile == "" {
		return errAt("", `want "application", "environment" and "profile"`)
	}
	given := c.Content != nil || c.JSON != nil || c.Flags != nil || c.ContentType != ""
	if err := checkShape(c.Versions != nil, len(c.Versions), given, `"content"/"json"/"flags"/"contentType"`); err != nil {
		return err
	}
	flags := c.versions()[0].Flags != nil
	for i, v := range c.versions() {
		at := versionAt(c.Versions != nil, i)
		if err := v.check(at); err != nil {
			return err
		}
		if (v.Flags != nil) != flags {
			return errAt(at, "a profile holds feature flags in every version or in none (AppConfig cannot change a profile's type)")
		}
	}
	return nil
}

func (v configVersion) check(at string) error {
	n := 0
	for _, set := range []bool{v.Content != nil, v.JSON != nil, v.Flags != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return errAt(at, `give one of "content", "json" and "flags"`)
	case v.Flags != nil && v.ContentType != "" && v.ContentType != "application/json":
		return errAt(at+".contentType", "feature flags are application/json")
	}
	for _, key := range slices.Sorted(maps.Keys(v.Flags)) {
		if !flagKey.MatchString(key) {
			return errAt(fmt.Sprintf("%s.flags[%q]", at, key), "a flag key must match %s", flagKey)
		}
		if err := checkFlag(fmt.Sprintf("%s.flags[%q]", at, key), v.Flags[key]); err != nil {
			return err
		}
	}
	return nil
}

// checkFlag checks a flag as the extension serves it: "enabled", a
// boolean, and attributes of the types AppConfig allows.
func checkFlag(at string, f map[string]any) error {
	if _, ok := f["enabled"].(bool); !ok {
		return errAt(at, `want "enabled": true or false`)
	}
	for _, attr := range slices.Sorted(maps.Keys(f)) {
		if attr == "enabled" {
			continue
		}
		if !flagKey.MatchString(attr) {
			return errAt(fmt.Sprintf("%s[%q]", at, attr), "an attribute key must match %s", flagKey)
		}
		if !attributeType(f[attr]) {
			return errAt(fmt.Sprintf("%s[%q]", at, attr), "an attribute is a string, a number, a boolean, or an array of strings or of numbers")
		}
	}
	return nil
}

func attributeType(v any) bool {
	switch x := v.(type) {
	case string, float64, bool:
		return true
	case []any:
		strs, nums := 0, 0
		for _, e := range x {
			switch e.(type) {
			case string:
				strs++
			case float64:
				nums++
			}
		}
		return strs == len(x) || nums == len(x)
	}
	return false
}

// checkConfigs checks the section, and that no profile is listed twice.
func checkConfigs(entries []configEntry) error {
	seen := map[string]int{}
	for i, c := range entries {
		if err := c.check(); err != nil {
			return fmt.Errorf("appconfig[%d]%w", i, err)
		}
		if j, dup := seen[c.name()]; dup {
			return fmt.Errorf("appconfig[%d]: %s is listed again, after appconfig[%d]: give its versions in \"versions\"", i, c.name(), j)
		}
		seen[c.name()] = i
	}
	return nil
}

// apply deploys the profile's versions into e, and returns the lines that
// say so.
func (c configEntry) apply(e Store) []string {
	var lines []string
	for _, v := range c.versions() {
		var n int
		if v.Flags != nil {
			flags := make(map[string]mwtest.Flag, len(v.Flags))
			for key, f := range v.Flags {
				attrs := map[string]any{}
				for k, a := range f {
					if k != "enabled" {
						attrs[k] = a
					}
				}
				flags[key] = mwtest.Flag{Enabled: f["enabled"].(bool), Attributes: attrs}
			}
			n = e.PutFeatureFlags(c.Application, c.Environment, c.Profile, flags)
			lines = append(lines, fmt.Sprintf("appconfig %s (%s) version %d flags %v", c.name(), mwtest.TypeFeatureFlags, n, slices.Sorted(maps.Keys(v.Flags))))
			continue
		}
		content := []byte(nil)
		if v.Content != nil {
			content = []byte(*v.Content)
		} else {
			var b bytes.Buffer
			_ = json.Compact(&b, v.JSON) // decoded: valid JSON
			content = b.Bytes()
		}
		n = e.PutConfiguration(c.Application, c.Environment, c.Profile, v.ContentType, content)
		lines = append(lines, fmt.Sprintf("appconfig %s (%s, %s) version %d, %d bytes", c.name(), mwtest.TypeFreeform,
			cmp.Or(v.ContentType, "application/json"), n, len(content)))
	}
	if c.Deny {
		e.DenyConfiguration(c.Application, c.Environment, c.Profile)
		lines = append(lines, "appconfig "+c.name()+": access denied")
	}
	return lines
}
