package mw

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/safejson"
)

// Secret returns the value of a secret declared with WithSecrets, as the
// current invoke resolved it. It does no I/O. ctx must be the context the
// wrapped handler received, or one derived from it; otherwise, or when id
// was not declared, it returns a *LookupError naming the secret.
//
// A binary secret is returned as its raw bytes; SecretBinary returns them
// as a []byte.
func Secret(ctx context.Context, id string) (string, error) {
	return lookup(ctx, KindSecret, id)
}

// Parameter returns the value of a parameter declared with WithParameters,
// or found under a path declared with WithParametersByPath, as the current
// invoke resolved it. SecureString parameters come back decrypted, and
// StringList parameters comma-joined. It does no I/O. ctx must be the
// context the wrapped handler received, or one derived from it; otherwise,
// or when name was not declared, it returns a *LookupError naming the
// parameter. A binary secret read through Parameter Store, as
// /aws/reference/secretsmanager/<id>, is returned as its raw bytes.
func Parameter(ctx context.Context, name string) (string, error) {
	return lookup(ctx, KindParameter, name)
}

// ParametersByPath returns every parameter found under a path declared with
// WithParametersByPath (by the path, or its Alias), by full name, such as
// "/app/prod/db/host". The map is the caller's: a new one on each call. It
// does no I/O; an empty map means the path holds no parameter.
func ParametersByPath(ctx context.Context, path string) (map[string]string, error) {
	s, i, err := find(ctx, KindParametersByPath, path)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(s.Trees[i])
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}

// Stale reports how far past its TTL the value an invoke serves for a
// declared item was when mw last tried to refresh it, and whether it is
// stale at all. mw serves an item's last
// good value when refreshing it fails, up to WithMaxStale past its TTL; a
// handler may note it, or call RefreshSecret. It is zero and false for a
// fresh value, and for a name that was not declared.
func Stale(ctx context.Context, k Kind, name string) (time.Duration, bool) {
	s, i, err := find(ctx, k, name)
	if err != nil || s.Stale == nil || i >= len(s.Stale) || s.Stale[i] <= 0 {
		return 0, false
	}
	return s.Stale[i], true
}

// RefreshSecret fetches a declared secret again, now, and returns its new
// value, which Secret then returns too, in this invoke and the next ones.
// Use it when the value stopped working, such as a database login that
// fails after a rotation:
//
//	if isAuthError(err) {
//		pw, err = mw.RefreshSecret(ctx, "prod/db")
//		// log in again once
//	}
//
// Concurrent calls for the same secret share one fetch, and a call within a
// second of another's successful refresh returns that result, so a
// stampede of failing invokes costs one request. A refresh is always a new
// fetch: it never takes the result of an ordinary one in flight. With
// WithSecretsManagerAgent the agent is asked to bypass its cache
// (refreshNow=true). The managed Lambda extension keeps its own cache, for
// SECRETS_MANAGER_TTL seconds (300 by default); lower it for secrets that
// rotate. On failure the last good value stays in place and the error is a
// *FetchError.
func RefreshSecret(ctx context.Context, id string) (string, error) {
	return refresh(ctx, KindSecret, id)
}

// RefreshParameter is RefreshSecret for a declared parameter. The managed
// extension serves it from its own cache for SSM_PARAMETER_STORE_TTL. For a
// parameter found under a declared path, the whole path is fetched again.
func RefreshParameter(ctx context.Context, name string) (string, error) {
	return refresh(ctx, KindParameter, name)
}

func refresh(ctx context.Context, k Kind, name string) (string, error) {
	if w := owner(ctx, k, name); w != nil {
		if err := w.refresh(ctx, resolved.Kind(k), name); err != nil {
			return "", err
		}
	}
	return lookup(ctx, k, name)
}

// owner returns the engine of the Wrap in ctx that fetches name as kind k:
// that of the innermost Wrap whose values hold it (declared, or found under
// a declared path), which the accessors read it from; else, for a
// parameter no listing has found yet, that of the innermost Wrap that
// declares a path that would list it. It is nil when no Wrap in ctx does,
// or when the values are a test's (package mwtest).
func owner(ctx context.Context, k Kind, name string) *wrapper {
	var holds, covers *resolved.Holder
	resolved.Each(ctx, func(h *resolved.Holder) bool {
		set := h.Load()
		if set == nil {
			return true
		}
		if _, err, ok := set.Position(resolved.Kind(k), name); ok || err != nil {
			holds = h
			return false
		}
		if covers == nil && set.Index.Covers(resolved.Kind(k), name) {
			covers = h
		}
		return true
	})
	if holds == nil {
		holds = covers
	}
	if holds == nil {
		return nil
	}
	w, _ := holds.Owner.(*wrapper)
	return w
}

func lookup(ctx context.Context, k Kind, name string) (string, error) {
	s, i, err := find(ctx, k, name)
	if err != nil {
		return "", err
	}
	return s.Values[i], nil
}

// declaredAs returns the kind name is declared as by a Wrap in ctx, or 0.
func declaredAs(ctx context.Context, name string) Kind {
	for k := range kinds[1:] {
		if _, _, _, found := position(ctx, Kind(k+1), name); found {
			return Kind(k + 1)
		}
	}
	return 0
}

