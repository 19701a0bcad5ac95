package cloudext_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// Every documented answer of the runtime and of the extensions, injected
// on each route in that route's words, is classified as it says: a class,
// whether to retry, whether the runtime is not ready yet, and a hint that
// names what to fix; never a value, never the body's message.
func TestDocumentedAnswers(t *testing.T) {
	const (
		retry    = true
		final    = false
		notReady = true
	)
	type row struct {
		a        cloudexttest.Answer
		class    mw.Class
		retry    bool
		notReady bool
		hint     string // a part of the hint, on every route
	}
	rows := []row{
		{cloudexttest.ProfileLoading, mw.ClassServerError, retry, notReady, "still loading"},
		{cloudexttest.ExtensionLoading, mw.ClassServerError, retry, notReady, "still loading"},
		{cloudexttest.ExtensionReloaded, mw.ClassServerError, retry, false, "reloading"},
		{cloudexttest.ExtensionExited, mw.ClassServerError, retry, false, "exited"},
		{cloudexttest.SecretKeyUnavailable, mw.ClassServerError, retry, false, "secretsmanager:GetSecretValue"},
		{cloudexttest.ExtensionRemoved, mw.ClassConfig, final, false, "profile entry"},
		{cloudexttest.RuntimeShuttingDown, mw.ClassServerError, final, false, "shutting down"},
		{cloudexttest.ProfileNotFound, mw.ClassConfig, final, false, "AWS_CLOUDEXTENSIONS_PROFILE"},
		{cloudexttest.ProfileAccessDenied, mw.ClassAccessDenied, final, false, "AWS_CLOUDEXTENSIONS_PROFILE"},
		{cloudexttest.ProfileRetrievalThrottled, mw.ClassThrottled, retry, false, "throttled"},
		{cloudexttest.ProfileRetrievalFailed, mw.ClassServerError, retry, false, "retrieve its profile"},
		{cloudexttest.ProfileUnreadable, mw.ClassConfig, final, false, "upgrade"},
		{cloudexttest.ExtensionInvalidResponse, mw.ClassServerError, retry, false, "no usable answer"},
		{cloudexttest.ExtensionCrashed, mw.ClassServerError, retry, false, "no usable answer"},
		{cloudexttest.ExtensionInitializeFailed, mw.ClassConfig, final, false, "capability"},
		{cloudexttest.ExtensionUnreadable, mw.ClassConfig, final, false, "capability"},
		{cloudexttest.ExtensionLoadFailed, mw.ClassConfig, final, false, "capability"},
		{cloudexttest.RemoteUnreachable, mw.ClassServerError, retry, false, "VPC"},
		{cloudexttest.ConnectionError, mw.ClassServerError, retry, false, "no usable answer"},
		{cloudexttest.UndeclaredError, mw.ClassServerError, retry, false, "no usable answer"},
		{cloudexttest.ExtensionRequiresUpgrade, mw.ClassConfig, final, false, "runtime layer"},
		{cloudexttest.AuthenticationRequiresUpgrade, mw.ClassConfig, final, false, "runtime layer"},
		{cloudexttest.LoopDetected, mw.ClassConfig, final, false, "looped"},
		{cloudexttest.RequestEntityTooLarge, mw.ClassOther, final, false, "larger"},
		{cloudexttest.Throttled(2 * time.Second), mw.ClassThrottled, retry, false, "in flight"},
		{cloudexttest.InternalFailure, mw.ClassServerError, retry, false, "failed inside"},
		{cloudexttest.InternalServerError, mw.ClassServerError, retry, false, "failed inside"},
		{cloudexttest.InternalServerException, mw.ClassServerError, retry, false, "failed inside"},
		{cloudexttest.DecryptionFailure, mw.ClassDecrypt, final, false, "kms:Decrypt"},
		{cloudexttest.InvalidKeyID, mw.ClassDecrypt, final, false, "kms:Decrypt"},
		{cloudexttest.ResourceNotFound, mw.ClassNotFound, final, false, "check the"},
		{cloudexttest.SecretAccessDenied, mw.ClassAccessDenied, final, false, "approve the capability"},
		{cloudexttest.RemoteAccessDenied, mw.ClassAccessDenied, final, false, "approve the capability"},
		{cloudexttest.BadRequest, mw.ClassOther, final, false, "invalid"},
		{cloudexttest.UnknownOperation, mw.ClassOther, final, false, "no such operation"},
		{cloudexttest.CannotParse, mw.ClassOther, final, false, "could not parse"},
	}
	for _, bare := range []bool{false, true} {
		f, src, _ := start(t, cloudexttest.Settings{BareSecretsManagerErrors: bare})
		items := stock(f)
		names := []string{"app/db", "/app/url", "app/prod/settings"}
		for _, r := range rows {
			for i, it := range items {
				if bare && i != 0 {
					continue // only the Secrets Manager route's bodies change
				}
				f.Inject(names[i], r.a, 1)
				got := fetch(t, src, it)[0]
				w := want{class: r.class, retry: r.retry, notReady: r.notReady, status: r.a.Status, code: r.a.Type, hint: []string{r.hint}}
				if i == 1 && r.a.Type == "ValidationException" {
					w.hint = []string{"2,048"} // Parameter Store's errors carry no reason
				}
				if bare && r.a.Reason != "" && r.a.Status == 503 {
					// With no reason, a 503 is taken for loading, as the
					// Secrets Manager extension's page describes it.
					w = want{class: mw.ClassServerError, retry: true, notReady: true, status: 503, code: r.a.Type}
				} else if bare && r.a.Reason != "" {
					continue // the reason decides; without it the status does
				}
				se := wantFailure(t, r.a.Type+" "+r.a.Reason+" on "+it.String(), got.Err, w)
				if se != nil && r.a.Status == 429 && se.RetryAfter != 2*time.Second {
					t.Errorf("%v: RetryAfter %v; want 2s", it, se.RetryAfter)
				}
			}
		}
	}
}

