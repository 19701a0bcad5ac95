package busy

import (
	"runtime"
	"testing"
)

// The goroutines run while the test does and are gone once it ends.
func TestGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("spinning", func(t *testing.T) {
		Goroutines(t, 3)
		if n := runtime.NumGoroutine() - before; n < 3 {
			t.Errorf("%d more goroutines while the test runs; want 3", n)
		}
	})
	// The cleanup waited for each to return; an exiting goroutine is still
	// counted until the scheduler reaps it.
	for range 10000 {
		if runtime.NumGoroutine() <= before {
			return
		}
		runtime.Gosched()
	}
	t.Errorf("%d more goroutines after the test; want none", runtime.NumGoroutine()-before)
}

// Zero means one for each of GOMAXPROCS.
func TestGoroutinesDefault(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("spinning", func(t *testing.T) {
		Goroutines(t, 0)
		if n, want := runtime.NumGoroutine()-before, runtime.GOMAXPROCS(0); n < want {
			t.Errorf("%d more goroutines; want %d", n, want)
		}
	})
}
