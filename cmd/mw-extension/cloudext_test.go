package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
)

// The function's credentials, as Lambda gives them to the function and to
// every extension.
var lambdaCreds = map[string]string{
	"AWS_ACCESS_KEY_ID":     "ASIAMWEXTENSIONTEST1",
	"AWS_SECRET_ACCESS_KEY": "mw-extension-test-secret-access-key",
	"AWS_SESSION_TOKEN":     "mw-extension-test-session-token",
}

func withEnv(m map[string]string, more ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(more); i += 2 {
		out[more[i]] = more[i+1]
	}
	return out
}

// signer is mw's cloudext source for the emulator on port, signing with
// the function's credentials, but secret as its secret key.
func signer(port int, secret string) *cloudext.Source {
	creds := aws.Credentials{AccessKeyID: lambdaCreds["AWS_ACCESS_KEY_ID"], SecretAccessKey: secret, SessionToken: lambdaCreds["AWS_SESSION_TOKEN"]}
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return creds, nil
	})}
	return cloudext.New(cfg, cloudext.WithEndpoint("http://127.0.0.1:"+strconv.Itoa(port)))
}

// outcome fetches a secret and a parameter and says how each went: its
// value, "not ready", or the error's class.
func outcome(src *cloudext.Source) string {
	var got []string
	for _, f := range []struct {
		op string
		it mw.Item
	}{
		{"GET /secretsmanager/get", mw.Item{Kind: mw.KindSecret, Name: "s"}},
		{"AmazonSSM.GetParameters", mw.Item{Kind: mw.KindParameter, Name: "/p"}},
	} {
		res := src.Fetch(context.Background(), f.op, []mw.Item{f.it})[0]
		se, _ := errors.AsType[*mw.SourceError](res.Err)
		switch {
		case res.Err == nil:
			got = append(got, res.Value)
		case se != nil && se.NotReady:
			got = append(got, "not ready")
		case se != nil:
			got = append(got, string(se.Class))
		default:
			got = append(got, res.Err.Error())
		}
	}
	return strings.Join(got, " ")
}

func TestCloudExtFlags(t *testing.T) {
	cfg, err := parseFlags("mw-cloudext", []string{"-dialect", "cloudext"}, env(lambdaCreds), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := cloudextAuth{mode: authRuntime, accessKeyID: "ASIAMWEXTENSIONTEST1", secretKey: "mw-extension-test-secret-access-key"}
	if cfg.port != 5333 || cfg.cloudext != want || cfg.token != lambdaCreds["AWS_SESSION_TOKEN"] {
		t.Errorf("config = %+v", cfg)
	}
	// Its port variable; -port wins; the other dialects' are not its own.
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, withEnv(lambdaCreds, "MW_EXT_CLOUDEXT_PORT", "6000", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "3001"), 6000},
		{[]string{"-port", "6001"}, withEnv(lambdaCreds, "MW_EXT_CLOUDEXT_PORT", "6000"), 6001},
		{nil, withEnv(lambdaCreds, "AWS_APPCONFIG_EXTENSION_HTTP_PORT", "3002"), 5333},
	} {
		cfg, err := parseFlags("ext", append([]string{"-dialect", "cloudext"}, tc.args...), env(tc.env), io.Discard)
		if err != nil || cfg.port != tc.want {
			t.Errorf("%q: port %d, %v; want %d", tc.args, cfg.port, err, tc.want)
		}
	}
	key := []string{"-auth", "extensionKey", "-extension-key-id", "CXEKMWEXTENSIONTEST1", "-extension-secret-key", "key-secret-0123456789"}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string // "" for none
	}{
		{nil, nil, "set $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY"},
		{nil, withEnv(nil, "AWS_ACCESS_KEY_ID", "ASIAX"), "set $AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY"},
		{[]string{"-access-key-id", "AKIAX", "-secret-access-key", "s"}, nil, ""},
		{[]string{"-auth", "extensionKey"}, lambdaCreds, "CXEK followed by 16"},
		{[]string{"-auth", "extensionKey", "-extension-key-id", "AKIAX", "-extension-secret-key", "s"}, nil, "CXEK followed by 16"},
		{key, nil, ""},
		{[]string{"-auth", "none"}, nil, ""},
		{[]string{"-auth", "none", "-host", "0.0.0.0"}, nil, "checks no signature"},
		{[]string{"-host", "0.0.0.0"}, lambdaCreds, ""}, // every request is signed
		{[]string{"-auth", "iam"}, lambdaCreds, "-auth: want runtimeCredentials, extensionKey or none"},
		{[]string{"-errors", "0.1"}, lambdaCreds, "not served in the cloudext dialect"},
		{[]string{"-hang"}, lambdaCreds, "not served in the cloudext dialect"},
		{[]string{"-ready-at", "init"}, lambdaCreds, "-ready-at: want invoke or register"},
	} {
		_, err := parseFlags("ext", append([]string{"-dialect", "cloudext"}, tc.args...), env(tc.env), io.Discard)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), lambdaCreds["AWS_SECRET_ACCESS_KEY"]) {
			t.Errorf("%q: the error shows the secret key: %v", tc.args, err)
		}
	}
}

