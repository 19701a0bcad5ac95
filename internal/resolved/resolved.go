// Package resolved holds the values an invoke resolved and carries them in a
// context.Context. It is shared by package mw, which fills it on each invoke,
// and package mwtest, which fills it for handler unit tests.
package resolved

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is mw.Kind: each kind of item has names of its own.
type Kind uint8

// Index maps the names handlers read items by to positions in a Set's
// values. It is built once per Wrap and shared, read-only, by every Set made
// from it.
type Index struct {
	refs      []map[string]int // by kind: ref -> position
	paths     map[string]int   // declared paths, by path (not alias)
	listed    Kind             // the kind of the items a declared path lists
	spellings map[ref]string   // another spelling of a declared item -> its ref
	parts     map[ref][]string // the start of other spellings -> the refs of their items
}

// ref is a name of an item of a kind.
type ref struct {
	kind Kind
	name string
}

// AddSpelling records that spelling, which is not how handlers read an
// item of kind k, names the item they read as ref: an AppConfig profile's
// application/environment/profile, whose accessors take the profile.
func (ix *Index) AddSpelling(k Kind, spelling, asRef string) {
	if ix.spellings == nil {
		ix.spellings = map[ref]string{}
	}
	ix.spellings[ref{k, spelling}] = asRef
}

// Spelling returns the ref of the item name spells otherwise, if any.
func (ix *Index) Spelling(k Kind, name string) (string, bool) {
	r, ok := ix.spellings[ref{k, name}]
	return r, ok
}

// AddPart records that part, a start of another spelling that ends
// before one of its '/', begins the other spelling of the item handlers
// read as asRef: an AppConfig profile's application, or its
// application/environment.
func (ix *Index) AddPart(k Kind, part, asRef string) {
	if ix.parts == nil {
		ix.parts = map[ref][]string{}
	}
	r := ref{k, part}
	if !slices.Contains(ix.parts[r], asRef) {
		ix.parts[r] = append(ix.parts[r], asRef)
	}
}

// Parts returns the refs of the items whose other spelling name begins,
// in the order they were added, or nil. The caller must not change them.
func (ix *Index) Parts(k Kind, name string) []string {
	return ix.parts[ref{k, name}]
}

// Nearest returns the declared name of kind k that name most likely
// misspells: the same but for a leading or trailing '/' or the case of its
// letters, else the nearest within two edits (inserted, deleted or changed
// bytes), no more than a third of its length. It returns false when none
// is.
func (ix *Index) Nearest(k Kind, name string) (string, bool) {
	if int(k) >= len(ix.refs) {
		return "", false
	}
	best, bestD := "", 3
	for ref := range ix.refs[k] {
		d := 0
		if !strings.EqualFold(strings.Trim(ref, "/"), strings.Trim(name, "/")) {
			d = edits(ref, name, 3)
		}
		if d == 3 || d > max(len(ref), len(name))/3 {
			continue
		}
		if d < bestD || d == bestD && ref < best {
			best, bestD = ref, d
		}
	}
	return best, best != ""
}

// edits returns the number of single-byte insertions, deletions and
// changes that turn a into b (their Levenshtein distance), or limit if it
// is limit or more.
func edits(a, b string, limit int) int {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) >= limit {
		return limit
	}
	row := make([]int, len(a)+1)
	for i := range row {
		row[i] = i
	}
	for j := 1; j <= len(b); j++ {
		prev, least := row[0], j
		row[0] = j
		for i := 1; i <= len(a); i++ {
			cur := row[i]
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			row[i] = min(row[i]+1, row[i-1]+1, prev+cost)
			prev = cur
			least = min(least, row[i])
		}
		if least >= limit {
			return limit
		}
	}
	return min(row[len(a)], limit)
}

// NewIndex returns an empty index, whose declared paths list items of kind
// listed (mw's parameters).
func NewIndex(listed Kind) *Index { return &Index{listed: listed} }

// Listed is the kind of the items a declared path lists.
func (ix *Index) Listed() Kind { return ix.listed }

// Add records that ref names the item at position i.
func (ix *Index) Add(k Kind, ref string, i int) {
	for int(k) >= len(ix.refs) {
		ix.refs = append(ix.refs, nil)
	}
	if ix.refs[k] == nil {
		ix.refs[k] = map[string]int{}
	}
	ix.refs[k][ref] = i
}

// Lookup returns the position of ref, and whether it was declared.
func (ix *Index) Lookup(k Kind, ref string) (int, bool) {
	if int(k) >= len(ix.refs) {
		return 0, false
	}
	i, ok := ix.refs[k][ref]
	return i, ok
}

// AddPath records that the item at position i lists the items under path.
func (ix *Index) AddPath(path string, i int) {
	if ix.paths == nil {
		ix.paths = map[string]int{}
	}
	ix.paths[path] = i
}

// Paths returns the declared paths and their positions, by path.
func (ix *Index) Paths() map[string]int { return ix.paths }

// Covers reports whether ref names a declared item of kind k, or one that a
// declared path would list.
func (ix *Index) Covers(k Kind, ref string) bool {
	if _, ok := ix.Lookup(k, ref); ok {
		return true
	}
	if k == ix.listed {
		for path := range ix.paths {
			if Under(ref, path) {
				return true
			}
		}
	}
	return false
}

