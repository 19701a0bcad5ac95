package awssdk_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

func TestParametersKindsAndSelectors(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/app/plain", "String", "one")
	b.PutParameter("/app/list", "StringList", "a,b,c")
	b.PutParameter("/app/secure", "SecureString", "s3cret")
	b.PutParameter("/app/versioned", "String", "v1")
	b.PutParameter("/app/versioned", "String", "v2")
	b.PutParameter("/app/versioned", "String", "v3")
	b.LabelParameter("/app/versioned", 2, "live")
	src := awssdk.New(b.Config())

	items := []mw.Item{
		param("/app/plain"),
		param("/app/list"),
		param("/app/secure"),
		param("/app/versioned"),
		{Kind: mw.KindParameter, Name: "/app/versioned", Version: 1},
		{Kind: mw.KindParameter, Name: "/app/versioned", Label: "live"},
		param("/app/versioned:1"),
		param("/app/versioned:live"),
	}
	res := fetch(t, src, "GetParameters", items...)
	wantValues(t, items, res, []string{"one", "a,b,c", "s3cret", "v3", "v1", "v2", "v1", "v2"})
	// Four requests for /app/versioned (latest, :1, :live; the name forms
	// with the same selector are sent once) cannot share a call.
	if got := b.Calls("GetParameters"); got != 3 {
		t.Errorf("GetParameters calls = %d, want 3", got)
	}
	for _, n := range []string{"/app/versioned:1", "/app/versioned:live", "/app/plain"} {
		if got := b.Fetches(n); got != 1 {
			t.Errorf("fetches of %s = %d, want 1", n, got)
		}
	}
}

// TestGetParametersBatches fetches N parameters in one Fetch: ⌈N/10⌉
// GetParameters calls, each name in exactly one of them.
func TestGetParametersBatches(t *testing.T) {
	b := newBackend(t)
	var all []mw.Item
	var values []string
	for i := range 45 {
		n := fmt.Sprintf("/batch/p%02d", i)
		b.PutParameter(n, "SecureString", "value-"+n)
		all = append(all, param(n))
		values = append(values, "value-"+n)
	}
	checkBatches(t, b, awssdk.New(b.Config()), "GetParameters", 10, all, values, 1, 10, 11, 20, 21, 45)
}

// TestGetParametersNotFound: names GetParameters lists in
// InvalidParameters fail alone, not found, while the rest of the call
// succeeds.
func TestGetParametersNotFound(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/nf/a", "String", "a")
	b.PutParameter("/nf/b", "SecureString", "b")
	src := awssdk.New(b.Config())
	items := []mw.Item{
		param("/nf/a"),
		param("/nf/missing"),
		{Kind: mw.KindParameter, Name: "/nf/a", Version: 9},
		{Kind: mw.KindParameter, Name: "/nf/b", Label: "nolabel"},
		param("/nf/b"),
	}
	res := fetch(t, src, "GetParameters", items...)
	wantValues(t, items[:1], res[:1], []string{"a"})
	wantValues(t, items[4:], res[4:], []string{"b"})
	for i := 1; i <= 3; i++ {
		if res[i].Value != "" {
			t.Errorf("%v: value %q with an error", items[i], res[i].Value)
		}
		wantFailure(t, items[i].String(), res[i].Err, failure{
			class: mw.ClassNotFound, status: 200, code: "ParameterNotFound",
			hint: []string{"region us-east-1", "selector"},
		})
	}
	// /nf/a and /nf/a:9 cannot share a call, nor /nf/b and /nf/b:nolabel.
	if got := b.Calls("GetParameters"); got != 2 {
		t.Errorf("GetParameters calls = %d, want 2", got)
	}
}

