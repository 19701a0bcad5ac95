package mw

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/lambda-mw/mw/internal/resolved"
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
	return decodeJSON[T](ctx, resolved.Secret, id)
}

// ParameterJSON decodes a declared parameter's JSON value into a T, as
// SecretJSON does for secrets.
func ParameterJSON[T any](ctx context.Context, name string) (T, error) {
	return decodeJSON[T](ctx, resolved.Parameter, name)
}

// SecretBinary returns a declared secret's value as bytes: those of a
// binary secret (SecretBinary, base64 on the wire, decoded), or those of a
// SecretString. Each call returns a new slice, which the caller may keep
// and change.
func SecretBinary(ctx context.Context, id string) ([]byte, error) {
	s, i, err := find(ctx, resolved.Secret, id)
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
	s, i, err := find(ctx, resolved.Parameter, name)
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

func decodeJSON[T any](ctx context.Context, k resolved.Kind, name string) (T, error) {
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
		return zero, decodeError(k, name, t, err)
	}
	if _, no := v.(notFlat); no {
		var v T
		if err := json.Unmarshal([]byte(s.Values[i]), &v); err != nil {
			return zero, decodeError(k, name, t, err)
		}
		return v, nil
	}
	return v.(T), nil // a copy: T holds nothing shared
}

// notFlat marks, in a Set's memo, a type whose decoded values cannot be
// shared.
type notFlat struct{}

func decodeError(k resolved.Kind, name string, t reflect.Type, err error) error {
	return &LookupError{Kind: k.String(), Name: name, Err: fmt.Errorf("%w into %s: %s", ErrDecode, t, jsonProblem(err))}
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
