package mw_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lambda-mw/mw"
)

// The tests of the Source seam's types (source.go). Sources themselves are
// held to the conformance suite (conformance_test.go).

// Every type of the Source seam prints no value, under any verb, alone or
// in a slice: a source's author who logs what Fetch returns logs no secret.
func TestSourceTypesPrintNoValue(t *testing.T) {
	err := &mw.SourceError{Class: mw.ClassMalformed, Status: 200, Err: errors.New("the answer is not valid UTF-8")}
	for name, v := range map[string]any{
		"a Result":              mw.Result{Value: canary},
		"a *Result":             &mw.Result{Value: canary},
		"a Result of a path":    mw.Result{Values: map[string]string{"/app/db": canary, "/app/key": canary}},
		"a Result and an error": mw.Result{Value: canary, Err: err},
		"[]Result":              []mw.Result{{Value: canary}, {Values: map[string]string{"/a": canary}}},
		"an Item":               mw.Item{Kind: mw.KindSecret, Name: "s"},
		"a Plan":                mw.Plan{Op: "GET /secretsmanager/get", Batch: 1},
		"a SourceError":         err,
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, canary) || strings.Contains(s, fmt.Sprintf("%x", canary[:8])) || strings.Contains(s, fmt.Sprintf("%X", canary[:8])) {
				t.Errorf("%s under %s prints its value: %s", name, verb, s)
			}
		}
	}
	// What it does print says what it is.
	for v, want := range map[string]string{
		fmt.Sprint(mw.Result{Value: canary}):                                     "mw.Result{Value: (not shown)}",
		fmt.Sprint(mw.Result{Values: map[string]string{"/b": canary, "/a": ""}}): `mw.Result{Values: ["/a" "/b"] (not shown)}`,
		fmt.Sprintf("%#v", mw.Result{Err: err}):                                  "mw.Result{Err: HTTP 200: the answer is not valid UTF-8}",
	} {
		if v != want {
			t.Errorf("printed %s; want %s", v, want)
		}
	}
}
