package mw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of the errors (errors.go): what a failed invoke's error names,
// and nil errors.

// A failed invoke's *PrefetchError names every item that failed, and only
// those, with the fix for the answer received; the handler does not run.
func TestFailureNamesEveryFailedItemAndSkipsTheHandler(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("ok", "v")
	w.ext.PutParameter("/ok", "String", "p")
	ran := false
	h := mw.Wrap(func(ctx context.Context, _ int) (int, error) { ran = true; return 1, nil },
		w.opts(mw.WithSecrets("ok", "gone"), mw.WithParameters("/ok", "/gone"), mw.WithStartupWindow(0))...)
	out, err := h(invokeCtx(t, 5*time.Second), 0)
	if ran || out != 0 {
		t.Fatal("the handler ran although items failed")
	}
	var pe *mw.PrefetchError
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *PrefetchError", err)
	}
	if pe.Declared != 4 || len(pe.Failed) != 2 {
		t.Fatalf("%d of %d failed; want 2 of 4", len(pe.Failed), pe.Declared)
	}
	if pe.Failed[0].Kind != mw.KindSecret || pe.Failed[0].Name != "gone" || pe.Failed[1].Kind != mw.KindParameter || pe.Failed[1].Name != "/gone" {
		t.Errorf("failed = %v, %v", pe.Failed[0], pe.Failed[1])
	}
	msg := err.Error()
	// The extension served "ok" and "/ok": its 400s for the others mean
	// missing or forbidden, not "not ready" (nor a call during INIT).
	for _, s := range []string{`secret "gone"`, `parameter "/gone"`, "ssm:GetParameter", "secretsmanager:GetSecretValue", "not found or not allowed", "HTTP 400"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	for _, s := range []string{`"ok"`, `"/ok"`} {
		if strings.Contains(msg, s) {
			t.Errorf("error names %s, which did not fail", s)
		}
	}
	fe := asFetchError(t, err)
	if fe.Status != 400 || fe.Err == nil || fe.Kind == 0 || fe.Name == "" {
		t.Errorf("FetchError lacks its fields: %+v", fe)
	}
}

// A *FetchError names the item by its alias, its name and the version it
// asked for.
func TestAMissingVersionNamesTheVersion(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("prod/db", "pw")
	h := mw.Wrap(echo, w.opts(mw.WithSecret("prod/db", mw.VersionStage("AWSPENDING"), mw.Alias("pending")))...)
	_, err := h(invokeCtx(t, 5*time.Second), nil)
	var fe *mw.FetchError
	if !errors.As(err, &fe) || fe.Alias != "pending" || fe.Version != "stage AWSPENDING" || fe.Class != mw.ClassNotFound {
		t.Fatalf("got %#v", err)
	}
	if want := `secret "pending" (prod/db, stage AWSPENDING): not found`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
}

// Nil inputs give errors or documented zero values, never panics.
func TestNilInputsDoNotPanic(t *testing.T) {
	var fe *mw.FetchError
	var pe *mw.PrefetchError
	var le *mw.LookupError
	for _, s := range []string{fe.Error(), pe.Error(), le.Error(), fmt.Sprint(fe)} {
		if !strings.Contains(s, "nil") {
			t.Errorf("%q", s)
		}
	}
	if fe.Hint() != "" {
		t.Errorf("nil hint %q", fe.Hint())
	}
	if fe.Unwrap() != nil || pe.Unwrap() != nil || le.Unwrap() != nil {
		t.Error("a nil error unwraps to something")
	}
	var noCtx context.Context // nil, on purpose
	if _, err := mw.Secret(noCtx, "s"); !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("Secret(nil): %v", err)
	}
}
