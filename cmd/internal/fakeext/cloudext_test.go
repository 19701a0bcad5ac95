package fakeext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// The function's credentials in these tests, which the runtime checks.
const (
	testKeyID  = "ASIAFAKEEXTTEST00001"
	testSecret = "fakeext-test-secret-access-key"
	testToken  = "fakeext-test-session-token"
)

func startRuntime(t *testing.T) (*Runtime, *httptest.Server) {
	t.Helper()
	rt := NewRuntime(cloudexttest.Auth{Mode: cloudexttest.AuthRuntimeCredentials, AccessKeyID: testKeyID, SecretKey: testSecret, SessionToken: testToken})
	srv := httptest.NewServer(rt)
	t.Cleanup(func() {
		rt.Close()
		srv.Close()
	})
	return rt, srv
}

// source is mw's cloudext source for the runtime at url, signing with the
// function's credentials, but secret as its secret key.
func source(url, secret string) *cloudext.Source {
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret, SessionToken: testToken}
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return creds, nil
	})}
	return cloudext.New(cfg, cloudext.WithEndpoint(url))
}

// The operations of cloudext's Plan, by kind.
var ops = map[mw.Kind]string{
	mw.KindSecret:    "GET /secretsmanager/get",
	mw.KindParameter: "AmazonSSM.GetParameters",
	mw.KindAppConfig: "AppConfig.GetConfiguration",
}

func fetchOne(src *cloudext.Source, it mw.Item) mw.Result {
	return src.Fetch(context.Background(), ops[it.Kind], []mw.Item{it})[0]
}

// The example values file, served through the Cloud Extensions runtime and
// read by mw's cloudext source: every kind, versions, stages, labels,
// denials.
func TestRuntimeServesTheValuesFile(t *testing.T) {
	rt, srv := startRuntime(t)
	lines, err := LoadValuesFile("../../mw-extension/testdata/values.json", rt)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		for _, v := range []string{"local-pass", "old-pass", "local-db-password", "beta"} {
			if strings.Contains(line, v) {
				t.Errorf("startup line %q shows a value", line)
			}
		}
	}
	src := source(srv.URL, testSecret)
	for _, tc := range []struct {
		it   mw.Item
		want string
	}{
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db"}, `{"username":"app","password":"local-pass"}`},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"}, `{"username":"app","password":"old-pass"}`},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/tls-key"}, "\x00\x01\x02\x03\x04\x05"},
		{mw.Item{Kind: mw.KindParameter, Name: "/app/flags"}, "beta,dark-mode,new-checkout"},
		{mw.Item{Kind: mw.KindParameter, Name: "/app/flags", Label: "previous"}, "beta,dark-mode"},
		{mw.Item{Kind: mw.KindParameter, Name: "/app/db/password"}, "local-db-password"},
		{mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "local", Name: "settings"}, `{"batch":25,"retries":3}`},
	} {
		if res := fetchOne(src, tc.it); res.Err != nil || res.Value != tc.want {
			t.Errorf("%v = %q, %v; want %q", tc.it, res.Value, res.Err, tc.want)
		}
	}
	// Feature flags, with their list attributes typed.
	res := fetchOne(src, mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "local", Name: "flags"})
	var flags map[string]map[string]any
	if err := json.Unmarshal([]byte(res.Value), &flags); err != nil || res.Err != nil {
		t.Fatalf("flags: %q, %v, %v", res.Value, res.Err, err)
	}
	if got, _ := json.Marshal(flags["new-checkout"]); string(got) != `{"enabled":true,"limit":5,"regions":["eu-west-1","us-east-1"]}` {
		t.Errorf("new-checkout = %s", got)
	}
	// A flag evaluated serves no item.
	if _, err := src.EvaluateFlag(context.Background(), mw.Item{Kind: mw.KindAppConfig, Application: "orders", Environment: "local", Name: "flags"}, "new-checkout", nil); err != nil {
		t.Errorf("GetFlag: %v", err)
	}
	// Every answer that carried a value, by name; one GetParameters, two.
	if res := src.Fetch(context.Background(), ops[mw.KindParameter], []mw.Item{{Kind: mw.KindParameter, Name: "/app/region"}, {Kind: mw.KindParameter, Name: "/app/flags"}}); res[0].Err != nil || res[1].Err != nil {
		t.Errorf("two parameters at once: %v, %v", res[0].Err, res[1].Err)
	}
	st := rt.Counters().(RuntimeStats)
	want := map[string]int64{"prod/db": 2, "prod/tls-key": 1, "/app/flags": 3, "/app/db/password": 1, "/app/region": 1, "orders/local/settings": 1, "orders/local/flags": 1}
	if fmt.Sprint(st.Served) != fmt.Sprint(want) || st.Operations["GetFlag"] != 1 {
		t.Errorf("served %v, want %v; operations %v", st.Served, want, st.Operations)
	}
	for name, class := range map[mw.Item]mw.Class{
		{Kind: mw.KindParameter, Name: "/app/forbidden"}:   mw.ClassAccessDenied,
		{Kind: mw.KindSecret, Name: "prod/kms-locked"}:     mw.ClassDecrypt,
		{Kind: mw.KindParameter, Name: "/app/no-such-one"}: mw.ClassNotFound,
	} {
		res := fetchOne(src, name)
		se, ok := errors.AsType[*mw.SourceError](res.Err)
		if !ok || se.Class != class {
			t.Errorf("%v: %v, want class %s", name, res.Err, class)
		}
	}
}

// rawStatus posts an unsigned AppConfig request and returns the answer's
// status and reason.
func rawStatus(t *testing.T, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+cloudexttest.RouteAppConfig, strings.NewReader(`{"application":"a","environment":"e","configuration":"c"}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AppConfig.GetConfiguration")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Reason
}

// Not ready, the runtime answers 503 PROFILE_LOADING, before it checks the
// signature; NotReadyFor(n) answers n more EXTENSION_LOADING; the counters
// say which, and /_mw/stats serves them without counting itself.
func TestRuntimeStartup(t *testing.T) {
	rt, srv := startRuntime(t)
	rt.PutSecret("s", "v")
	src := source(srv.URL, testSecret)
	it := mw.Item{Kind: mw.KindSecret, Name: "s"}
	notReady := func(res mw.Result) bool {
		se, ok := errors.AsType[*mw.SourceError](res.Err)
		return ok && se.NotReady && se.Status == http.StatusServiceUnavailable
	}

	rt.SetReady(false)
	if code, reason := rawStatus(t, srv.URL); code != http.StatusServiceUnavailable || reason != "PROFILE_LOADING" {
		t.Errorf("unsigned, while loading the profile: %d %s, want 503 PROFILE_LOADING", code, reason)
	}
	if res := fetchOne(src, it); !notReady(res) {
		t.Errorf("while loading the profile: %q, %v; want not ready", res.Value, res.Err)
	}
	rt.NotReadyFor(2)
	for i := range 2 {
		if res := fetchOne(src, it); !notReady(res) {
			t.Errorf("request %d after NotReadyFor(2): %q, %v; want not ready", i+1, res.Value, res.Err)
		}
	}
	if res := fetchOne(src, it); res.Value != "v" {
		t.Errorf("then: %q, %v; want the value", res.Value, res.Err)
	}

	st := rt.Counters().(RuntimeStats)
	if st.Requests != 5 || st.Unavailable["PROFILE_LOADING"] != 2 || st.Unavailable["EXTENSION_LOADING"] != 2 || st.Operations["GetSecretValue"] != 3 || st.Served["s"] != 1 {
		t.Errorf("counters = %+v", st)
	}
	resp, err := http.Get(srv.URL + "/_mw/stats")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want, _ := json.Marshal(st)
	if strings.TrimSpace(string(body)) != string(want) {
		t.Errorf("/_mw/stats = %s, want %s", body, want)
	}
	if n := rt.Requests(); n != 5 {
		t.Errorf("%d requests after /_mw/stats, want 5: it counted itself", n)
	}
	if strings.Contains(string(body), testSecret) || strings.Contains(string(body), testToken) || strings.Contains(string(body), `"v"`) {
		t.Errorf("/_mw/stats shows a credential or a value: %s", body)
	}
}

// Told it stays not ready a while longer, the runtime loads its profile
// for the first half of it and its extensions for the second: then a
// signed request gets EXTENSION_LOADING and an unsigned one is refused, as
// the runtime checks the signature between the two. A late timer does not
// take a serving runtime back.
func TestRuntimeLoadingStages(t *testing.T) {
	rt, srv := startRuntime(t)
	var halfway func()
	var after time.Duration
	rt.after = func(d time.Duration, f func()) { after, halfway = d, f }
	src := source(srv.URL, testSecret)
	it := mw.Item{Kind: mw.KindSecret, Name: "s"}
	rt.PutSecret("s", "v")

	rt.SetReady(false)
	rt.Loading(time.Second)
	if after != 500*time.Millisecond || halfway == nil {
		t.Fatalf("EXTENSION_LOADING after %v, want 500ms", after)
	}
	if code, reason := rawStatus(t, srv.URL); reason != "PROFILE_LOADING" {
		t.Errorf("first half: %d %s, want PROFILE_LOADING", code, reason)
	}
	halfway()
	if code, _ := rawStatus(t, srv.URL); code != http.StatusForbidden {
		t.Errorf("second half, unsigned: %d, want 403 (the signature is checked before the extensions' loading)", code)
	}
	fetchOne(src, it)
	if st := rt.Counters().(RuntimeStats); st.Unavailable["EXTENSION_LOADING"] != 1 || st.AuthRefused != 1 {
		t.Errorf("second half: counters %+v, want one EXTENSION_LOADING, one refused", st)
	}
	rt.SetReady(true)
	halfway()
	if res := fetchOne(src, it); res.Value != "v" {
		t.Errorf("serving, after a late timer: %q, %v", res.Value, res.Err)
	}
}

// A signature made with another secret key is refused, as a bad token:
// the runtime checks the credentials it is told.
func TestRuntimeRefusesABadSignature(t *testing.T) {
	rt, srv := startRuntime(t)
	rt.PutSecret("s", "canary-secret-value")
	res := fetchOne(source(srv.URL, "another-secret-access-key"), mw.Item{Kind: mw.KindSecret, Name: "s"})
	se, ok := errors.AsType[*mw.SourceError](res.Err)
	if !ok || se.Class != mw.ClassBadToken || se.Code != "SignatureDoesNotMatch" {
		t.Fatalf("%q, %v: want a refused signature", res.Value, res.Err)
	}
	if strings.Contains(res.Err.Error(), "canary-secret-value") || strings.Contains(res.Err.Error(), testSecret) {
		t.Errorf("the error shows a value or a key: %v", res.Err)
	}
	if st := rt.Counters().(RuntimeStats); st.AuthRefused != 1 || len(st.Operations) != 0 {
		t.Errorf("counters %+v", st)
	}
}
