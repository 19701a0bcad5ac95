package resolved

import (
	"errors"
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