// In Lambda mode the Cloud Extensions runtime answers 503 PROFILE_LOADING
// until its first INVOKE event, then serves what the function signs with
// its credentials, refuses a signature made with another secret key, and
// exits on SHUTDOWN, with counters that say so and no secret in its log.
func TestLambdaModeCloudExtDialect(t *testing.T) {
	port := freePort(t)
	var got []string
	api := &fakeExtensionsAPI{t: t, wantName: "mw-cloudext", events: []string{eventInvoke, eventInvoke, eventShutdown}}
	api.beforeEvt = func() {
		got = append(got, outcome(signer(port, lambdaCreds["AWS_SECRET_ACCESS_KEY"])))
		if len(got) == 2 {
			got = append(got, "other key: "+outcome(signer(port, "another-secret-access-key")))
		}
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	vals := t.TempDir() + "/values.json"
	writeFile(t, vals, `{"secrets": {"s": {"string": "sv"}}, "parameters": {"/p": {"value": "pv"}}}`)
	cfg, err := parseFlags("mw-cloudext", []string{"-dialect", "cloudext", "-values", vals, "-port", strconv.Itoa(port)},
		env(withEnv(lambdaCreds, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "1")), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	if code := run(context.Background(), "mw-cloudext", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	want := []string{"not ready not ready", "sv pv", "other key: bad_token bad_token", "sv pv"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers before each event =\n %q, want\n %q", got, want)
	}
	for _, s := range []string{
		"serving the cloudext dialect on http://127.0.0.1:" + strconv.Itoa(port),
		"the profile's authentication: cloudexttest.Auth(runtimeCredentials, ASIAMWEXTENSIONTEST1)",
		"ready (first INVOKE req-1)",
		`"served":{"/p":2,"s":2}`, `"unavailable":{"PROFILE_LOADING":2}`, `"authRefused":2`, `"operations":{"GetParameters":2,"GetSecretValue":2}`,
		"shutdown (SHUTDOWN event, reason spindown, after 2 invokes): stats {",
	} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %q:\n%s", s, logs.String())
		}
	}
	for _, secret := range []string{lambdaCreds["AWS_SECRET_ACCESS_KEY"], lambdaCreds["AWS_SESSION_TOKEN"], "sv", "pv"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log shows %q:\n%s", secret, logs.String())
		}
	}
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		t.Error("still listening after SHUTDOWN")
	}
}

// -ready-at register: the runtime serves once registered, before any
// INVOKE (whether the real one serves during the function's INIT is not
// documented).
func TestLambdaModeCloudExtReadyAtRegister(t *testing.T) {
	port := freePort(t)
	var got []string
	api := &fakeExtensionsAPI{t: t, wantName: "ext", events: []string{eventInvoke, eventShutdown}}
	api.beforeEvt = func() { got = append(got, outcome(signer(port, lambdaCreds["AWS_SECRET_ACCESS_KEY"]))) }
	srv := httptest.NewServer(api)
	defer srv.Close()
	vals := t.TempDir() + "/values.json"
	writeFile(t, vals, `{"secrets": {"s": {"string": "sv"}}, "parameters": {"/p": {"value": "pv"}}}`)
	cfg, err := parseFlags("ext", []string{"-dialect", "cloudext", "-ready-at", "register", "-values", vals, "-port", strconv.Itoa(port), "-quiet"},
		env(lambdaCreds), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	if code := run(context.Background(), "ext", cfg, strings.TrimPrefix(srv.URL, "http://"), "", log.New(&logs, "", 0)); code != 0 {
		t.Fatalf("run = %d; log:\n%s", code, logs.String())
	}
	if want := []string{"sv pv", "sv pv"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answers before each event = %q, want %q", got, want)
	}
	if !strings.Contains(logs.String(), "ready (registered: -ready-at register)") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// Standalone with -not-ready-for, the runtime loads its profile (503
// PROFILE_LOADING) for the first half of the while, its extensions (503
// EXTENSION_LOADING) for the second, then serves: the answers a client
// sees come in that order.
func TestStandaloneCloudExtLoadsProfileThenExtensions(t *testing.T) {
	port := freePort(t)
	const window = time.Second
	cfg, err := parseFlags("ext", []string{"-dialect", "cloudext", "-port", strconv.Itoa(port), "-not-ready-for", window.String(), "-quiet", "-auth", "none"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var logs syncBuffer
	start := time.Now()
	go func() { done <- run(ctx, "ext", cfg, "", "", log.New(&logs, "", 0)) }()
	type seen struct {
		first, last time.Duration // since start, when the answer was first and last seen
		answer      string
	}
	var answers []seen
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/secretsmanager/get?secretId=s"
	for time.Since(start) < 10*time.Second {
		resp, err := http.Get(url)
		if err != nil {
			time.Sleep(5 * time.Millisecond) // not listening yet
			continue
		}
		var body struct{ Reason string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		a, now := strconv.Itoa(resp.StatusCode)+" "+body.Reason, time.Since(start)
		if len(answers) == 0 || answers[len(answers)-1].answer != a {
			answers = append(answers, seen{now, now, a})
		}
		answers[len(answers)-1].last = now
		if resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("run = %d", code)
	}
	var order []string
	for _, a := range answers {
		order = append(order, a.answer)
	}
	// The secret does not exist: once serving, the extension's 400.
	switch fmt.Sprint(order) {
	case "[503 PROFILE_LOADING 503 EXTENSION_LOADING 400 ]":
	case "[503 PROFILE_LOADING 400 ]":
		// A client that saw no EXTENSION_LOADING was not running during the
		// second half: the machine held it longer than that.
		if gap := answers[1].first - answers[0].last; gap < window/2 {
			t.Errorf("answers %v: no EXTENSION_LOADING, though the client was not held for half the window", answers)
		}
	default:
		t.Errorf("answers in order: %v, want PROFILE_LOADING, EXTENSION_LOADING, then served", answers)
	}
}