// TestGetParametersByPath lists a tree deep enough to take pages, through
// pages until NextToken is empty, including the empty page moto sends
// after a full last page.
func TestGetParametersByPath(t *testing.T) {
	b := newBackend(t)
	want25 := make(map[string]string)
	for i := range 25 {
		n := fmt.Sprintf("/app/prod/svc%d/deep/er/p%02d", i%3, i)
		typ := []string{"String", "StringList", "SecureString"}[i%3]
		b.PutParameter(n, typ, fmt.Sprintf("v%d,x", i))
		want25[n] = fmt.Sprintf("v%d,x", i)
	}
	want20 := make(map[string]string)
	for i := range 20 {
		n := fmt.Sprintf("/app/twenty/p%02d", i)
		b.PutParameter(n, "String", n)
		want20[n] = n
	}
	b.PutParameter("/app/production/not-under", "String", "no") // a sibling sharing the prefix
	src := awssdk.New(b.Config())

	for _, tc := range []struct {
		path  string
		want  map[string]string
		pages int64
	}{
		{"/app/prod", want25, 3},   // 10 + 10 + 5
		{"/app/twenty", want20, 3}, // 10 + 10 + an empty page with no token
		{"/app/none", map[string]string{}, 1},
	} {
		b.Reset()
		res := fetch(t, src, "GetParametersByPath", path(tc.path))
		if res[0].Err != nil {
			t.Fatalf("%s: %v", tc.path, res[0].Err)
		}
		if !maps.Equal(res[0].Values, tc.want) {
			t.Errorf("%s: got %d values %v, want %d", tc.path, len(res[0].Values), res[0].Values, len(tc.want))
		}
		if got := b.Calls("GetParametersByPath"); got != tc.pages {
			t.Errorf("%s: %d pages, want %d", tc.path, got, tc.pages)
		}
	}

	// Two paths in one Fetch: one call chain each.
	b.Reset()
	res := fetch(t, src, "GetParametersByPath", path("/app/prod"), path("/app/twenty"))
	if !maps.Equal(res[0].Values, want25) || !maps.Equal(res[1].Values, want20) {
		t.Errorf("two paths: got %d and %d values", len(res[0].Values), len(res[1].Values))
	}
	if got := b.Calls("GetParametersByPath"); got != 6 {
		t.Errorf("two paths: %d pages, want 6", got)
	}
}

// Secrets read through Parameter Store, beside parameters: a reference to a
// secret that is not there fails only itself, though Parameter Store
// answers it with ParameterNotFound for the whole call it is in.
func TestParametersThatReferenceSecrets(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/app/plain", "String", "one")
	b.PutSecret("db", "pw-db")
	b.PutSecret("prod/db", "pw-prod")
	const ref = "/aws/reference/secretsmanager/"
	items := []mw.Item{
		param("/app/plain"),
		param(ref + "db"),
		param(ref + "prod/db"),
		param("/app/missing"),
		param(ref + "missing"),
	}
	res := fetch(t, awssdk.New(b.Config()), "GetParameters", items...)
	wantValues(t, items[:3], res[:3], []string{"one", "pw-db", "pw-prod"})
	wantFailure(t, "the missing parameter", res[3].Err, failure{class: mw.ClassNotFound, status: 200, code: "ParameterNotFound"})
	wantFailure(t, "the missing secret", res[4].Err, failure{class: mw.ClassNotFound, status: 400, code: "ParameterNotFound",
		hint: []string{"no such secret", "/aws/reference/secretsmanager/", "version stage"}})
}

// Parameter Store (and moto, after it) takes /db and db for one parameter
// at the root of the hierarchy: asked by the other spelling, the answer
// names the parameter as stored, and is served.
func TestARootParameterByItsOtherSpelling(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("db", "String", "one")
	b.PutParameter("/cfg", "String", "two")
	res := fetch(t, awssdk.New(b.Config()), "GetParameters", param("/db"), param("cfg"))
	for i, want := range []string{"one", "two"} {
		if res[i].Err != nil || res[i].Value != want {
			t.Errorf("item %d: %q, %v; want %q", i, res[i].Value, res[i].Err, want)
		}
	}
}
