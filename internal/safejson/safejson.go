// Package safejson describes what is wrong with JSON that mw could not
// decode without quoting any of it: a value, or a key taken from a value (a
// map key may be a secret). encoding/json's own errors quote the offending
// text.
package safejson

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Problem says why raw is not JSON of type t, as err, the error
// encoding/json returned, reports it, and where: by byte offset, or by the
// path of t's own field names (map keys as "*", elements as "[]"), never
// by anything raw holds. t may be nil.
func Problem(t reflect.Type, raw string, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case strings.HasPrefix(raw, "\ufeff"):
		return "the value starts with a UTF-8 byte order mark, which JSON does not allow: store it without one"
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		got, _, _ := strings.Cut(te.Value, " ") // "number -5": the kind, never the value
		want := article(kindName(te.Type))
		if path := safePath(t, te.Field); path != "" {
			return fmt.Sprintf("at %s, %s where %s is expected", path, article("JSON "+got), want)
		}
		return fmt.Sprintf("%s where %s is expected", article("JSON "+got), want)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "JSON of another shape"
}

// article puts "a" or "an" before a name.
func article(name string) string {
	if name != "" && strings.ContainsRune("aeiouAEIOU", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// kindName names the Go type a JSON value should have been, by kind when
// the type is unnamed: "int", "string", "struct DB".
func kindName(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	if t.Name() != "" {
		return t.Name()
	}
	return t.Kind().String()
}

// safePath rewrites the dotted path encoding/json reports, such as
// "credentials.port", keeping the names t declares (struct fields) and
// writing "*" for a map key and "[]" for an element: keys come from the
// value, and may be secret. encoding/json leaves map keys and indices out
// of the path; built with GOEXPERIMENT=jsonv2 it puts them in: both read
// the same.
func safePath(t reflect.Type, field string) string {
	if field == "" {
		return ""
	}
	parts := strings.Split(field, ".")
	var out []string
	for len(parts) > 0 && t != nil {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		var step string
		var ok bool
		if step, t, parts, ok = pathStep(t, parts); !ok {
			return strings.Join(append(out, "?"), ".")
		}
		out = append(out, step)
	}
	return strings.Join(out, ".")
}

// pathStep reads the first step of parts into t: the field's name t
// declares, "*" for a map's key, "[]" for an element; and returns the type
// and parts that follow, or false for a step t does not take.
func pathStep(t reflect.Type, parts []string) (string, reflect.Type, []string, bool) {
	switch t.Kind() {
	case reflect.Struct:
		f, declared, ok := jsonField(t, parts[0])
		return declared, f.Type, parts[1:], ok
	case reflect.Map:
		if !names(t.Elem(), parts[0]) { // the key itself is in the path
			parts = parts[1:]
		}
		return "*", t.Elem(), parts, true
	case reflect.Slice, reflect.Array:
		if _, err := strconv.Atoi(parts[0]); err == nil { // the index
			parts = parts[1:]
		}
		return "[]", t.Elem(), parts, true
	}
	return "", nil, nil, false
}

// names reports whether name is a field of t, a struct.
func names(t reflect.Type, name string) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return false
	}
	_, _, ok := jsonField(t, name)
	return ok
}

// jsonField returns the field of struct t that encoding/json decodes the
// key name into, and the name t declares for it.
func jsonField(t reflect.Type, name string) (reflect.StructField, string, bool) {
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		if strings.EqualFold(tag, name) {
			return f, tag, true
		}
	}
	return reflect.StructField{}, "", false
}
