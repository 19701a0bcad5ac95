package mw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// SecretJSON decodes a declared secret's JSON value into a T, such as the
// credentials struct of an RDS secret:
//
//	type DB struct {
//		Username string `json:"username"`
//		Password string `json:"password"`
//		Host     string `json:"host"`
//		Port     int    `json:"port"`
//	}
//	db, err := mw.SecretJSON[DB](ctx, "prod/db")
//
// Like Secret it does no I/O. A value is decoded once per type and then
// copied to each caller, when T holds no pointers, maps, slices or
// interfaces (like the struct above); any other T is decoded on each call,
// so that no two invokes share memory. A value that is not JSON of T's
// shape gives a *LookupError wrapping ErrDecode, which says where the JSON
// went wrong but never quotes it.
func SecretJSON[T any](ctx context.Context, id string) (T, error) {
	return decodeJSON[T](ctx, KindSecret, id)
}

// ParameterJSON decodes a declared parameter's JSON value into a T, as
// SecretJSON does for secrets.
func ParameterJSON[T any](ctx context.Context, name string) (T, error) {
	return decodeJSON[T](ctx, KindParameter, name)
}

// SecretBinary returns a declared secret's value as bytes: those of a
// binary secret (SecretBinary, base64 on the wire, decoded), or those of a
// SecretString. Each call returns a new slice, which the caller may keep
// and change.
func SecretBinary(ctx context.Context, id string) ([]byte, error) {
	s, i, err := find(ctx, KindSecret, id)
	if err != nil {
		return nil, err
	}
	return []byte(s.Values[i]), nil
}

// ParameterList returns a declared parameter's value split at its commas,
// as a StringList parameter's items. An empty value is an empty list. The
// split is done once per value; each call returns a new slice, which the
// caller may keep and change.
func ParameterList(ctx context.Context, name string) ([]string, error) {
	s, i, err := find(ctx, KindParameter, name)
	if err != nil {
		return nil, err
	}
	v, _ := s.Memo(i, listKey{}, func(v string) (any, error) {
		if v == "" {
			return []string{}, nil
		}
		return strings.Split(v, ","), nil
	})
	return slices.Clone(v.([]string)), nil
}

// listKey is the memo key of a parameter's list form.
type listKey struct{}

func decodeJSON[T any](ctx context.Context, k Kind, name string) (T, error) {
	var zero T
	s, i, err := find(ctx, k, name)
	if err != nil {
		return zero, err
	}
	t := reflect.TypeFor[T]()
	v, err := s.Memo(i, t, func(raw string) (any, error) {
		if !flat(t) {
			return notFlat{}, nil // remembered, so the walk of t is done once
		}
		var v T
		err := json.Unmarshal([]byte(raw), &v)
		return v, err
	})
	if err != nil {
		return zero, decodeError(k, name, t, s.Values[i], err)
	}
	if _, no := v.(notFlat); no {
		var v T
		if err := json.Unmarshal([]byte(s.Values[i]), &v); err != nil {
			return zero, decodeError(k, name, t, s.Values[i], err)
		}
		return v, nil
	}
	return v.(T), nil // a copy: T holds nothing shared
}

// notFlat marks, in a Set's memo, a type whose decoded values cannot be
// shared.
type notFlat struct{}

// decodeError says why raw is not JSON of type t, and where, without a
// value and without a key taken from the value (a map key may be a secret).
func decodeError(k Kind, name string, t reflect.Type, raw string, err error) error {
	return &LookupError{Kind: k, Name: name, Err: fmt.Errorf("%w into %s: %s", ErrDecode, t, decodeProblem(t, raw, err))}
}

func decodeProblem(t reflect.Type, raw string, err error) string {
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
		switch t.Kind() {
		case reflect.Struct:
			f, declared, ok := jsonField(t, parts[0])
			if !ok {
				return strings.Join(append(out, "?"), ".")
			}
			out, t, parts = append(out, declared), f.Type, parts[1:]
		case reflect.Map:
			out, t = append(out, "*"), t.Elem()
			if !names(t, parts[0]) { // the key itself is in the path
				parts = parts[1:]
			}
		case reflect.Slice, reflect.Array:
			out, t = append(out, "[]"), t.Elem()
			if _, err := strconv.Atoi(parts[0]); err == nil { // the index
				parts = parts[1:]
			}
		default:
			return strings.Join(append(out, "?"), ".")
		}
	}
	return strings.Join(out, ".")
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

// flat reports whether a value of type t can be copied with no memory
// shared between the copies: no pointers, maps, slices, channels,
// functions or interfaces, at any depth. Strings are immutable, so they
// are flat.
func flat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return flat(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// JSON decodes the JSON value of an item held as a handle, as SecretJSON
// and ParameterJSON do for a name:
//
//	var db = mw.WithSecret("prod/db")
//	...
//	creds, err := mw.JSON[DB](ctx, db)
func JSON[T any, H SecretHandle | ParameterHandle](ctx context.Context, h H) (T, error) {
	switch h := any(h).(type) {
	case SecretHandle:
		return decodeJSON[T](ctx, KindSecret, h.it.ref())
	case ParameterHandle:
		return decodeJSON[T](ctx, KindParameter, h.it.ref())
	}
	panic("unreachable")
}
