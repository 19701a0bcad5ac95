package mw_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
)

// treeSource serves parameters under paths from a map that tests change.
type treeSource struct {
	mu     sync.Mutex
	values map[string]string
}

func (s *treeSource) Name() string { return "tree" }

func (s *treeSource) Plan(it mw.Item) (mw.Plan, error) {
	if it.Kind != mw.KindParametersByPath {
		return mw.Plan{}, mw.ErrNotServed
	}
	return mw.Plan{Op: "GetParametersByPath", Batch: 1}, nil
}

func (s *treeSource) Fetch(_ context.Context, _ string, items []mw.Item) []mw.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]mw.Result, len(items))
	for i, it := range items {
		out[i].Values = map[string]string{}
		for name, v := range s.values {
			if strings.HasPrefix(name, it.Name+"/") {
				out[i].Values[name] = v
			}
		}
	}
	return out
}

func (s *treeSource) set(name, v string) {
	s.mu.Lock()
	s.values[name] = v
	s.mu.Unlock()
}

// RefreshParameter of a parameter found under two declared paths (/app and
// /app/prod) refreshes the path whose value Parameter serves (the one
// declared first), and returns the new value: not the old one, as it did
// whenever it picked the other path (map order, so about half the time).
func TestRefreshParameterUnderTwoPathsReturnsTheNewValue(t *testing.T) {
	src := &treeSource{values: map[string]string{"/app/prod/x": "v0"}}
	c := newClock()
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		return mw.RefreshParameter(ctx, "/app/prod/x")
	}, mw.WithoutEnvironment(), mw.WithSource(src), mw.WithParametersByPath("/app"), mw.WithParametersByPath("/app/prod"), withClock(c))
	for round := 1; round <= 20; round++ {
		want := "v" + string(rune('a'+round))
		src.set("/app/prod/x", want)
		c.Advance(2 * time.Second) // past the coalescing of refreshes (1 s)
		got, err := h(invokeCtx(t, 5*time.Second), struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("round %d: RefreshParameter returned %q; want the new value %q", round, got, want)
		}
	}
}
