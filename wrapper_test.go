package mw_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// kindSource serves every kind it is told to from a map, and counts what
// it was asked for, by name.
type kindSource struct {
	name   string
	kinds  []mw.Kind
	values map[string]string
	mu     sync.Mutex
	asked  map[string]int
}

func (s *kindSource) Name() string { return s.name }

func (s *kindSource) Plan(it mw.Item) (mw.Plan, error) {
	for _, k := range s.kinds {
		if it.Kind == k {
			return mw.Plan{Op: "Get", Batch: 1}, nil
		}
	}
	return mw.Plan{}, mw.ErrNotServed
}

func (s *kindSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.asked == nil {
		s.asked = map[string]int{}
	}
	out := make([]mw.Result, len(items))
	for i, it := range items {
		s.asked[it.Name]++
		if it.Kind == mw.KindParametersByPath {
			out[i].Values = map[string]string{it.Name + "/a": s.values[it.Name+"/a"]}
			continue
		}
		out[i].Value = s.values[it.Name]
	}
	return out
}

func (s *kindSource) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[name]
}

// One Wrap mixes sources: an item names its own with From, a source given
// for some kinds serves only those, and everything else goes to mw's own.
func TestSourcesAreChosenPerItemAndPerKind(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("db", "from-extension")
	w.ext.PutParameter("/flags", "String", "from-extension")
	trees := &kindSource{name: "trees", kinds: []mw.Kind{mw.KindParametersByPath, mw.KindSecret}, values: map[string]string{"/app/a": "from-trees", "api-key": "from-trees"}}
	pinned := &kindSource{name: "pinned", kinds: []mw.Kind{mw.KindSecret, mw.KindParameter}, values: map[string]string{"token": "from-pinned"}}
	h := mw.Wrap(echo, w.opts(
		mw.WithSource(trees, mw.KindParametersByPath), // for trees only, though it serves secrets too
		mw.WithSecrets("db"),
		mw.WithParameters("/flags"),
		mw.WithParametersByPath("/app"),
		mw.WithSecret("token", mw.From(pinned)),
	)...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db", "parameter:/flags", "parameter:/app/a", "secret:token"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"secret:db": "from-extension", "parameter:/flags": "from-extension", "parameter:/app/a": "from-trees", "secret:token": "from-pinned"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q", k, got[k], v)
		}
	}
	if trees.count("db") != 0 || pinned.count("db") != 0 || w.ext.Fetches("token") != 0 {
		t.Error("an item went to a source not chosen for it")
	}
}

// A declaration the source it names cannot serve, or one item read through
// two sources, is a mistake in code: Wrap panics, saying why.
func TestSourceMistakesPanicAtWrap(t *testing.T) {
	secrets := &kindSource{name: "secrets-only", kinds: []mw.Kind{mw.KindSecret}}
	other := &kindSource{name: "other", kinds: []mw.Kind{mw.KindSecret}}
	for _, tc := range []struct {
		name string
		opts []mw.Option
		want string
	}{
		{"From a source that does not serve the kind", []mw.Option{mw.WithParametersByPath("/app", mw.From(secrets))},
			`From(secrets-only)`},
		{"a path, with no source that lists one", []mw.Option{mw.WithParametersByPath("/app")},
			"cannot list the parameters under a path"},
		{"one item through two sources", []mw.Option{mw.WithSecret("s", mw.From(secrets)), mw.WithSecret("s", mw.From(other))},
			"two sources (From(secrets-only) and From(other))"},
		{"one item with two TTLs", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.TTL(time.Minute))},
			"the Wrap's TTL and TTL(1m0s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustPanic(t, func() { mw.Wrap(echo, append([]mw.Option{mw.WithoutEnvironment()}, tc.opts...)...) })
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
