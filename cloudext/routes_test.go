package cloudext_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// recorder serves a fake and records the requests it got.
type recorder struct {
	f    *cloudexttest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path   string
	query  url.Values
	header http.Header
	body   []byte
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(b))
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.URL.Path, req.URL.Query(), req.Header.Clone(), b})
	r.mu.Unlock()
	r.f.ServeHTTP(w, req)
}

func (r *recorder) taken() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

func record(t *testing.T, s cloudexttest.Settings, opts ...cloudext.Option) (*cloudexttest.Server, *recorder, *cloudext.Source) {
	f := cloudexttest.New(s)
	rec := &recorder{f: f}
	srv := httptest.NewServer(rec)
	t.Cleanup(func() { f.Close(); srv.Close() })
	return f, rec, f.NewSource(srv.URL, opts...)
}

func TestSecretsRoute(t *testing.T) {
	f, rec, src := record(t, cloudexttest.Settings{})
	first := f.PutSecret("app/db", canary+"1")
	f.PutSecret("app/db", canary+"2")
	const role = "arn:aws:iam::210987654321:role/reader"
	f.PutRoleSecret(role, "app/db", canary+"as-role")

	for _, c := range []struct {
		it    mw.Item
		value string
		query url.Values
	}{
		{secret("app/db"), canary + "2", url.Values{"secretId": {"app/db"}}},
		{mw.Item{Kind: mw.KindSecret, Name: "app/db", VersionID: first}, canary + "1", url.Values{"secretId": {"app/db"}, "versionId": {first}}},
		{mw.Item{Kind: mw.KindSecret, Name: "app/db", VersionStage: "AWSPREVIOUS"}, canary + "1", url.Values{"secretId": {"app/db"}, "versionStage": {"AWSPREVIOUS"}}},
		{mw.Item{Kind: mw.KindSecret, Name: "app/db", Refresh: true}, canary + "2", url.Values{"secretId": {"app/db"}, "refreshNow": {"true"}}},
		{mw.Item{Kind: mw.KindSecret, Name: "app/db", RoleARN: role}, canary + "as-role", url.Values{"secretId": {"app/db"}, "roleArn": {role}}},
	} {
		if r := fetch(t, src, c.it)[0]; r.Err != nil || r.Value != c.value {
			t.Errorf("%v: %q, %v; want %q", c.it, r.Value, r.Err, c.value)
		}
		reqs := rec.taken()
		if len(reqs) != 1 || reqs[0].path != "/secretsmanager/get" || !reflect.DeepEqual(reqs[0].query, c.query) {
			t.Errorf("%v: sent %+v; want one GET /secretsmanager/get?%s", c.it, reqs, c.query.Encode())
			continue
		}
		h := reqs[0].header
		if h.Get("X-Forwarded-For") != "" || h.Get("X-Aws-Parameters-Secrets-Token") != "" ||
			h.Get("X-Amz-Security-Token") != cloudexttest.RuntimeSessionToken || !strings.Contains(h.Get("Authorization"), "/secretsmanager/aws4_request") {
			t.Errorf("%v: headers %v", c.it, h)
		}
	}
	if st := f.Stats(); st.RefreshNow != 1 || st.WithRole != 1 {
		t.Errorf("%+v", st)
	}

	// A role the runtime cannot assume is a 400 AccessDeniedException,
	// whose hint names sts:AssumeRole.
	other := mw.Item{Kind: mw.KindSecret, Name: "app/db", RoleARN: "arn:aws:iam::210987654321:role/other"}
	wantFailure(t, "another role", fetch(t, src, other)[0].Err, want{class: mw.ClassAccessDenied, status: 400, code: "AccessDeniedException",
		hint: []string{"sts:AssumeRole", "arn:aws:iam::210987654321:role/other"}})

	// A binary secret is its bytes; a name with characters a query escapes
	// is asked for as it is.
	bin := []byte{0, 0xff, '\n', 'x'}
	f.PutSecretBinary("odd name/+=&?#", bin)
	if r := fetch(t, src, secret("odd name/+=&?#"))[0]; r.Err != nil || r.Value != string(bin) {
		t.Errorf("binary: %q, %v", r.Value, r.Err)
	}
}

func TestParametersRoute(t *testing.T) {
	f, rec, src := record(t, cloudexttest.Settings{})
	var items []mw.Item
	for i := range 23 {
		name := fmt.Sprintf("/app/p%02d", i)
		f.PutParameter(name, cloudexttest.TypeString, canary+name)
		items = append(items, param(name))
	}
	// A version and a label of one parameter, and the parameter by ARN:
	// no two of them may share a request.
	f.PutParameter("/app/p00", cloudexttest.TypeString, canary+"v2")
	f.LabelParameter("/app/p00", 1, "old")
	items = append(items,
		mw.Item{Kind: mw.KindParameter, Name: "/app/p00", Version: 1},
		mw.Item{Kind: mw.KindParameter, Name: "/app/p00", Label: "old"},
		param("arn:aws:ssm:us-east-1:123456789012:parameter/app/p00"),
		param("/app/missing"))
	res := fetch(t, src, items...)
	for i, r := range res {
		value := canary + items[i].Name
		switch {
		case i == 0 || i == 25:
			value = canary + "v2"
		case i == 23 || i == 24:
			value = canary + "/app/p00"
		}
		if i == 26 {
			wantFailure(t, "missing", r.Err, want{class: mw.ClassNotFound, status: 200, code: "ParameterNotFound"})
			continue
		}
		if r.Err != nil || r.Value != value {
			t.Errorf("%v: %q, %v; want %q", items[i], r.Value, r.Err, value)
		}
	}
	reqs := rec.taken()
	if len(reqs) != 5 { // 27 names: 10 + 10 + 4, and 3 more of /app/p00's key
		t.Errorf("%d requests; want 5", len(reqs))
	}
	sent := map[string]int{}
	for _, r := range reqs {
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if err := json.Unmarshal(r.body, &in); err != nil || !in.WithDecryption || len(in.Names) > 10 ||
			r.header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" || r.header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.Contains(r.header.Get("Authorization"), "/ssm/aws4_request") || r.header.Get("X-Aws-Parameters-Secrets-Token") != "" {
			t.Errorf("request %s %v: %v", r.body, r.header, err)
		}
		keys := map[string]bool{}
		for _, n := range in.Names {
			sent[n]++
			k := strings.TrimPrefix(strings.Split(strings.TrimPrefix(n, "arn:aws:ssm:us-east-1:123456789012:parameter"), ":")[0], "/")
			if keys[k] {
				t.Errorf("two requests for %s in one call: %v", k, in.Names)
			}
			keys[k] = true
		}
	}
	for _, want := range []string{"/app/p00:1", "/app/p00:old", "/app/p05"} {
		if sent[want] != 1 {
			t.Errorf("%s sent %d times; want 1 (%v)", want, sent[want], sent)
		}
	}
}