// Set is an immutable view of resolved values. It never prints a value.
type Set struct {
	Index  *Index
	Values []string
	// Types holds, by position, a declared item's type as AWS names it
	// (String, StringList, SecretBinary, ...), where its source said; nil
	// when none did.
	Types []string
	// Errs holds, by position, why an optional item has no value; nil
	// where the value is good. Nil when no item lacks a value.
	Errs []error
	// Stale holds, by position, how far past its TTL a value served stale
	// is; nil when none is.
	Stale []time.Duration
	// Trees holds, by the position of a declared path, the parameters
	// found under it, by full name. Nil when no path is declared.
	Trees map[int]map[string]string
	// Found maps the full name of each parameter found under a declared
	// path, and not declared itself, to its position in Values.
	Found map[string]int

	// memo holds decoded forms of values, by memoKey. It lives and dies
	// with the Set, so a refreshed value is never served decoded stale.
	memo sync.Map
}

type memoKey struct {
	i   int
	key any
}

// Memo returns decode(value) for the value at position i, decoding it once
// per key (typically a reflect.Type). Failures are not remembered. The
// result is shared: callers must not hand out anything it points to.
func (s *Set) Memo(i int, key any, decode func(string) (any, error)) (any, error) {
	k := memoKey{i, key}
	if v, ok := s.memo.Load(k); ok {
		return v, nil
	}
	v, err := decode(s.Values[i])
	if err != nil {
		return nil, err
	}
	v, _ = s.memo.LoadOrStore(k, v)
	return v, nil
}

// Position returns where a declared item's value is, or why it has none;
// declared is false when the name was never declared for that kind. A
// parameter may also be found under a declared path; a parameter under a
// path that could not be fetched has that path's error.
func (s *Set) Position(k Kind, name string) (i int, err error, declared bool) {
	i, ok := s.Index.Lookup(k, name)
	if !ok && k == s.Index.listed {
		i, ok = s.Found[name]
		if !ok {
			return s.underFailedPath(name)
		}
	}
	if !ok {
		return 0, nil, false
	}
	if s.Errs != nil && i < len(s.Errs) && s.Errs[i] != nil {
		return i, s.Errs[i], true
	}
	return i, nil, true
}

// underFailedPath reports the error of a declared path that holds name and
// has no value.
func (s *Set) underFailedPath(name string) (int, error, bool) {
	if s.Errs == nil {
		return 0, nil, false
	}
	for path, i := range s.Index.Paths() {
		if s.Errs[i] != nil && Under(name, path) {
			return i, s.Errs[i], true
		}
	}
	return 0, nil, false
}

// Under reports whether the parameter name lies under path, as
// ssm:GetParametersByPath with Recursive lists it.
func Under(name, path string) bool {
	if path == "/" {
		return strings.HasPrefix(name, "/")
	}
	return strings.HasPrefix(name, strings.TrimSuffix(path, "/")+"/")
}

// Lookup returns the value of a declared item, or why it has none; declared
// is false when the name was never declared for that kind.
func (s *Set) Lookup(k Kind, name string) (value string, err error, declared bool) {
	i, err, ok := s.Position(k, name)
	if !ok || err != nil {
		return "", err, ok
	}
	return s.Values[i], nil, true
}

// String describes the set without any value, so that printing a context
// (context.Context's String method prints its values) reveals nothing.
func (s *Set) String() string {
	return "mw.values(" + strconv.Itoa(len(s.Values)) + " items, redacted)"
}

// GoString is String, so that %#v reveals nothing either.
func (s *Set) GoString() string { return s.String() }

// Holder is what a context carries: the latest Set of one Wrap, which a
// forced refresh replaces, and the Wrap itself. One Holder serves every
// invoke of a Wrap, so carrying it costs an invoke nothing.
type Holder struct {
	set atomic.Pointer[Set]
	// Owner is the engine of the Wrap whose values these are, which can
	// fetch them again; nil for fixed test values.
	Owner any
}

// Load returns the latest Set, or nil before the first resolution.
func (h *Holder) Load() *Set { return h.set.Load() }

// Store makes s the latest Set.
func (h *Holder) Store(s *Set) { h.set.Store(s) }

// String reveals no value.
func (h *Holder) String() string {
	if s := h.Load(); s != nil {
		return s.String()
	}
	return "mw.values(none)"
}

// GoString is String.
func (h *Holder) GoString() string { return h.String() }

type ctxKey struct{}

// valuesCtx is a context that carries a Holder: that of the innermost
// Wrap, whose own context carries those of the Wraps around it, so that a
// handler wrapped twice reads the items of both. It costs an invoke one
// allocation, as context.WithValue would.
type valuesCtx struct {
	context.Context
	h *Holder
}

// Value returns the valuesCtx itself for ctxKey, so that the holders can
// be walked from the innermost out.
func (c *valuesCtx) Value(key any) any {
	if _, ok := key.(ctxKey); ok { // a type check: no call to compare values
		return c
	}
	return c.Context.Value(key)
}

// NewContext returns a copy of ctx that carries h, inside the holders ctx
// already carries. A nil ctx is taken as context.Background().
func NewContext(ctx context.Context, h *Holder) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return &valuesCtx{Context: ctx, h: h}
}

// Each calls f with each Holder ctx carries, from the innermost Wrap's out,
// until f returns false; ctx may be nil.
func Each(ctx context.Context, f func(*Holder) bool) {
	for h, outer := Next(ctx); h != nil; h, outer = Next(outer) {
		if !f(h) {
			return
		}
	}
}

// Next returns the Holder of the innermost Wrap in ctx, and the context
// around that Wrap's, where the next Holder out is; h is nil when ctx
// carries none. ctx may be nil. A loop over Next is Each without a
// closure, for the accessors on the warm path.
func Next(ctx context.Context) (h *Holder, outer context.Context) {
	if ctx == nil {
		return nil, nil
	}
	c, _ := ctx.Value(ctxKey{}).(*valuesCtx)
	if c == nil {
		return nil, nil
	}
	return c.h, c.Context
}
