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

// A Kind is named as spans and errors name it; one mw does not know says
// so rather than pass for another.
func TestKindNames(t *testing.T) {
	for k, want := range map[mw.Kind]string{
		mw.KindParameter: "parameter", mw.KindSecret: "secret", mw.KindParametersByPath: "parameters_by_path",
		mw.KindAppConfig: "appconfig", 0: "kind(0)", 99: "kind(99)",
	} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d) = %q; want %q", uint8(k), got, want)
		}
	}
}

// An Item describes what it fetches, with its version and role, as
// messages name it; an AppConfig profile by application, environment and
// profile, whose name alone is not unique.
func TestItemsDescribeWhatTheyFetch(t *testing.T) {
	for _, c := range []struct {
		it   mw.Item
		want string
	}{
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db"}, `secret "prod/db"`},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"}, `secret "prod/db" (stage AWSPREVIOUS)`},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db", VersionID: "v1", RoleARN: "arn:aws:iam::1:role/r"}, `secret "prod/db" (version id v1) as role arn:aws:iam::1:role/r`},
		{mw.Item{Kind: mw.KindParameter, Name: "/p", Version: 3}, `parameter "/p" (version 3)`},
		{mw.Item{Kind: mw.KindParameter, Name: "/p", Label: "live"}, `parameter "/p" (label live)`},
		{mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "prod", Name: "flags"}, `appconfig "orders/prod/flags"`},
	} {
		if got := c.it.String(); got != c.want {
			t.Errorf("%s; want %s", got, c.want)
		}
	}
}

// A SourceError says its status, code and cause; with none of them, its
// class.
func TestSourceErrorsSayWhatCameBack(t *testing.T) {
	cause := errors.New("connection refused")
	for _, c := range []struct {
		err  *mw.SourceError
		want string
	}{
		{&mw.SourceError{Class: mw.ClassNotFound, Status: 400, Code: "ResourceNotFoundException"}, "HTTP 400 ResourceNotFoundException"},
		{&mw.SourceError{Class: mw.ClassUnavailable, Err: cause}, "connection refused"},
		{&mw.SourceError{Class: mw.ClassThrottled, Status: 429, Err: cause}, "HTTP 429: connection refused"},
		{&mw.SourceError{Class: mw.ClassTimeout}, "timeout"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%q; want %q", got, c.want)
		}
	}
	if err := (&mw.SourceError{Class: mw.ClassUnavailable, Err: cause}); !errors.Is(err, cause) {
		t.Error("a SourceError does not unwrap to its cause")
	}
}