// A Retry-After of seconds or an HTTP date is read into RetryAfter; a
// wrong one is none.
func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		header string
		want   time.Duration
	}{
		{"3", 3 * time.Second},
		{"0", 0},
		{"-4", 0},
		{"99999", time.Hour},
		{time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat), 10 * time.Second},
		{"soon", 0},
		{"", 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("Retry-After", c.header)
			}
			w.Header().Set("X-Amzn-Errortype", "ThrottlingException")
			w.WriteHeader(429)
		}))
		src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(srv.URL))
		se := wantFailure(t, "Retry-After "+strconv.Quote(c.header), fetch(t, src, secret("s"))[0].Err,
			want{class: mw.ClassThrottled, retry: true, status: 429, code: "ThrottlingException"})
		srv.Close()
		// An HTTP date has a resolution of a second.
		if se != nil && (se.RetryAfter > c.want || se.RetryAfter < c.want-time.Second) {
			t.Errorf("Retry-After %q: %v; want %v", c.header, se.RetryAfter, c.want)
		}
	}
}

// The extensions' not-found answers: Secrets Manager's
// ResourceNotFoundException, Parameter Store's InvalidParameters (with
// status 200), AppConfig's semantic error RESOURCE_NOT_FOUND.
func TestNotFound(t *testing.T) {
	f, src, _ := start(t, cloudexttest.Settings{})
	f.PutSecret("there", canary)
	wantFailure(t, "a secret", fetch(t, src, secret("missing"))[0].Err,
		want{class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException", hint: []string{"no such secret"}})
	wantFailure(t, "a stage", fetch(t, src, mw.Item{Kind: mw.KindSecret, Name: "there", VersionStage: "NOPE"})[0].Err,
		want{class: mw.ClassNotFound, status: 400, code: "ResourceNotFoundException"})
	wantFailure(t, "a parameter", fetch(t, src, param("/missing"))[0].Err,
		want{class: mw.ClassNotFound, status: 200, code: "ParameterNotFound", hint: []string{"no such parameter"}})
	wantFailure(t, "a profile", fetch(t, src, profile("a", "e", "missing"))[0].Err,
		want{class: mw.ClassNotFound, status: 400, code: "ValidationException", hint: []string{"deployment"}})

	// A secret read through Parameter Store is a missing secret, whether
	// the request fails with ParameterNotFound (the fake, as moto) or
	// GetParameters lists it in InvalidParameters.
	const ref = "/aws/reference/secretsmanager/missing"
	secretHint := []string{"no such secret", "/aws/reference/secretsmanager/", "version stage"}
	wantFailure(t, "a referenced secret", fetch(t, src, param(ref))[0].Err,
		want{class: mw.ClassNotFound, status: 400, code: "ParameterNotFound", hint: secretHint})
	wantFailure(t, "a referenced secret's stage", fetch(t, src, mw.Item{Kind: mw.KindParameter, Name: "/aws/reference/secretsmanager/there", Label: "NOPE"})[0].Err,
		want{class: mw.ClassNotFound, status: 400, code: "ParameterNotFound", hint: secretHint})
	listed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Write([]byte(`{"Parameters":[],"InvalidParameters":["` + ref + `:AWSPREVIOUS"]}`))
	}))
	defer listed.Close()
	src = cloudext.New(f.Config(), cloudext.WithEndpoint(listed.URL))
	wantFailure(t, "a referenced secret in InvalidParameters", fetch(t, src, mw.Item{Kind: mw.KindParameter, Name: ref, Label: "AWSPREVIOUS"})[0].Err,
		want{class: mw.ClassNotFound, status: 200, code: "ParameterNotFound", hint: secretHint})
}

