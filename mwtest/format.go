package mwtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Printing: the types that hold values or the token print neither, under
// any verb. fmt cannot call methods on an unexported struct field, so a
// Values kept in one prints its maps; keep it in an exported field or
// print its names yourself.

// String returns the names v holds, sorted, never a value:
//
//	mwtest.Values{Parameters: ["/app/flags"], Secrets: ["prod/db"]}
//
// with AppConfig's profiles after them when it holds any.
func (v Values) String() string {
	s := "mwtest.Values{Parameters: " + quotedKeys(v.Parameters) + ", Secrets: " + quotedKeys(v.Secrets)
	if len(v.AppConfig) > 0 {
		s += ", AppConfig: " + quotedKeys(v.AppConfig)
	}
	if len(v.ParametersByPath) > 0 {
		s += ", ParametersByPath: " + quotedKeys(v.ParametersByPath)
	}
	if len(v.Missing) > 0 {
		s += ", Missing: " + strconv.Itoa(len(v.Missing))
	}
	if len(v.Stale) > 0 {
		s += ", Stale: " + quotedKeys(v.Stale)
	}
	return s + "}"
}

// GoString returns String: %#v shows no value either.
func (v Values) GoString() string { return v.String() }

// Format writes String for every verb (%v, %+v, %#v, %s, %q, %x, ...).
func (v Values) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, v.String()) }

func quotedKeys[V any](m map[string]V) string {
	keys := slices.Sorted(maps.Keys(m))
	for i, k := range keys {
		keys[i] = strconv.Quote(k)
	}
	return "[" + strings.Join(keys, " ") + "]"
}

// String returns "mwtest.Extension(<dialect>)": never the token or a value.
func (e *Extension) String() string {
	if e == nil {
		return "mwtest.Extension(nil)"
	}
	return "mwtest.Extension(" + e.dialect.String() + ")"
}

// GoString returns String.
func (e *Extension) GoString() string { return e.String() }

// Format writes String for every verb (%v, %+v, %#v, %s, %q, %x, ...).
func (e *Extension) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }
