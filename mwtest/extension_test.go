package mwtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// guard bounds every wait on a channel, so that a bug fails the test instead
// of hanging it. It is never used to let something happen.
const guard = 10 * time.Second

var withToken = http.Header{mwtest.TokenHeader: {mwtest.DefaultToken}}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, c *http.Client, method, u string, h http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, h)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func get(t *testing.T, srv *httptest.Server, path string, h http.Header) response {
	t.Helper()
	return do(t, srv.Client(), http.MethodGet, srv.URL+path, h)
}

func paramPath(name string, extra ...string) string {
	return "/systemsmanager/parameters/get?name=" + url.QueryEscape(name) + strings.Join(extra, "")
}

func secretPath(id string, extra ...string) string {
	return "/secretsmanager/get?secretId=" + url.QueryEscape(id) + strings.Join(extra, "")
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %q; want 200", r.status, r.body)
	}
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decoding %q: %v", r.body, err)
	}
	return v
}

func keys(t *testing.T, body string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("decoding %q: %v", body, err)
	}
	return slices.Sorted(maps.Keys(m))
}

type parameterBody struct {
	Parameter struct {
		ARN              string
		DataType         string
		LastModifiedDate string
		Name             string
		Selector         *string
		SourceResult     *string
		Type             string
		Value            string
		Version          int64
	}
	ResultMetadata *struct{}
}

type secretBody struct {
	ARN           string
	CreatedDate   string
	Name          string
	SecretBinary  *string
	SecretString  *string
	VersionId     string
	VersionStages []string
}

func wantGeneric400(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusBadRequest || r.body != mwtest.GenericError || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("got %d %q (%s); want 400 %q text/plain", r.status, r.body, r.header.Get("Content-Type"), mwtest.GenericError)
	}
}

// wantBadToken checks the managed dialect's answer to a missing or wrong
// token: 401, as the layer answers it (the Lambda guide's "401
// Unauthorized").
func wantBadToken(t *testing.T, r response) {
	t.Helper()
	if r.status != http.StatusUnauthorized || r.body != mwtest.BadSessionTokenError || r.header.Get("X-Amzn-Errortype") != "AccessDeniedException" {
		t.Errorf("got %d %q (%s); want 401 %q with x-amzn-errortype AccessDeniedException", r.status, r.body, r.header.Get("X-Amzn-Errortype"), mwtest.BadSessionTokenError)
	}
}

func wantStatusBody(t *testing.T, r response, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("got %d %q; want %d %q", r.status, r.body, status, body)
	}
}

func TestDialect(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		got, err := mwtest.ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %v, %v", d, got, err)
		}
	}
	if mwtest.Managed.String() != "managed" || mwtest.Agent.String() != "agent" || mwtest.Dialect(7).String() != "Dialect(7)" {
		t.Error("wrong Dialect.String")
	}
	if _, err := mwtest.ParseDialect("nope"); err == nil {
		t.Error("ParseDialect(nope) succeeded")
	}
}

