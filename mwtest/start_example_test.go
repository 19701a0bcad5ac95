package mwtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// passwordLength is the handler under test: it reads a secret that its
// Wrap declares.
func passwordLength(ctx context.Context, _ struct{}) (int, error) {
	pw, err := mw.Secret(ctx, "prod/db")
	return len(pw), err
}

// testPasswordLength is the handler's unit test, as it reads in a _test.go
// file, where it is func TestPasswordLength(t *testing.T). Start serves a
// fake extension for the test's length; Options point the Wrap at it,
// with its token, and no MW_* variable of the shell.
func testPasswordLength(t testing.TB) {
	ext, srv := mwtest.Start(t, mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")

	h := mw.Wrap(passwordLength, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)
	if n, err := h(context.Background(), struct{}{}); err != nil || n != 7 {
		t.Errorf("got %d, %v; want 7", n, err)
	}
	if n := ext.Fetches("prod/db"); n != 1 {
		t.Errorf("%d fetches of prod/db; want 1", n)
	}
}

// A handler's unit test with the fake extension. go test runs
// TestPasswordLength with a *testing.T; this example runs the same code
// with exampleT, a testing.TB that reports failures and runs cleanups.
func ExampleStart() {
	t := &exampleT{}
	testPasswordLength(t)
	t.end() // as go test does when the test returns: closes the fake
	fmt.Println("failed:", t.failed)
	// Output: failed: false
}

// exampleT is the part of a *testing.T that testPasswordLength and Start
// use.
type exampleT struct {
	testing.TB
	failed   bool
	cleanups []func()
}

func (t *exampleT) Helper() {}

func (t *exampleT) Errorf(format string, args ...any) {
	t.failed = true
	fmt.Printf(format+"\n", args...)
}

func (t *exampleT) Cleanup(f func()) { t.cleanups = append(t.cleanups, f) }

// end runs the cleanups, last registered first.
func (t *exampleT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}
