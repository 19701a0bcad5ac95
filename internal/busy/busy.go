// Package busy keeps goroutines spinning beside a test's own, so that a
// concurrency test runs as on a loaded machine too: a race that shows only
// under load is still a race. The tests of every module in this repository
// use it; nothing outside tests imports it.
package busy

import (
	"runtime"
	"sync"
	"testing"
)

// Goroutines keeps n goroutines spinning until t and its subtests end, or
// one for each of runtime.GOMAXPROCS if n is 0 or less. They yield now and
// then, so the goroutines under test are slowed, never starved.
func Goroutines(t testing.TB, n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
				}
				if x%1024 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
}