func TestManagedParameterBody(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutParameter("/x", "", "v")
	r := get(t, srv, paramPath("/x"), withToken)
	if got, want := keys(t, r.body), []string{"Parameter", "ResultMetadata"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	var raw struct{ Parameter json.RawMessage }
	_ = json.Unmarshal([]byte(r.body), &raw)
	if got, want := keys(t, string(raw.Parameter)), []string{"ARN", "DataType", "LastModifiedDate", "Name", "Selector", "SourceResult", "Type", "Value", "Version"}; !slices.Equal(got, want) {
		t.Errorf("Parameter keys %v, want %v", got, want)
	}
	if !strings.Contains(r.body, `"Selector":null`) || !strings.Contains(r.body, `"SourceResult":null`) || !strings.HasSuffix(r.body, `"ResultMetadata":{}}`) {
		t.Errorf("body %s lacks null Selector/SourceResult or empty ResultMetadata", r.body)
	}
	p := decode[parameterBody](t, r).Parameter
	if p.ARN != "arn:aws:ssm:us-east-1:123456789012:parameter/x" || p.DataType != "text" || p.Name != "/x" ||
		p.Type != "String" || p.Value != "v" || p.Version != 1 || p.Selector != nil || p.SourceResult != nil {
		t.Errorf("parameter %+v", p)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", p.LastModifiedDate); err != nil {
		t.Errorf("LastModifiedDate %q: %v", p.LastModifiedDate, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func TestManagedParameterNamesAndARNs(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	odd := "/app/a+b=c@d e/f"
	e.PutParameter(odd, "String", "odd")
	e.PutParameter("/app/x", "String", "slash")
	e.PutParameter("plain", "String", "plain")
	for _, tc := range []struct{ ask, name, value string }{
		{odd, odd, "odd"},
		{mwtest.ParameterARN(odd), odd, "odd"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/app/x", "/app/x", "slash"},
		{"arn:aws:ssm:eu-west-1:210987654321:parameter/app/x", "/app/x", "slash"},
		{"arn:aws:ssm:us-east-1:123456789012:parameter/plain", "plain", "plain"},
	} {
		p := decode[parameterBody](t, get(t, srv, paramPath(tc.ask), withToken)).Parameter
		if p.Name != tc.name || p.Value != tc.value {
			t.Errorf("%q: got %q=%q, want %q=%q", tc.ask, p.Name, p.Value, tc.name, tc.value)
		}
		if e.Fetches(tc.ask) == 0 {
			t.Errorf("Fetches(%q) = 0", tc.ask)
		}
	}
	wantGeneric400(t, get(t, srv, paramPath("/app/nope"), withToken))
	wantGeneric400(t, get(t, srv, paramPath("arn:aws:ssm:us-east-1:123456789012:parameter/nope"), withToken))
}

func TestManagedParameterVersionsAndLabels(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	if v := e.PutParameter("/p", "", "one"); v != 1 {
		t.Fatalf("first version %d", v)
	}
	if v := e.PutParameter("/p", "", "two"); v != 2 {
		t.Fatalf("second version %d", v)
	}
	e.LabelParameter("/p", 1, "prod", "blue")
	e.LabelParameter("/p", 2, "blue") // moves blue
	for _, tc := range []struct {
		path     string
		value    string
		version  int64
		selector string
	}{
		{paramPath("/p"), "two", 2, ""},
		{paramPath("/p", "&version=1"), "one", 1, ":1"},
		{paramPath("/p", "&label=prod"), "one", 1, ":prod"},
		{paramPath("/p", "&label=blue"), "two", 2, ":blue"},
		{paramPath("/p:1"), "one", 1, ":1"},
		{paramPath("/p:prod"), "one", 1, ":prod"},
		{paramPath(mwtest.ParameterARN("/p") + ":1"), "one", 1, ":1"},
	} {
		p := decode[parameterBody](t, get(t, srv, tc.path, withToken)).Parameter
		sel := ""
		if p.Selector != nil {
			sel = *p.Selector
		}
		if p.Value != tc.value || p.Version != tc.version || sel != tc.selector {
			t.Errorf("%s: got %q v%d selector %q; want %q v%d %q", tc.path, p.Value, p.Version, sel, tc.value, tc.version, tc.selector)
		}
	}
	for _, path := range []string{
		paramPath("/p", "&version=1&label=prod"),
		paramPath("/p", "&version=3"),
		paramPath("/p", "&version=x"),
		paramPath("/p", "&version=0"),
		paramPath("/p", "&label=nope"),
		paramPath("/p", "&label="),
		paramPath("/p:1", "&version=1"),
	} {
		wantGeneric400(t, get(t, srv, path, withToken))
	}
	if got := e.Stats().ByError; got["ValidationException"] != 5 || got["ParameterVersionNotFound"] != 1 || got["ParameterNotFound"] != 1 {
		t.Errorf("ByError %v", got)
	}
}

func TestManagedParameterTypes(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutParameter("/list", "StringList", "a,b,c")
	e.PutParameter("/sec", "SecureString", "plaintext-s3cret")
	e.PutParameter("/nokms", "SecureString", "plaintext-other")
	e.DenyDecrypt("/nokms")

	p := decode[parameterBody](t, get(t, srv, paramPath("/list"), withToken)).Parameter
	if p.Type != "StringList" || p.Value != "a,b,c" {
		t.Errorf("StringList: %s %q", p.Type, p.Value)
	}

	p = decode[parameterBody](t, get(t, srv, paramPath("/sec", "&withDecryption=true"), withToken)).Parameter
	if p.Type != "SecureString" || p.Value != "plaintext-s3cret" {
		t.Errorf("decrypted SecureString: %s %q", p.Type, p.Value)
	}
	for _, path := range []string{paramPath("/sec"), paramPath("/sec", "&withDecryption=false"), paramPath("/nokms")} {
		p = decode[parameterBody](t, get(t, srv, path, withToken)).Parameter
		raw, err := base64.StdEncoding.DecodeString(p.Value)
		if p.Type != "SecureString" || err != nil || strings.Contains(p.Value, "plaintext") || strings.Contains(string(raw), "plaintext") {
			t.Errorf("%s: encrypted SecureString %s %q (%v) leaks or is not base64", path, p.Type, p.Value, err)
		}
	}
	wantGeneric400(t, get(t, srv, paramPath("/nokms", "&withDecryption=true"), withToken))
	if e.Stats().ByError["DecryptionFailure"] != 1 {
		t.Errorf("ByError %v", e.Stats().ByError)
	}
}

func TestManagedReference(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	v1 := e.PutSecret("db/pass", "first-value")
	e.PutSecret("db/pass", "second-value")
	ref := "/aws/reference/secretsmanager/db/pass"

	r := get(t, srv, paramPath(ref, "&withDecryption=true"), withToken)
	p := decode[parameterBody](t, r).Parameter
	if p.Type != "SecureString" || p.Value != "second-value" || p.Name != ref || p.ARN != mwtest.SecretARN("db/pass") {
		t.Errorf("reference: %+v", p)
	}
	// SourceResult is the secret's GetSecretValue result, as the layer
	// serializes it (see TestManagedBinaryReference).
	if p.SourceResult == nil {
		t.Fatal("no SourceResult")
	}
	if got, want := keys(t, *p.SourceResult), []string{"ARN", "createdDate", "name", "secretString", "versionId", "versionStages"}; !slices.Equal(got, want) {
		t.Errorf("SourceResult keys %v, want %v", got, want)
	}
	var src sourceResult
	if err := json.Unmarshal([]byte(*p.SourceResult), &src); err != nil || src.VersionID == v1 || src.Name != "db/pass" ||
		src.ARN != p.ARN || src.SecretString == nil || *src.SecretString != "second-value" {
		t.Errorf("SourceResult %q: %v", *p.SourceResult, err)
	}

	p = decode[parameterBody](t, get(t, srv, paramPath(ref, "&withDecryption=true&label=AWSPREVIOUS"), withToken)).Parameter
	if p.Value != "first-value" || p.Selector == nil || *p.Selector != ":AWSPREVIOUS" {
		t.Errorf("reference AWSPREVIOUS: %+v", p)
	}
	wantGeneric400(t, get(t, srv, paramPath(ref), withToken))
	wantGeneric400(t, get(t, srv, paramPath(ref, "&withDecryption=true&version=1"), withToken))
	wantGeneric400(t, get(t, srv, paramPath(ref, "&withDecryption=true&label=AWSPENDING"), withToken))
	wantGeneric400(t, get(t, srv, paramPath("/aws/reference/secretsmanager/nope", "&withDecryption=true"), withToken))
}

// sourceResult is the SourceResult of a secret read through Parameter
// Store, with the layer's field names (Java's, as Gson writes them).
type sourceResult struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"name"`
	VersionID     string   `json:"versionId"`
	VersionStages []string `json:"versionStages"`
	CreatedDate   string   `json:"createdDate"`
	SecretString  *string  `json:"secretString"`
	SecretBinary  *struct {
		HB                                []int8
		Offset, Position, Limit, Capacity int
	} `json:"secretBinary"`
}

// A binary secret read through Parameter Store: the layer answers "Value":
// null, and its bytes in SourceResult, secretBinary being a
// java.nio.ByteBuffer as Gson writes it, each byte a signed Java byte (as
// captured in public: github.com/fedonev/lambda-params-secrets,
// data/test-responses.json).
func TestManagedBinaryReference(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	previous, current := []byte{0, 1, 0x7f, 0x80, 0xff, 'k'}, []byte("new\xfe")
	v1 := e.PutSecretBinary("keys/sign", previous)
	v2 := e.PutSecretBinary("keys/sign", current)
	ref := "/aws/reference/secretsmanager/keys/sign"
	for _, c := range []struct {
		query, version, stage string
		want                  []byte
	}{
		{"&withDecryption=true", v2, "AWSCURRENT", current},
		{"&withDecryption=true&label=AWSPREVIOUS", v1, "AWSPREVIOUS", previous},
	} {
		r := get(t, srv, paramPath(ref, c.query), withToken)
		p := decode[parameterBody](t, r).Parameter
		if !strings.Contains(r.body, `"Value":null`) || p.Type != "SecureString" || p.Name != ref || p.ARN != mwtest.SecretARN("keys/sign") || p.SourceResult == nil {
			t.Fatalf("%s: %s", c.query, r.body)
		}
		if got, want := keys(t, *p.SourceResult), []string{"ARN", "createdDate", "name", "secretBinary", "versionId", "versionStages"}; !slices.Equal(got, want) {
			t.Errorf("%s: SourceResult keys %v, want %v", c.query, got, want)
		}
		var raw struct{ SecretBinary json.RawMessage }
		_ = json.Unmarshal([]byte(*p.SourceResult), &raw)
		if got, want := keys(t, string(raw.SecretBinary)), []string{"address", "bigEndian", "capacity", "hb", "isReadOnly", "limit", "mark", "nativeByteOrder", "offset", "position"}; !slices.Equal(got, want) {
			t.Errorf("%s: secretBinary keys %v, want %v", c.query, got, want)
		}
		var src sourceResult
		if err := json.Unmarshal([]byte(*p.SourceResult), &src); err != nil || src.SecretBinary == nil {
			t.Fatalf("%s: SourceResult %s: %v", c.query, *p.SourceResult, err)
		}
		b := src.SecretBinary
		got := make([]byte, len(b.HB))
		for i, v := range b.HB {
			got[i] = byte(v)
		}
		if string(got) != string(c.want) || b.Offset != 0 || b.Position != 0 || b.Limit != len(c.want) || b.Capacity != len(c.want) ||
			src.Name != "keys/sign" || src.ARN != p.ARN || src.VersionID != c.version || !slices.Equal(src.VersionStages, []string{c.stage}) || src.SecretString != nil {
			t.Errorf("%s: SourceResult %s", c.query, *p.SourceResult)
		}
		if _, err := time.Parse("Jan 2, 2006, 3:04:05 PM", src.CreatedDate); err != nil {
			t.Errorf("%s: createdDate %q: %v", c.query, src.CreatedDate, err)
		}
	}
}

func TestManagedSecret(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	id := "app/db+x=y@z w"
	v1 := e.PutSecret(id, "one")
	r := get(t, srv, secretPath(id), withToken)
	if got, want := keys(t, r.body), []string{"ARN", "CreatedDate", "Name", "ResultMetadata", "SecretBinary", "SecretString", "VersionId", "VersionStages"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	if !strings.Contains(r.body, `"SecretBinary":null`) || !strings.HasSuffix(r.body, `"ResultMetadata":{}}`) {
		t.Errorf("body %s", r.body)
	}
	s := decode[secretBody](t, r)
	if s.Name != id || s.SecretString == nil || *s.SecretString != "one" || s.SecretBinary != nil || s.VersionId != v1 ||
		!slices.Equal(s.VersionStages, []string{"AWSCURRENT"}) || !strings.HasPrefix(s.ARN, "arn:aws:secretsmanager:us-east-1:123456789012:secret:"+id+"-") {
		t.Errorf("secret %+v", s)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", s.CreatedDate); err != nil {
		t.Errorf("CreatedDate %q: %v", s.CreatedDate, err)
	}

	v2 := e.PutSecret(id, "two")
	if v2 == v1 {
		t.Fatal("same version id twice")
	}
	for _, tc := range []struct {
		path, value, version, stage string
	}{
		{secretPath(id), "two", v2, "AWSCURRENT"},
		{secretPath(id, "&versionStage=AWSCURRENT"), "two", v2, "AWSCURRENT"},
		{secretPath(id, "&versionStage=AWSPREVIOUS"), "one", v1, "AWSPREVIOUS"},
		{secretPath(id, "&versionId="+v1), "one", v1, "AWSPREVIOUS"},
		{secretPath(id, "&versionId="+v1+"&versionStage=AWSPREVIOUS"), "one", v1, "AWSPREVIOUS"},
		{secretPath(mwtest.SecretARN(id)), "two", v2, "AWSCURRENT"},
		{secretPath("arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id), "two", v2, "AWSCURRENT"},
	} {
		s := decode[secretBody](t, get(t, srv, tc.path, withToken))
		if s.SecretString == nil || *s.SecretString != tc.value || s.VersionId != tc.version || !slices.Equal(s.VersionStages, []string{tc.stage}) {
			t.Errorf("%s: %+v", tc.path, s)
		}
	}
	e.StageSecret(id, v1, "custom")
	s = decode[secretBody](t, get(t, srv, secretPath(id, "&versionStage=custom"), withToken))
	if s.VersionId != v1 || !slices.Equal(s.VersionStages, []string{"AWSPREVIOUS", "custom"}) {
		t.Errorf("custom stage: %+v", s)
	}
	for _, path := range []string{
		secretPath(id, "&versionStage=AWSPENDING"),
		secretPath(id, "&versionId=nope"),
		secretPath(id, "&versionId="+v2+"&versionStage=AWSPREVIOUS"),
		secretPath(mwtest.SecretARN(id) + "x"),
		secretPath("arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id + "-AAAAAA"),
	} {
		wantGeneric400(t, get(t, srv, path, withToken))
	}
}

func TestSecretBinary(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			bin := []byte{0, 1, 2, 0xff, 'x'}
			e.PutSecretBinary("bin", bin)
			bin[0] = 9 // the fake keeps its own copy
			r := get(t, srv, secretPath("bin"), withToken)
			s := decode[secretBody](t, r)
			if s.SecretString != nil || s.SecretBinary == nil {
				t.Fatalf("binary secret: %s", r.body)
			}
			got, err := base64.StdEncoding.DecodeString(*s.SecretBinary)
			if err != nil || string(got) != "\x00\x01\x02\xffx" {
				t.Errorf("SecretBinary %q: %q %v", *s.SecretBinary, got, err)
			}
			if d == mwtest.Managed && !strings.Contains(r.body, `"SecretString":null`) {
				t.Errorf("managed body %s lacks SecretString null", r.body)
			}
			if d == mwtest.Agent && strings.Contains(r.body, "SecretString") {
				t.Errorf("agent body %s has SecretString", r.body)
			}
		})
	}
}

func TestManagedErrors(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutParameter("/p", "", "param-value")
	e.PutParameter("/denied", "", "param-value")
	e.PutSecret("s", "secret-value")
	e.PutSecret("locked", "secret-value")
	e.Deny("/denied")
	e.Deny("locked")
	e.DenyDecrypt("s")
	for _, tc := range []struct {
		name string
		path string
		h    http.Header
	}{
		{"parameter not found", paramPath("/nope"), withToken},
		{"parameter denied", paramPath("/denied"), withToken},
		{"parameter denied by ARN", paramPath(mwtest.ParameterARN("/denied")), withToken},
		{"denied and missing", paramPath("/denied-missing"), withToken},
		{"version and label", paramPath("/p", "&version=1&label=x"), withToken},
		{"missing name", "/systemsmanager/parameters/get", withToken},
		{"empty name", paramPath(""), withToken},
		{"secret not found", secretPath("nope"), withToken},
		{"secret denied", secretPath("locked"), withToken},
		{"secret denied by ARN", secretPath(mwtest.SecretARN("locked")), withToken},
		{"secret decrypt denied", secretPath("s"), withToken},
		{"missing secretId", "/secretsmanager/get", withToken},
		{"bad version id", secretPath("s", "&versionId=nope"), withToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, srv, tc.path, tc.h)
			wantGeneric400(t, r)
			if strings.Contains(r.body, "-value") {
				t.Errorf("error body %q holds a value", r.body)
			}
		})
	}
	e.Deny("/denied-missing")
	wantGeneric400(t, get(t, srv, paramPath("/denied-missing"), withToken))
	for _, h := range []http.Header{nil, {mwtest.TokenHeader: {"wrong"}}, {mwtest.VaultTokenHeader: {mwtest.DefaultToken}}} {
		wantBadToken(t, get(t, srv, paramPath("/p"), h))
	}

	st := e.Stats()
	if st.BadToken != 3 || st.ByError["AccessDeniedException"] != 5 || st.ByError["DecryptionFailure"] != 1 || st.ByStatus[400] != 14 || st.ByStatus[401] != 3 {
		t.Errorf("stats %+v", st)
	}

	r := do(t, srv.Client(), http.MethodPost, srv.URL+paramPath("/p"), withToken)
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.status)
	}
	wantStatusBody(t, get(t, srv, "/nowhere", withToken), http.StatusNotFound, "not found")
	wantStatusBody(t, get(t, srv, "/ping", withToken), http.StatusNotFound, "not found")

	e.SetToken("")
	if r := get(t, srv, paramPath("/p"), nil); r.status != http.StatusOK {
		t.Errorf("token check disabled: %d %q", r.status, r.body)
	}
	e.SetToken("other")
	wantBadToken(t, get(t, srv, paramPath("/p"), withToken))
	if r := get(t, srv, paramPath("/p"), http.Header{mwtest.TokenHeader: {"other"}}); r.status != http.StatusOK {
		t.Errorf("new token: %d %q", r.status, r.body)
	}
}

type agentSecretBody struct {
	ARN           string
	Name          string
	VersionId     string
	SecretString  *string
	SecretBinary  *string
	VersionStages []string
	CreatedDate   string
}

func TestAgentSecret(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Agent)
	id := "app/db+x=y@z"
	v1 := e.PutSecret(id, "one")
	v2 := e.PutSecret(id, "two")

	r := get(t, srv, secretPath(id), withToken)
	if got, want := keys(t, r.body), []string{"ARN", "CreatedDate", "Name", "SecretString", "VersionId", "VersionStages"}; !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v (body %s)", got, want, r.body)
	}
	if !strings.HasPrefix(r.body, `{"ARN":`) {
		t.Errorf("body %s does not start with ARN", r.body)
	}
	if ct, ok := r.header["Content-Type"]; ok {
		t.Errorf("Content-Type %q; the agent sends none", ct)
	}
	s := decode[agentSecretBody](t, r)
	if s.Name != id || s.ARN != mwtest.SecretARN(id) || *s.SecretString != "two" || s.VersionId != v2 || !slices.Equal(s.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("secret %+v", s)
	}
	if secs, err := strconv.ParseFloat(s.CreatedDate, 64); err != nil || time.Since(time.UnixMilli(int64(secs*1000))) > time.Hour {
		t.Errorf("CreatedDate %q: %v", s.CreatedDate, err)
	}

	for _, tc := range []struct{ path, value, version string }{
		{secretPath(id, "&versionStage=AWSPREVIOUS"), "one", v1},
		{secretPath(id, "&versionId="+v1), "one", v1},
		{secretPath(mwtest.SecretARN(id)), "two", v2},
		{"/v1/" + id, "two", v2},
		{"/v1/" + id + "?versionStage=AWSPREVIOUS&refreshNow=true", "one", v1},
		{"/v1/" + mwtest.SecretARN(id) + "?versionId=" + v1, "one", v1},
		{secretPath(id, "&refreshNow=TRUE"), "two", v2},
		{secretPath(id, "&refreshNow=0"), "two", v2},
	} {
		s := decode[agentSecretBody](t, get(t, srv, tc.path, withToken))
		if *s.SecretString != tc.value || s.VersionId != tc.version {
			t.Errorf("%s: %+v", tc.path, s)
		}
	}
	if st := e.Stats(); st.RefreshNow != 2 || st.ByPath["/v1/"] != 3 || e.Fetches(id) != 7 {
		t.Errorf("RefreshNow %d, ByPath %v, Fetches %d", st.RefreshNow, st.ByPath, e.Fetches(id))
	}

	// A space must be escaped in a path, and the agent does not decode it.
	e.PutSecret("with space", "v")
	if r := get(t, srv, secretPath("with space"), withToken); r.status != http.StatusOK {
		t.Errorf("query-escaped space: %d %q", r.status, r.body)
	}
	if r := get(t, srv, "/v1/with%20space", withToken); r.status != http.StatusBadRequest || !strings.Contains(r.body, "ResourceNotFoundException") {
		t.Errorf("path-escaped space: %d %q", r.status, r.body)
	}
}

func TestAgentProtocol(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Agent)
	e.PutParameter("/p", "", "param-value")
	e.PutSecret("s", "secret-value")
	e.PutSecret("locked", "secret-value")
	e.PutSecret("nokms", "secret-value")
	e.Deny("locked")
	e.DenyDecrypt("nokms")
	vault := http.Header{mwtest.VaultTokenHeader: {mwtest.DefaultToken}}
	bad := http.Header{mwtest.TokenHeader: {"wrong"}}
	forwarded := http.Header{mwtest.TokenHeader: {mwtest.DefaultToken}, "X-Forwarded-For": {"10.0.0.1"}}

	for _, tc := range []struct {
		name   string
		method string
		path   string
		h      http.Header
		status int
		body   string
	}{
		{"ping without token", "GET", "/ping", nil, 200, "healthy"},
		{"ping with bad token", "GET", "/ping", bad, 200, "healthy"},
		{"ping POST", "POST", "/ping", nil, 405, "Not allowed"},
		{"vault token", "GET", secretPath("s"), vault, 200, ""},
		{"no token", "GET", secretPath("s"), nil, 403, "Bad Token"},
		{"bad token", "GET", secretPath("s"), bad, 403, "Bad Token"},
		{"bad token on v1", "GET", "/v1/s", bad, 403, "Bad Token"},
		{"forwarded", "GET", secretPath("s"), forwarded, 400, "Forwarded"},
		{"POST", "POST", secretPath("s"), withToken, 405, "Not allowed"},
		{"POST bad token", "POST", secretPath("s"), bad, 403, "Bad Token"},
		{"parameter store", "GET", paramPath("/p"), withToken, 404, "Not found"},
		{"unknown path", "GET", "/nowhere", withToken, 404, "Not found"},
		{"missing secretId", "GET", "/secretsmanager/get", withToken, 400, "missing parameter secretId"},
		{"missing v1 id", "GET", "/v1/", withToken, 400, "missing secret ID"},
		{"unknown parameter", "GET", secretPath("s", "&withDecryption=true"), withToken, 400, "unknown parameter: withDecryption"},
		{"secretId on v1", "GET", "/v1/s?secretId=s", withToken, 400, "unknown parameter: secretId"},
		{"bad refreshNow", "GET", secretPath("s", "&refreshNow=yes"), withToken, 400, "invalid refreshNow value"},
		{"not found", "GET", secretPath("nope"), withToken, 400,
			`{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret."}`},
		{"not found v1", "GET", "/v1/nope", withToken, 400,
			`{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret."}`},
		{"bad stage", "GET", secretPath("s", "&versionStage=AWSPENDING"), withToken, 400,
			`{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret value for staging label: AWSPENDING"}`},
		{"decrypt", "GET", secretPath("nokms"), withToken, 400,
			`{"__type":"DecryptionFailure", "message":"Secrets Manager can't decrypt the protected secret text using the provided KMS key."}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, srv.Client(), tc.method, srv.URL+tc.path, tc.h)
			if r.status != tc.status || (tc.body != "" && r.body != tc.body) {
				t.Errorf("got %d %q; want %d %q", r.status, r.body, tc.status, tc.body)
			}
			if r.status != http.StatusOK && strings.Contains(r.body, "-value") {
				t.Errorf("body %q holds a value", r.body)
			}
		})
	}

	r := get(t, srv, secretPath("locked"), withToken)
	var aerr struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.body), &aerr); err != nil || r.status != 400 || aerr.Type != "AccessDeniedException" ||
		!strings.Contains(aerr.Message, "secretsmanager:GetSecretValue") || strings.Contains(r.body, "secret-value") {
		t.Errorf("denied: %d %q (%v)", r.status, r.body, err)
	}

	st := e.Stats()
	if st.BadToken != 4 || st.Forwarded != 1 || st.ByError["ResourceNotFoundException"] != 3 || st.ByError["AccessDeniedException"] != 1 {
		t.Errorf("stats %+v", st)
	}

	e.SetToken("")
	if r := get(t, srv, secretPath("s"), nil); r.status != http.StatusOK {
		t.Errorf("token check disabled: %d %q", r.status, r.body)
	}
}

func TestNotReady(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			e.PutSecret("s", "v")
			wantNotReady := func(r response) {
				t.Helper()
				if d == mwtest.Agent {
					wantStatusBody(t, r, http.StatusServiceUnavailable, mwtest.NotServingError)
				} else {
					wantGeneric400(t, r)
				}
			}

			e.NotReadyFor(2)
			wantNotReady(get(t, srv, secretPath("s"), withToken))
			wantNotReady(get(t, srv, secretPath("s"), withToken))
			for range 2 {
				if r := get(t, srv, secretPath("s"), withToken); r.status != http.StatusOK {
					t.Fatalf("after NotReadyFor(2): %d %q", r.status, r.body)
				}
			}

			e.SetReady(false)
			for range 3 {
				wantNotReady(get(t, srv, secretPath("s"), withToken))
			}
			if d == mwtest.Managed {
				wantNotReady(get(t, srv, "/nowhere", withToken))
			} else {
				wantStatusBody(t, get(t, srv, "/ping", nil), http.StatusOK, "healthy")
				wantStatusBody(t, get(t, srv, secretPath("s"), nil), http.StatusForbidden, "Bad Token")
			}
			if st := e.Stats(); st.NotReady != int64(5+btoi(d == mwtest.Managed)) {
				t.Errorf("NotReady %d", st.NotReady)
			}

			if d == mwtest.Agent {
				wantStatusBody(t, get(t, srv, "/start_serving", nil), http.StatusOK, "serving enabled")
			} else {
				e.SetReady(true)
			}
			if r := get(t, srv, secretPath("s"), withToken); r.status != http.StatusOK {
				t.Errorf("ready again: %d %q", r.status, r.body)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestStartServingIsAgentOnly(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.SetReady(false)
	wantBadToken(t, get(t, srv, "/start_serving", nil))
	wantGeneric400(t, get(t, srv, "/start_serving", withToken))
	e.SetReady(true)
	wantStatusBody(t, get(t, srv, "/start_serving", withToken), http.StatusNotFound, "not found")
}

// signal wraps h to report each request's arrival and return.
func signal(h http.Handler) (http.Handler, <-chan struct{}, <-chan struct{}) {
	entered, returned := make(chan struct{}, 100), make(chan struct{}, 100)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		defer func() { returned <- struct{}{} }()
		h.ServeHTTP(w, r)
	}), entered, returned
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(guard):
		t.Fatalf("timed out waiting for %s", what)
	}
}

type result struct {
	r   response
	err error
}

// fetch sends a request in the background.
func fetch(ctx context.Context, c *http.Client, u string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		req.Header = withToken.Clone()
		resp, err := c.Do(req)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		ch <- result{response{resp.StatusCode, resp.Header, string(b)}, err}
	}()
	return ch
}

func waitResult(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(guard):
		t.Fatal("timed out waiting for the client")
		return result{}
	}
}

func hangingServer(t *testing.T, d mwtest.Dialect) (*mwtest.Extension, *httptest.Server, <-chan struct{}) {
	t.Helper()
	e := mwtest.New(d)
	e.PutSecret("s", "v")
	h, _, returned := signal(e)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		e.Close()
		srv.Close()
	})
	e.SetHang(true)
	return e, srv, returned
}

func TestHangReleasedByClient(t *testing.T) {
	e, srv, returned := hangingServer(t, mwtest.Managed)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := fetch(ctx, srv.Client(), srv.URL+secretPath("s"))
	waitCtx, stop := context.WithTimeout(context.Background(), guard)
	defer stop()
	if !e.WaitHanging(waitCtx.Done(), 1) {
		t.Fatal("request never hung")
	}
	cancel()
	waitFor(t, returned, "the handler to return")
	if r := waitResult(t, res); !errors.Is(r.err, context.Canceled) {
		t.Errorf("client: %v, want context.Canceled", r.err)
	}
	if st := e.Stats(); st.Hung != 1 || st.Abandoned != 1 || len(st.ByStatus) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHangReleasedByClientTimeout(t *testing.T) {
	e, srv, returned := hangingServer(t, mwtest.Agent)
	c := srv.Client()
	c.Timeout = 50 * time.Millisecond
	res := fetch(context.Background(), c, srv.URL+secretPath("s"))
	if r := waitResult(t, res); r.err == nil {
		t.Fatalf("hung request answered %d %q", r.r.status, r.r.body)
	}
	// The handler may or may not have started before the timeout; if it
	// did, it must return.
	if e.Requests() == 1 {
		waitFor(t, returned, "the handler to return")
	}
}

func TestHangReleasedByClose(t *testing.T) {
	e, srv, returned := hangingServer(t, mwtest.Agent)
	res := []<-chan result{
		fetch(context.Background(), srv.Client(), srv.URL+secretPath("s")),
		fetch(context.Background(), srv.Client(), srv.URL+"/v1/s"),
	}
	if !e.WaitHanging(nil, 2) {
		t.Fatal("WaitHanging(nil) returned false")
	}
	e.Close()
	e.Close() // idempotent
	for _, ch := range res {
		waitFor(t, returned, "the handler to return")
		if r := waitResult(t, ch); r.err != nil || r.r.status != http.StatusServiceUnavailable || r.r.body != mwtest.ClosedError {
			t.Errorf("after Close: %+v", r)
		}
	}
	// Closed: everything answers 503, but stats still work.
	wantStatusBody(t, get(t, srv, "/ping", nil), http.StatusServiceUnavailable, mwtest.ClosedError)
	waitFor(t, returned, "the handler to return")
	if r := get(t, srv, mwtest.StatsPath, nil); r.status != http.StatusOK {
		t.Errorf("stats after Close: %d", r.status)
	}
}

func TestHangReleasedBySetHang(t *testing.T) {
	e, srv, _ := hangingServer(t, mwtest.Managed)
	res := fetch(context.Background(), srv.Client(), srv.URL+secretPath("s"))
	if !e.WaitHanging(nil, 1) {
		t.Fatal("not hanging")
	}
	e.SetHang(false)
	if r := waitResult(t, res); r.err != nil || r.r.status != http.StatusOK {
		t.Errorf("released: %+v", r)
	}
	if get(t, srv, secretPath("s"), withToken).status != http.StatusOK {
		t.Error("still hanging")
	}
}

func TestWaitHangingGivesUp(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	done := make(chan struct{})
	close(done)
	if e.WaitHanging(done, 1) {
		t.Error("WaitHanging reported a held request")
	}
	if !e.WaitHanging(done, 0) {
		t.Error("WaitHanging(0) = false")
	}
}

func TestLatency(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutSecret("s", "v")
	const d = 30 * time.Millisecond
	e.SetLatency(d)
	start := time.Now()
	if r := get(t, srv, secretPath("s"), withToken); r.status != http.StatusOK {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if el := time.Since(start); el < d {
		t.Errorf("answered after %v, want ≥ %v", el, d)
	}
	e.SetLatency(0)
	if r := get(t, srv, "/ping", withToken); r.status != http.StatusNotFound {
		t.Errorf("non-value request: %d", r.status)
	}
}

func TestLatencyAbandoned(t *testing.T) {
	e := mwtest.New(mwtest.Agent)
	e.PutSecret("s", "v")
	e.SetLatency(time.Hour)
	h, entered, returned := signal(e)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer e.Close()

	ctx, cancel := context.WithCancel(context.Background())
	res := fetch(ctx, srv.Client(), srv.URL+secretPath("s"))
	waitFor(t, entered, "the request")
	cancel()
	waitFor(t, returned, "the handler to return")
	if r := waitResult(t, res); !errors.Is(r.err, context.Canceled) {
		t.Errorf("client: %v", r.err)
	}

	// Close releases a delayed request too.
	res = fetch(context.Background(), srv.Client(), srv.URL+secretPath("s"))
	waitFor(t, entered, "the request")
	e.Close()
	waitFor(t, returned, "the handler to return")
	if r := waitResult(t, res); r.err != nil || r.r.status != http.StatusServiceUnavailable {
		t.Errorf("after Close: %+v", r)
	}
}

func TestFaultStatuses(t *testing.T) {
	for _, tc := range []struct {
		d      mwtest.Dialect
		f      mwtest.Faults
		status int
		body   string
	}{
		{mwtest.Managed, mwtest.Faults{Throttle: 1}, 429, mwtest.GenericError},
		{mwtest.Managed, mwtest.Faults{ServerError: 1}, 500, mwtest.GenericError},
		{mwtest.Agent, mwtest.Faults{Throttle: 1}, 429, `{"__type":"ThrottlingException", "message":"Rate exceeded"}`},
		{mwtest.Agent, mwtest.Faults{ServerError: 1}, 500, `{"__type":"InternalFailure"}`},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.d, tc.status), func(t *testing.T) {
			e, srv := mwtest.Start(t, tc.d)
			e.PutSecret("s", "v")
			e.SetFaults(tc.f)
			wantStatusBody(t, get(t, srv, secretPath("s"), withToken), tc.status, tc.body)
			// Faults hit value requests only.
			if r := get(t, srv, secretPath("s"), nil); r.status == tc.status {
				t.Errorf("fault on a rejected request")
			}
			st := e.Stats()
			if st.Faults.Throttle+st.Faults.ServerError != 1 || st.ByStatus[tc.status] != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestFaultReset(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			e.PutSecret("s", "v")
			e.SetFaults(mwtest.Faults{Reset: 1})
			// A fresh connection per request: Go's Transport would retry a
			// GET once on a reused connection that fails this way.
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			defer c.CloseIdleConnections()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+secretPath("s"), nil)
			req.Header = withToken.Clone()
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got a response %d", resp.StatusCode)
			}
			t.Logf("client error: %v", err)
			st := e.Stats()
			if st.Faults.Reset != 1 || len(st.ByStatus) != 0 || st.Total != 1 {
				t.Errorf("stats %+v", st)
			}
			e.SetFaults(mwtest.Faults{})
			if r := get(t, srv, secretPath("s"), withToken); r.status != http.StatusOK {
				t.Errorf("after faults off: %d %q", r.status, r.body)
			}
		})
	}
}

func TestFaultResetWithoutHijack(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	e.PutSecret("s", "v")
	e.SetFaults(mwtest.Faults{Reset: 1})
	req := httptest.NewRequest(http.MethodGet, secretPath("s"), nil)
	req.Header = withToken.Clone()
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	e.ServeHTTP(httptest.NewRecorder(), req)
}

func TestFaultFractions(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Agent)
	e.PutSecret("s", "v")
	f := mwtest.Faults{ServerError: 0.2, Throttle: 0.1, Seed: 42}
	const n = 1000
	run := func() []int {
		e.SetFaults(f)
		e.Reset()
		statuses := make([]int, n)
		for i := range statuses {
			statuses[i] = get(t, srv, secretPath("s"), withToken).status
		}
		return statuses
	}
	first := run()
	st := e.Stats()
	within := func(name string, got int64, frac float64) {
		if want := frac * n; float64(got) < want*0.7 || float64(got) > want*1.3 {
			t.Errorf("%s: %d of %d, want about %.0f", name, got, n, want)
		}
	}
	within("500s", st.ByStatus[500], f.ServerError)
	within("429s", st.ByStatus[429], f.Throttle)
	if st.Faults.ServerError != st.ByStatus[500] || st.Faults.Throttle != st.ByStatus[429] || st.ByStatus[200]+st.ByStatus[500]+st.ByStatus[429] != n {
		t.Errorf("stats %+v", st)
	}
	if second := run(); !slices.Equal(first, second) {
		t.Error("same seed, different faults")
	}
	f.Seed = 43
	if third := run(); slices.Equal(first, third) {
		t.Error("different seed, same faults")
	}
}

func TestCountersAndStatsEndpoint(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutParameter("/p", "", "v")
	get(t, srv, paramPath("/p"), withToken)
	get(t, srv, paramPath("/p"), withToken)
	get(t, srv, paramPath("/p"), nil) // rejected: not a fetch
	get(t, srv, paramPath(mwtest.ParameterARN("/p")), withToken)
	get(t, srv, paramPath("/q"), withToken)

	if e.Requests() != 5 || e.Fetches("/p") != 2 || e.Fetches(mwtest.ParameterARN("/p")) != 1 || e.Fetches("/q") != 1 || e.Fetches("/r") != 0 {
		t.Errorf("Requests %d, Fetches %d", e.Requests(), e.Fetches("/p"))
	}

	r := get(t, srv, mwtest.StatsPath, nil)
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("stats Content-Type %q", r.header.Get("Content-Type"))
	}
	st := decode[mwtest.Stats](t, r)
	if st.Total != 5 || st.Fetches != 4 || st.BadToken != 1 || st.ByName["/p"] != 2 || st.ByPath["/systemsmanager/parameters/get"] != 5 ||
		st.ByStatus[200] != 3 || st.ByStatus[400] != 1 || st.ByStatus[401] != 1 || st.ByError["ParameterNotFound"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if e.Requests() != 5 {
		t.Errorf("stats request counted: %d", e.Requests())
	}
	if r := do(t, srv.Client(), http.MethodPost, srv.URL+mwtest.StatsPath, nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST stats: %d", r.status)
	}

	// A snapshot does not change under the caller.
	snap := e.Stats()
	get(t, srv, paramPath("/p"), withToken)
	if snap.ByName["/p"] != 2 {
		t.Error("snapshot shares its maps")
	}

	e.Reset()
	if st := e.Stats(); e.Requests() != 0 || e.Fetches("/p") != 0 || st.Total != 0 || len(st.ByStatus) != 0 {
		t.Errorf("after Reset: %+v", st)
	}
	if r := get(t, srv, paramPath("/p"), withToken); r.status != http.StatusOK {
		t.Error("Reset dropped values")
	}
}

func TestWithoutServer(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	e.PutParameter("/p", "", "v")
	req := httptest.NewRequest(http.MethodGet, paramPath("/p"), nil)
	req.Header = withToken.Clone()
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"Value":"v"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if e.Dialect() != mwtest.Managed {
		t.Error("Dialect")
	}
}

func TestPanicsOnMisuse(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	e.PutParameter("/p", "", "v")
	v := e.PutSecret("s", "v")
	for name, f := range map[string]func(){
		"bad type":          func() { e.PutParameter("/p", "Int", "1") },
		"label unknown":     func() { e.LabelParameter("/nope", 1, "x") },
		"label bad version": func() { e.LabelParameter("/p", 2, "x") },
		"label empty":       func() { e.LabelParameter("/p", 1, "") },
		"stage unknown":     func() { e.StageSecret("nope", v, "x") },
		"stage bad version": func() { e.StageSecret("s", "nope", "x") },
		"stage empty":       func() { e.StageSecret("s", v, "") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Error("no panic")
				} else if strings.Contains(fmt.Sprint(p), "\"v\"") {
					t.Errorf("panic %q holds a value", p)
				}
			}()
			f()
		})
	}
}

func TestConcurrent(t *testing.T) {
	busy.Goroutines(t, 0)
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			e.PutSecret("s", "v0")
			tr := &http.Transport{MaxIdleConnsPerHost: 200}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			const workers, each = 200, 5
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for i := range workers {
				wg.Go(func() {
					for j := range each {
						switch (i + j) % 7 {
						case 0:
							e.PutSecret("s", fmt.Sprintf("v%d", i))
						case 1:
							e.SetFaults(mwtest.Faults{Throttle: 0.1, Seed: int64(i)})
						case 2:
							_ = e.Stats()
						case 3:
							e.NotReadyFor(1)
						}
						req, _ := http.NewRequest(http.MethodGet, srv.URL+secretPath("s"), nil)
						req.Header = withToken.Clone()
						resp, err := c.Do(req)
						if err != nil {
							errs <- err
							continue
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						switch resp.StatusCode {
						case 200, 429, 400, 503:
						default:
							errs <- fmt.Errorf("status %d", resp.StatusCode)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			st := e.Stats()
			if st.Total != workers*each || e.Fetches("s") != workers*each {
				t.Errorf("Total %d, Fetches %d; want %d", st.Total, e.Fetches("s"), workers*each)
			}
			var answered int64
			for _, n := range st.ByStatus {
				answered += n
			}
			if answered != workers*each {
				t.Errorf("answered %d", answered)
			}
		})
	}
}

func TestStartCleanupReleasesHangs(t *testing.T) {
	var res <-chan result
	t.Run("inner", func(t *testing.T) {
		e, srv := mwtest.Start(t, mwtest.Managed)
		e.SetHang(true)
		res = fetch(context.Background(), srv.Client(), srv.URL+secretPath("s"))
		if !e.WaitHanging(nil, 1) {
			t.Fatal("not hanging")
		}
	}) // its cleanup must not deadlock
	if r := waitResult(t, res); r.err == nil && r.r.status != http.StatusServiceUnavailable {
		t.Errorf("after cleanup: %+v", r)
	}
}

func BenchmarkFetch(b *testing.B) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		b.Run(d.String(), func(b *testing.B) {
			e, srv := mwtest.Start(b, d)
			e.PutSecret("s", "v")
			tr := &http.Transport{MaxIdleConnsPerHost: 1000}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			u := srv.URL + secretPath("s")
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, u, nil)
					req.Header.Set(mwtest.TokenHeader, mwtest.DefaultToken)
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