// A secret read through Parameter Store, /aws/reference/secretsmanager/<id>
// (a version stage as its label), is the secret's value, asked for
// decrypted in a GetParameters request of its own.
func TestParametersRouteReadsSecretsByReference(t *testing.T) {
	f, rec, src := record(t, cloudexttest.Settings{})
	f.PutSecret("prod/db", canary+"1")
	f.PutSecret("prod/db", canary+"2")
	f.PutParameter("/app/url", cloudexttest.TypeString, canary+"url")
	const ref = "/aws/reference/secretsmanager/prod/db"
	items := []mw.Item{param(ref), {Kind: mw.KindParameter, Name: ref, Label: cloudexttest.StagePrevious}, param("/app/url")}
	res := fetch(t, src, items...)
	for i, value := range []string{canary + "2", canary + "1", canary + "url"} {
		if res[i].Err != nil || res[i].Value != value {
			t.Errorf("%v: %q, %v; want %q", items[i], res[i].Value, res[i].Err, value)
		}
	}
	var calls [][]string
	for _, r := range rec.taken() {
		var in struct {
			Names          []string
			WithDecryption bool
		}
		if err := json.Unmarshal(r.body, &in); err != nil || !in.WithDecryption {
			t.Errorf("request %s: %v; want WithDecryption", r.body, err)
		}
		calls = append(calls, in.Names)
	}
	slices.SortFunc(calls, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	if want := [][]string{{"/app/url"}, {ref}, {ref + ":" + cloudexttest.StagePrevious}}; !reflect.DeepEqual(calls, want) {
		t.Errorf("sent %q; want %q", calls, want)
	}
}

func TestAppConfigRoute(t *testing.T) {
	f, rec, src := record(t, cloudexttest.Settings{}, cloudext.WithAppConfigSigningName("appconfig"))
	content := []byte(`{"greeting":"` + canary + `"}`)
	f.PutConfiguration("team/app", "pre prod", "settings", "application/json", content)
	r := fetch(t, src, profile("team/app", "pre prod", "settings"))[0]
	if r.Err != nil || r.Value != string(content) {
		t.Errorf("%q, %v", r.Value, r.Err)
	}
	reqs := rec.taken()
	var in map[string]string
	if len(reqs) != 1 || reqs[0].path != "/appconfig/" || json.Unmarshal(reqs[0].body, &in) != nil ||
		!reflect.DeepEqual(in, map[string]string{"application": "team/app", "environment": "pre prod", "configuration": "settings"}) ||
		reqs[0].header.Get("X-Amz-Target") != "AppConfig.GetConfiguration" ||
		!strings.Contains(reqs[0].header.Get("Authorization"), "/appconfig/aws4_request") {
		t.Errorf("sent %+v", reqs)
	}
}

func TestEvaluateFlag(t *testing.T) {
	f, rec, src := record(t, cloudexttest.Settings{})
	f.PutFlags("shop", "prod", "flags", map[string]cloudexttest.Flag{
		"checkout": {
			Enabled: true, Attributes: map[string]any{"limit": 10.0},
			Variants: []cloudexttest.Variant{
				{Name: "ukPremium", Enabled: true, When: map[string]string{"country": "UK", "tier": "gold"},
					Attributes: map[string]any{"currency": "GBP", "max": 500.0, "express": true, "methods": []string{"card", "paypal"}, "steps": []float64{1, 2}}},
				{Name: "off", Enabled: false},
			},
			DefaultVariant: "off",
		},
		"banner": {Enabled: true, Attributes: map[string]any{"text": "hello"}},
	})
	f.PutConfiguration("shop", "prod", "plain", "text/plain", []byte("x"))
	it := profile("shop", "prod", "flags")
	uk := map[string]string{"country": "UK", "tier": "gold", "userId": canary}

	got, err := src.EvaluateFlag(t.Context(), it, "checkout", uk)
	wantFlag := mw.Flag{Enabled: true, Variant: "ukPremium", Attributes: map[string]any{"currency": "GBP", "max": 500.0, "express": true,
		"methods": []string{"card", "paypal"}, "steps": []float64{1, 2}}}
	if err != nil || !reflect.DeepEqual(got, wantFlag) {
		t.Errorf("UK gold: %+v, %v; want %+v", got, err, wantFlag)
	}
	reqs := rec.taken()
	var in struct {
		Flag    string            `json:"flag"`
		Context map[string]string `json:"context"`
	}
	if len(reqs) != 1 || reqs[0].header.Get("X-Amz-Target") != "AppConfig.GetFlag" || json.Unmarshal(reqs[0].body, &in) != nil ||
		in.Flag != "checkout" || !reflect.DeepEqual(in.Context, uk) {
		t.Errorf("sent %+v", reqs)
	}
	if got, err := src.EvaluateFlag(t.Context(), it, "checkout", map[string]string{"country": "FR"}); err != nil || got.Variant != "off" || got.Enabled {
		t.Errorf("FR: %+v, %v; want the default variant, off", got, err)
	}
	if got, err := src.EvaluateFlag(t.Context(), it, "banner", nil); err != nil || !got.Enabled || got.Variant != "" || got.Attributes["text"] != "hello" {
		t.Errorf("banner: %+v, %v", got, err)
	}

	_, err = src.EvaluateFlag(t.Context(), it, "nope", uk)
	if !errors.Is(err, mw.ErrUnknownFlag) {
		t.Errorf("an unknown flag: %v; want mw.ErrUnknownFlag", err)
	}
	wantFailure(t, "an unknown flag", err, want{class: mw.ClassNotFound, status: 400, code: "ValidationException", hint: []string{"flag key"}})
	_, err = src.EvaluateFlag(t.Context(), profile("shop", "prod", "plain"), "x", nil)
	wantFailure(t, "not a flags profile", err, want{class: mw.ClassOther, status: 400, code: "ValidationException", hint: []string{"AWS.AppConfig.FeatureFlags"}})
	_, err = src.EvaluateFlag(t.Context(), profile("shop", "prod", "missing"), "x", nil)
	wantFailure(t, "a missing profile", err, want{class: mw.ClassNotFound, status: 400, code: "ValidationException"})
	_, err = src.EvaluateFlag(t.Context(), mw.Item{Kind: mw.KindAppConfig, Application: "shop", Environment: "prod", Name: "flags",
		RoleARN: "arn:aws:iam::210987654321:role/reader"}, "checkout", nil)
	wantFailure(t, "a role", err, want{class: mw.ClassConfig})

	// GetConfiguration renders the flags with no context: the default
	// variant.
	r := fetch(t, src, it)[0]
	var rendered map[string]map[string]any
	if r.Err != nil || json.Unmarshal([]byte(r.Value), &rendered) != nil || rendered["checkout"]["_variant"] != "off" || rendered["banner"]["text"] != "hello" {
		t.Errorf("GetConfiguration of flags: %q, %v", r.Value, r.Err)
	}
}

func TestPlan(t *testing.T) {
	src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config())
	for _, c := range []struct {
		it        mw.Item
		op        string
		batch     int
		refusal   string // a part of the refusal; "" to serve
		notServed bool
	}{
		{it: secret("s"), op: "GET /secretsmanager/get", batch: 1},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", RoleARN: "arn:aws:iam::123456789012:role/r"}, op: "GET /secretsmanager/get", batch: 1},
		{it: param("/p"), op: "AmazonSSM.GetParameters", batch: 10},
		{it: profile("a", "e", "p"), op: "AppConfig.GetConfiguration", batch: 1},
		{it: mw.Item{Kind: mw.KindParametersByPath, Name: "/app"}, refusal: "awssdk", notServed: true},
		{it: mw.Item{Kind: mw.Kind(99), Name: "x"}, refusal: "serves", notServed: true},
		{it: mw.Item{Kind: mw.KindParameter, Name: "/p", RoleARN: "arn:aws:iam::123456789012:role/r"}, refusal: "execution role"},
		{it: mw.Item{Kind: mw.KindAppConfig, Application: "a", Environment: "e", Name: "p", RoleARN: "arn:aws:iam::123456789012:role/r"}, refusal: "execution role"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", RoleARN: "arn:aws:iam::123:role/r"}, refusal: "IAM role's ARN"},
		{it: mw.Item{Kind: mw.KindSecret, Name: "s", Version: 2}, refusal: "version id"},
		{it: mw.Item{Kind: mw.KindParameter, Name: "/p:3", Version: 2}, refusal: "selector"},
		{it: param("arn:aws:secretsmanager:us-east-1:123456789012:secret:s"), refusal: "WithSecrets"},
		{it: mw.Item{Kind: mw.KindAppConfig, Name: "p"}, refusal: "application"},
		{it: param("arn:aws:ssm:us-east-1:123456789012:document/d"), refusal: "not a parameter's"},
		{it: secret("/aws/reference/secretsmanager/prod/db"), refusal: `"prod/db"`},
		{it: mw.Item{Kind: mw.KindParameter, Name: "/p", VersionStage: "AWSPREVIOUS"}, refusal: "the label is its stage"},
	} {
		p, err := src.Plan(c.it)
		switch {
		case c.refusal == "" && (err != nil || p.Op != c.op || p.Batch != c.batch):
			t.Errorf("Plan(%v) = %+v, %v; want %s, %d", c.it, p, err, c.op, c.batch)
		case c.refusal != "" && (err == nil || !strings.Contains(err.Error(), c.refusal) || errors.Is(err, mw.ErrNotServed) != c.notServed):
			t.Errorf("Plan(%v): %v; want a refusal saying %q (ErrNotServed: %v)", c.it, err, c.refusal, c.notServed)
		}
	}
}

// A binary secret read through Parameter Store comes back with no Value:
// the error says it is a binary secret, and how to read its bytes.
func TestParametersRouteSaysABinarySecretIsOne(t *testing.T) {
	f, src, _ := start(t, cloudexttest.Settings{})
	f.PutSecretBinary("prod/key", []byte{0xde, 0xad})
	err := fetch(t, src, param("/aws/reference/secretsmanager/prod/key"))[0].Err
	wantFailure(t, "a binary secret", err, want{class: mw.ClassMalformed, status: 200,
		hint: []string{`mw.WithSecrets("prod/key")`, "mw.SecretBinary"}})
	if !strings.Contains(err.Error(), "binary secret") {
		t.Errorf("%v; want it to say it is a binary secret", err)
	}
	f.PutSecretBinary("prod/key", []byte{0xbe, 0xef})
	err = fetch(t, src, mw.Item{Kind: mw.KindParameter, Name: "/aws/reference/secretsmanager/prod/key", Label: cloudexttest.StagePrevious})[0].Err
	wantFailure(t, "a binary secret at a stage", err, want{class: mw.ClassMalformed, status: 200,
		hint: []string{`mw.WithSecret("prod/key", mw.VersionStage("AWSPREVIOUS"))`}})
}
