package awssdk_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/internal/busy"
)

// TestConcurrentFetch: one Source serves many concurrent Fetch calls of
// every op (run with -race).
func TestConcurrentFetch(t *testing.T) {
	busy.Goroutines(t, 0)
	b := newBackend(t)
	var params, secrets []mw.Item
	for i := range 15 {
		n := fmt.Sprintf("/conc/p%02d", i)
		b.PutParameter(n, "String", n)
		params = append(params, param(n))
		id := fmt.Sprintf("conc/s%02d", i)
		b.PutSecret(id, id)
		secrets = append(secrets, secret(id))
	}
	src := awssdk.New(b.Config())
	const workers = 24
	var wg sync.WaitGroup
	errs := make(chan string, workers*40)
	for w := range workers {
		wg.Go(func() {
			var op string
			var items []mw.Item
			switch w % 4 {
			case 0:
				op, items = "GetParameters", params
			case 1:
				op, items = "BatchGetSecretValue", secrets
			case 2:
				op, items = "GetSecretValue", []mw.Item{{Kind: mw.KindSecret, Name: secrets[w%15].Name, VersionStage: "AWSCURRENT"}}
			case 3:
				op, items = "GetParametersByPath", []mw.Item{path("/conc")}
			}
			res := src.Fetch(context.Background(), op, items)
			for i, r := range res {
				switch {
				case r.Err != nil:
					errs <- fmt.Sprintf("%s %v: %v", op, items[i], r.Err)
				case op == "GetParametersByPath" && len(r.Values) != 15:
					errs <- fmt.Sprintf("%s: %d values, want 15", op, len(r.Values))
				case op != "GetParametersByPath" && r.Value != items[i].Name:
					errs <- fmt.Sprintf("%s %v: value %q", op, items[i], r.Value)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	// 6 workers each: 2 GetParameters, 1 BatchGetSecretValue, 1
	// GetSecretValue, 2 pages of GetParametersByPath.
	for op, want := range map[string]int64{"GetParameters": 12, "BatchGetSecretValue": 6, "GetSecretValue": 6, "GetParametersByPath": 12} {
		if got := b.Calls(op); got != want {
			t.Errorf("%s calls = %d, want %d", op, got, want)
		}
	}
}