// Nothing answering is unavailable and retried, with a hint that names
// the runtime's layer; the answer of something that is not the runtime is
// malformed.
func TestNotTheRuntime(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(url))
	wantFailure(t, "closed", fetch(t, src, secret("s"))[0].Err,
		want{class: mw.ClassUnavailable, retry: true, hint: []string{"/aws/service/aws-cloudextensions/lambda-extension/"}})

	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>" + canary + "</html>"))
	}))
	defer html.Close()
	src = cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(html.URL))
	for _, it := range []mw.Item{secret("s"), param("/p"), profile("a", "e", "p")} {
		wantFailure(t, it.String(), fetch(t, src, it)[0].Err, want{class: mw.ClassMalformed, status: 200, hint: []string{"Cloud Extensions runtime"}})
	}
}

// An endpoint that is not a base URL, such as one without its scheme, can
// never be sent a request: it is a mistake of configuration, final, whose
// hint names the URL's shape; Plan refuses every item, so that Wrap
// panics on it. A remote host stays allowed, as WithEndpoint says.
func TestEndpointNotABaseURL(t *testing.T) {
	cfg := cloudexttest.New(cloudexttest.Settings{}).Config()
	for _, endpoint := range []string{"localhost:5333", "//localhost:5333", "http://", "http://localhost:5333?x=1", "http://u:" + canary + "@[::1"} {
		src := cloudext.New(cfg, cloudext.WithEndpoint(endpoint))
		for _, it := range []mw.Item{secret("s"), param("/p"), profile("a", "e", "p")} {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			p, _ := cloudext.New(cfg).Plan(it) // the op, as a Source with a right endpoint plans it
			r := src.Fetch(ctx, p.Op, []mw.Item{it})[0]
			cancel()
			wantFailure(t, endpoint+" "+it.String(), r.Err, want{class: mw.ClassConfig, hint: []string{"http://host:port", "cloudext.WithEndpoint"}})
			if _, err := src.Plan(it); err == nil || !strings.Contains(err.Error(), "http://host:port") || strings.Contains(err.Error(), canary) {
				t.Errorf("%s: Plan(%v): %v; want it refused, naming the URL's shape and no password", endpoint, it, err)
			}
		}
		_, err := src.EvaluateFlag(t.Context(), profile("a", "e", "p"), "f", nil)
		wantFailure(t, endpoint+" EvaluateFlag", err, want{class: mw.ClassConfig, hint: []string{"http://host:port"}})
	}
	msg := panicOf(t, func() {
		mw.Wrap(func(context.Context, event) (string, error) { return "", nil }, mw.WithoutEnvironment(),
			mw.WithSource(cloudext.New(cfg, cloudext.WithEndpoint("localhost:5333"))), mw.WithSecrets("s"))
	})
	if !strings.Contains(msg, "http://host:port") {
		t.Errorf("Wrap's panic %q does not name the URL's shape", msg)
	}
	for _, endpoint := range []string{"http://10.0.0.7:5333", "https://runtime.example:5333/base/"} {
		if _, err := cloudext.New(cfg, cloudext.WithEndpoint(endpoint)).Plan(secret("s")); err != nil {
			t.Errorf("%s: Plan: %v; want a remote base URL allowed", endpoint, err)
		}
	}
}

