package resolved

import (
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestMemoDecodesOncePerKey(t *testing.T) {
	const secret Kind = 2
	ix := NewIndex(1)
	ix.Add(secret, "a", 0)
	s := &Set{Index: ix, Values: []string{"v"}}
	var mu sync.Mutex
	calls := map[string]int{}
	decode := func(key string) func(string) (any, error) {
		return func(v string) (any, error) {
			mu.Lock()
			calls[key]++
			mu.Unlock()
			return key + ":" + v, nil
		}
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for _, key := range []string{"x", "y"} {
				// Concurrent first calls may both decode; all get one answer.
				if got, err := s.Memo(0, key, decode(key)); err != nil || got != key+":v" {
					t.Errorf("Memo(%s) = %v, %v", key, got, err)
				}
			}
		})
	}
	wg.Wait()
	for _, key := range []string{"x", "y"} {
		before := calls[key]
		if before < 1 {
			t.Fatalf("%s never decoded", key)
		}
		if _, err := s.Memo(0, key, decode(key)); err != nil || calls[key] != before {
			t.Errorf("%s decoded again after it was remembered: %d → %d", key, before, calls[key])
		}
	}
}

func TestMemoForgetsFailures(t *testing.T) {
	s := &Set{Values: []string{"v"}}
	n := 0
	fail := func(string) (any, error) { n++; return nil, errors.New("no") }
	for range 3 {
		if _, err := s.Memo(0, "k", fail); err == nil {
			t.Fatal("want the error")
		}
	}
	if n != 3 {
		t.Errorf("decoded %d times, want 3: a failure is not remembered", n)
	}
}

// Nearest finds the declared name a read most likely misspells, and none
// for a name unlike every declared one.
func TestNearest(t *testing.T) {
	ix := NewIndex(1)
	for i, ref := range []string{"orders/db", "orders/api-key", "/orders/config", "db", "prod/db", "prod/dc"} {
		ix.Add(2, ref, i)
	}
	ix.Add(3, "flags", 9)
	for _, c := range []struct {
		k          Kind
		name, want string
	}{
		{2, "order/db", "orders/db"},
		{2, "orders/db ", "orders/db"},
		{2, "Orders/DB", "orders/db"},
		{2, "/orders/config/", "/orders/config"},
		{2, "orders/config", "/orders/config"},
		{2, "orders/api_key", "orders/api-key"},
		{2, "prod/dd", "prod/db"}, // one edit from both: the first in order
		{2, "ab", ""},             // one edit of two bytes is half the name
		{2, "payments/db", ""},
		{2, "", ""},
		{3, "flag", "flags"},
		{3, "fla", ""}, // two edits of five bytes: more than a third
		{3, "flagz", "flags"},
		{1, "orders/db", ""},
		{7, "orders/db", ""},
	} {
		got, ok := ix.Nearest(c.k, c.name)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("Nearest(%d, %q) = %q, %v; want %q", c.k, c.name, got, ok, c.want)
		}
	}
}

func TestEdits(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"kitten", "sitting", 3}, {"flaw", "lawn", 2},
		{"orders/db", "order/db", 1}, {"abc", "abc", 0}, {"abcdef", "a", 3},
	} {
		if got := edits(c.a, c.b, 3); got != c.want {
			t.Errorf("edits(%q, %q) = %d; want %d", c.a, c.b, got, c.want)
		}
		if got := edits(c.b, c.a, 3); got != c.want {
			t.Errorf("edits(%q, %q) = %d; want %d", c.b, c.a, got, c.want)
		}
	}
}

func TestParts(t *testing.T) {
	var ix Index
	ix.AddPart(3, "orders", "flags")
	ix.AddPart(3, "orders", "settings")
	ix.AddPart(3, "orders", "flags")
	ix.AddPart(3, "orders/prod", "flags")
	if got := ix.Parts(3, "orders"); !slices.Equal(got, []string{"flags", "settings"}) {
		t.Errorf(`Parts(orders) = %q; want flags, settings, once each, in order`, got)
	}
	if got := ix.Parts(3, "orders/prod"); !slices.Equal(got, []string{"flags"}) {
		t.Errorf(`Parts(orders/prod) = %q; want flags`, got)
	}
	if got := ix.Parts(2, "orders"); got != nil {
		t.Errorf("Parts of another kind = %q; want none", got)
	}
}
