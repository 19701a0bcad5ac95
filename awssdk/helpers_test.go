package awssdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

func param(name string) mw.Item  { return mw.Item{Kind: mw.KindParameter, Name: name} }
func secret(name string) mw.Item { return mw.Item{Kind: mw.KindSecret, Name: name} }
func path(name string) mw.Item   { return mw.Item{Kind: mw.KindParametersByPath, Name: name} }

// fetch plans items with src, checks that they share op, and fetches them
// in one Fetch call.
func fetch(t *testing.T, src *awssdk.Source, op string, items ...mw.Item) []mw.Result {
	t.Helper()
	return fetchCtx(context.Background(), t, src, op, items...)
}

func fetchCtx(ctx context.Context, t *testing.T, src *awssdk.Source, op string, items ...mw.Item) []mw.Result {
	t.Helper()
	for _, it := range items {
		p, err := src.Plan(it)
		if err != nil {
			t.Fatalf("Plan(%v): %v", it, err)
		}
		if p.Op != op {
			t.Fatalf("Plan(%v).Op = %q, want %q", it, p.Op, op)
		}
	}
	res := src.Fetch(ctx, op, items)
	if len(res) != len(items) {
		t.Fatalf("Fetch returned %d results for %d items", len(res), len(items))
	}
	return res
}

// wantValues checks that each result has no error and the value wanted.
func wantValues(t *testing.T, items []mw.Item, res []mw.Result, want []string) {
	t.Helper()
	for i, r := range res {
		if r.Err != nil || r.Value != want[i] {
			t.Errorf("%v: got %q, %v; want %q", items[i], r.Value, r.Err, want[i])
		}
	}
}

// failure is what a test expects of a *mw.SourceError.
type failure struct {
	class  mw.Class
	retry  bool
	status int
	code   string
	hint   []string // substrings of the hint
}

// wantFailure checks that err is a *mw.SourceError as f says, and that
// neither it nor anything it holds says any of secrets.
func wantFailure(t *testing.T, what string, err error, f failure, secrets ...string) {
	t.Helper()
	var se *mw.SourceError
	if !errors.As(err, &se) {
		t.Errorf("%s: err = %v (%T), want a *mw.SourceError", what, err, err)
		return
	}
	if se.Class != f.class || se.Retry != f.retry || se.Status != f.status || se.Code != f.code {
		t.Errorf("%s: got class %s retry %v status %d code %q; want %s %v %d %q (%v)",
			what, se.Class, se.Retry, se.Status, se.Code, f.class, f.retry, f.status, f.code, err)
	}
	for _, h := range f.hint {
		if !strings.Contains(se.Hint, h) {
			t.Errorf("%s: hint %q does not say %q", what, se.Hint, h)
		}
	}
	noSecrets(t, what, err, secrets...)
}

// noSecrets checks that no rendering of err, nor its hint, says any of
// secrets.
func noSecrets(t *testing.T, what string, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	var hint string
	var se *mw.SourceError
	if errors.As(err, &se) {
		hint = se.Hint
	}
	text := fmt.Sprintf("%v|%+v|%s|%s", err, err, err.Error(), hint)
	for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
		text += "|" + fmt.Sprintf("%v|%+v|%#v", e, e, e)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s: the error says a value: %s", what, text)
		}
	}
}

// checkBatches fetches the first n of items in one Fetch, for each n of
// sizes, and checks at the proxy that it took ⌈n/batch⌉ calls of op, each
// item's name sent exactly once, and got the values wanted.
func checkBatches(t *testing.T, b *moto.Backend, src *awssdk.Source, op string, batch int, items []mw.Item, values []string, sizes ...int) {
	t.Helper()
	for _, n := range sizes {
		b.Reset()
		res := fetch(t, src, op, items[:n]...)
		wantValues(t, items[:n], res, values[:n])
		if got, want := b.Calls(op), int64((n+batch-1)/batch); got != want {
			t.Errorf("%d items: %d %s calls, want %d", n, got, op, want)
		}
		for _, it := range items[:n] {
			if got := b.Fetches(it.Name); got != 1 {
				t.Errorf("%d items: %s sent %d times, want 1", n, it.Name, got)
			}
		}
	}
}