// An error answer's body is never quoted: not its message, nor a reason
// AWS does not document, nor a type that is not shaped as AWS's codes.
func TestErrorBodiesNotQuoted(t *testing.T) {
	for _, c := range []struct {
		header, body string
		code         string
	}{
		{"ResourceNotFoundException", `{"message":"` + canary + `m","reason":"` + canary + `r"}`, "ResourceNotFoundException"},
		{"", `{"__type":"` + canary + `type","Message":"` + canary + `m"}`, ""},
		{"", `{"__type":"com.amazonaws.ssm#AccessDeniedException","message":"` + canary + ` ciphertext"}`, "AccessDeniedException"},
		{canary + "header", `not json ` + canary, ""},
		{"Throttling:" + canary, `{}`, "Throttling"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("X-Amzn-Errortype", c.header)
			}
			w.Header().Set("Cloudextensions-Error-Reason", canary+"reason")
			w.WriteHeader(400)
			w.Write([]byte(c.body))
		}))
		src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(srv.URL))
		for _, it := range []mw.Item{secret("s"), param("/p"), profile("a", "e", "p")} {
			r := fetch(t, src, it)[0] // fetch checks every printed form for the canary
			if se, ok := r.Err.(*mw.SourceError); !ok || se.Code != c.code {
				t.Errorf("%s %s: %v; want code %q", c.header, c.body, r.Err, c.code)
			}
		}
		srv.Close()
	}
}

// An IAM denial quotes the parameter's ARN: a name that holds "KMS" (the id
// of a KMS key, say) is still a denial of the call, not a key the
// extension may not use.
func TestADenialQuotingKMSIsNotADecryptFailure(t *testing.T) {
	msg := "User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: ssm:GetParameters on resource: " +
		"arn:aws:ssm:us-east-1:123456789012:parameter/app/KMS_KEY_ID because no identity-based policy allows the ssm:GetParameters action"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"` + msg + `"}`))
	}))
	defer srv.Close()
	src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(srv.URL))
	err := fetch(t, src, param("/app/KMS_KEY_ID"))[0].Err
	if se, ok := errors.AsType[*mw.SourceError](err); !ok || se.Class != mw.ClassAccessDenied || strings.Contains(se.Hint, "kms:Decrypt") {
		t.Errorf("%v; want access_denied, whose fix is not kms:Decrypt", err)
	}
}

// A denied read of a secret through Parameter Store names both actions it
// needs: the parameter's and the secret's.
func TestDeniedReferenceNamesBothActions(t *testing.T) {
	f, src, _ := start(t, cloudexttest.Settings{})
	f.PutSecret("prod/db", canary)
	f.Deny("prod/db")
	f.PutParameter("/app/url", cloudexttest.TypeString, canary)
	f.Deny("/app/url")
	err := fetch(t, src, param("/aws/reference/secretsmanager/prod/db"))[0].Err
	if se, ok := errors.AsType[*mw.SourceError](err); !ok || se.Class != mw.ClassAccessDenied ||
		!strings.Contains(se.Hint, "ssm:GetParameter") || !strings.Contains(se.Hint, "secretsmanager:GetSecretValue") {
		t.Errorf("a reference: %v; want access_denied naming ssm:GetParameter and secretsmanager:GetSecretValue", err)
	}
	err = fetch(t, src, param("/app/url"))[0].Err
	if se, ok := errors.AsType[*mw.SourceError](err); !ok || se.Class != mw.ClassAccessDenied || strings.Contains(se.Hint, "secretsmanager") {
		t.Errorf("a parameter: %v; want access_denied naming no secretsmanager action", err)
	}
}

// An endpoint's query or fragment may carry a credential: a refused
// endpoint is quoted without them, in the refusal and in the Source's
// printed form.
func TestARefusedEndpointIsQuotedWithoutItsQuery(t *testing.T) {
	cfg := cloudexttest.New(cloudexttest.Settings{}).Config()
	for _, raw := range []string{"http://localhost:5333/?token=" + canary, "http://localhost:5333/#" + canary} {
		src := cloudext.New(cfg, cloudext.WithEndpoint(raw))
		_, err := src.Plan(secret("s"))
		if err == nil {
			t.Fatalf("%s: accepted", raw)
		}
		for _, s := range []string{err.Error(), fmt.Sprint(src), fmt.Sprintf("%+v", src), fmt.Sprintf("%#v", src)} {
			if strings.Contains(s, canary) {
				t.Errorf("%s: %s", raw, s)
			}
		}
	}
}
