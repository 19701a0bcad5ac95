// Package resolved holds the values an invoke resolved and carries them in a
// context.Context. It is shared by package mw, which fills it on each invoke,
// and package mwtest, which fills it for handler unit tests.
package resolved

import (
	"context"
	"strconv"
)

// Kind tells parameters from secrets; the two live in separate namespaces.
type Kind uint8

// The kinds of item.
const (
	Parameter Kind = iota + 1
	Secret
)

// String returns "parameter" or "secret".
func (k Kind) String() string {
	switch k {
	case Parameter:
		return "parameter"
	case Secret:
		return "secret"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Index maps declared names to positions in a Set's values. It is built once
// per Wrap and shared, read-only, by every Set made from it.
type Index struct {
	Parameters map[string]int
	Secrets    map[string]int
}

// Lookup returns the position of name, and whether it was declared.
func (ix *Index) Lookup(k Kind, name string) (int, bool) {
	var i int
	var ok bool
	switch k {
	case Parameter:
		i, ok = ix.Parameters[name]
	case Secret:
		i, ok = ix.Secrets[name]
	}
	return i, ok
}

// Set is an immutable view of resolved values. It never prints a value.
type Set struct {
	Index  *Index
	Values []string
}

// Lookup returns the value of a declared item; declared is false when the
// name was never declared for that kind.
func (s *Set) Lookup(k Kind, name string) (value string, declared bool) {
	i, ok := s.Index.Lookup(k, name)
	if !ok {
		return "", false
	}
	return s.Values[i], true
}

// String describes the set without any value, so that printing a context
// (context.Context's String method prints its values) reveals nothing.
func (s *Set) String() string {
	return "mw.values(" + strconv.Itoa(len(s.Values)) + " items, redacted)"
}

// GoString is String, so that %#v reveals nothing either.
func (s *Set) GoString() string { return s.String() }

type ctxKey struct{}

// NewContext returns a copy of ctx that carries s.
func NewContext(ctx context.Context, s *Set) context.Context {
	return context.WithValue(ctx, ctxKey{}, s)
}

// FromContext returns the Set in ctx, or nil.
func FromContext(ctx context.Context) *Set {
	s, _ := ctx.Value(ctxKey{}).(*Set)
	return s
}