// position finds a declared item in the Set of the innermost Wrap in ctx
// that declares it: the Set, the item's position, and why it has no value
// (an optional item); found is false when no Wrap declares it, and any is
// false when ctx holds no values at all.
func position(ctx context.Context, k Kind, name string) (s *resolved.Set, i int, err error, found bool) {
	for h, outer := resolved.Next(ctx); h != nil; h, outer = resolved.Next(outer) {
		set := h.Load()
		if set == nil {
			continue
		}
		if s == nil {
			s = set // the innermost, when none declares it
		}
		if j, e, ok := set.Position(resolved.Kind(k), name); ok || e != nil {
			return set, j, e, true
		}
	}
	return s, 0, nil, false
}

// notDeclared is the *LookupError for name, which no Wrap in ctx declares
// as kind k, with what the message needs to point at the fix: another
// kind it is declared as, another spelling of a declared item, a declared
// name it likely misspells, or a test's values (mwtest.NewContext) that
// lack it.
func notDeclared(ctx context.Context, k Kind, name string) *LookupError {
	e := &LookupError{Kind: k, Name: name, Err: ErrNotDeclared, declaredAs: declaredAs(ctx, name)}
	resolved.Each(ctx, e.lookIn)
	return e
}

// lookIn looks in the values of one Wrap (or of a test) for what the
// message of e, a read of a name not declared, needs to point at the fix,
// and reports whether to look further out.
func (e *LookupError) lookIn(h *resolved.Holder) bool {
	s := h.Load()
	if s == nil {
		return true
	}
	k := resolved.Kind(e.Kind)
	if ref, ok := spelling(s, h.Owner == nil, e.Kind, e.Name); ok {
		e.readAs = ref
		return false
	}
	if refs := s.Index.Parts(k, e.Name); refs != nil {
		e.partOf = slices.Clone(refs)
		return false
	}
	if e.near == "" {
		e.near, _ = s.Index.Nearest(k, e.Name)
	}
	if h.Owner == nil && e.declaredAs == 0 {
		e.inTest = true // the innermost values a test made lack it
	}
	return !e.inTest
}

// spelling returns the name handlers read the item that name spells
// otherwise by, if s declares one: an AppConfig profile read as
// application/environment/profile. A test's values (inTest) hold a
// profile by its name alone.
func spelling(s *resolved.Set, inTest bool, k Kind, name string) (string, bool) {
	if ref, ok := s.Index.Spelling(resolved.Kind(k), name); ok || !inTest || k != KindAppConfig {
		return ref, ok
	}
	p := name[strings.LastIndexByte(name, '/')+1:]
	_, ok := s.Index.Lookup(resolved.Kind(k), p)
	return p, ok && p != name
}

// find returns the Set that holds a declared item's value, and its
// position, or a *LookupError saying why there is none.
func find(ctx context.Context, k Kind, name string) (*resolved.Set, int, error) {
	s, i, err, found := position(ctx, k, name)
	switch {
	case s == nil:
		return nil, 0, &LookupError{Kind: k, Name: name, Err: ErrNoValues}
	case !found:
		return nil, 0, notDeclared(ctx, k, name)
	case err != nil:
		fe, _ := err.(*FetchError)
		return nil, 0, &LookupError{Kind: k, Name: name, Err: ErrNotFound, Fetch: fe}
	}
	return s, i, nil
}

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

// SecretBinary returns the bytes of a declared binary secret (its
// SecretBinary, base64 on the wire, decoded). A secret its source says
// holds a SecretString gives a *LookupError wrapping ErrWrongType: read it
// with Secret or SecretJSON. Each call returns a new slice, which the
// caller may keep and change.
func SecretBinary(ctx context.Context, id string) ([]byte, error) {
	s, i, err := find(ctx, KindSecret, id)
	if err != nil {
		return nil, err
	}
	if t := typeOf(s, i); t != "" && t != "SecretBinary" {
		return nil, &LookupError{Kind: KindSecret, Name: id, Err: fmt.Errorf("%w: it holds a %s, not a SecretBinary: read it with mw.Secret or mw.SecretJSON", ErrWrongType, t)}
	}
	return []byte(s.Values[i]), nil
}

// typeOf is the type of the item at position i of s, as its source said,
// or "".
func typeOf(s *resolved.Set, i int) string {
	if i < len(s.Types) {
		return s.Types[i]
	}
	return ""
}

// ParameterList returns a declared StringList parameter's items: its value
// split at its commas. An empty value is an empty list. A parameter its
// source says is a String or a SecureString gives a *LookupError wrapping
// ErrWrongType: read it with Parameter. The split is done once per value;
// each call returns a new slice, which the caller may keep and change.
func ParameterList(ctx context.Context, name string) ([]string, error) {
	s, i, err := find(ctx, KindParameter, name)
	if err != nil {
		return nil, err
	}
	if t := typeOf(s, i); t != "" && t != "StringList" {
		return nil, &LookupError{Kind: KindParameter, Name: name, Err: fmt.Errorf("%w: it is a %s parameter, not a StringList: read it with mw.Parameter", ErrWrongType, t)}
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
	return &LookupError{Kind: k, Name: name, Err: fmt.Errorf("%w into %s: %s", ErrDecode, t, safejson.Problem(t, raw, err))}
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
