package awssdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// canary is a value seeded everywhere; no error may ever say it.
const canary = "CANARY-b7e1c0de-value"

// seedCanaries stores canary as a parameter, a path's parameter and a
// secret: /c/param, /c/tree/x, c/secret.
func seedCanaries(b *moto.Backend) {
	b.PutParameter("/c/param", "SecureString", canary)
	b.PutParameter("/c/tree/x", "SecureString", canary)
	b.PutSecret("c/secret", canary)
}

// calls are the four calls, each with an item that makes it.
var calls = []struct {
	op     string
	item   mw.Item
	action string
}{
	{"GetParameters", param("/c/param"), "ssm:GetParameters"},
	{"GetParametersByPath", path("/c/tree"), "ssm:GetParametersByPath"},
	{"BatchGetSecretValue", secret("c/secret"), "secretsmanager:BatchGetSecretValue"},
	{"GetSecretValue", mw.Item{Kind: mw.KindSecret, Name: "c/secret", VersionStage: "AWSCURRENT"}, "secretsmanager:GetSecretValue"},
}

// TestFaults injects each fault into each call: one HTTP request per Fetch
// (the SDK does not retry), and the class, retry, status, code and hint
// the answer calls for.
func TestFaults(t *testing.T) {
	b := newBackend(t)
	seedCanaries(b)
	src := awssdk.New(b.Config())
	throttleHint := map[string]string{
		"GetParameters":       "1,000 GetParameters calls a second (10 names each): turn on Parameter Store's higher throughput setting (aws ssm update-service-setting --setting-id /ssm/parameter-store/high-throughput-enabled",
		"GetParametersByPath": "100 GetParametersByPath calls a second: turn on Parameter Store's higher throughput setting",
		"BatchGetSecretValue": "BatchGetSecretValue: its request rate quota is 100 calls a second per Region, not adjustable",
		"GetSecretValue":      "GetSecretValue: its request rate quota is 10,000 calls a second per Region, not adjustable",
	}
	serverCode := map[bool]string{true: "InternalServerError", false: "InternalServiceError"}
	for _, c := range calls {
		ssmCall := strings.HasPrefix(c.action, "ssm:")
		for _, tc := range []struct {
			name  string
			fault moto.Fault
			want  failure
		}{
			{"throttled", moto.Throttling(),
				failure{mw.ClassThrottled, true, 400, "ThrottlingException", []string{throttleHint[c.op], "mw.WithTTL"}}},
			{"429", moto.TooManyRequests(),
				failure{mw.ClassThrottled, true, 429, "", []string{"mw.WithTTL"}}},
			{"denied", moto.AccessDenied(c.action),
				failure{mw.ClassAccessDenied, false, 400, "AccessDeniedException", []string{c.action}}},
			{"server error", moto.ServerError(serverCode[ssmCall]),
				failure{mw.ClassServerError, true, 500, serverCode[ssmCall], nil}},
			{"bad gateway", moto.Fault{Status: 502, Body: "<html>bad gateway</html>"},
				failure{mw.ClassServerError, true, 502, "", nil}},
			{"malformed", moto.Malformed(`{"Parameters":[{"Value":"` + canary + `"`),
				failure{mw.ClassMalformed, false, 200, "", nil}},
			{"connection reset", moto.Fault{Reset: true},
				failure{mw.ClassUnavailable, true, 0, "", []string{"VPC endpoint"}}},
		} {
			b.Reset()
			b.Fail(c.op, "", tc.fault)
			res := src.Fetch(context.Background(), c.op, []mw.Item{c.item})
			what := c.op + " " + tc.name
			if res[0].Value != "" || res[0].Values != nil {
				t.Errorf("%s: a value with a failure", what)
			}
			wantFailure(t, what, res[0].Err, tc.want, canary)
			if got := b.Calls(c.op); got != 1 {
				t.Errorf("%s: %d HTTP requests, want 1 (no SDK retries)", what, got)
			}
		}
	}
}

// TestDenyAndDecrypt: IAM and KMS refusals, whole-call for Parameter Store
// and GetSecretValue, per secret inside BatchGetSecretValue.
func TestDenyAndDecrypt(t *testing.T) {
	b := newBackend(t)
	seedCanaries(b)
	b.PutParameter("/c/other", "String", "other")
	b.PutSecret("c/other", "other")
	b.PutSecret("c/nokms", canary)
	b.Deny("/c/param")
	b.Deny("c/secret")
	b.DenyDecrypt("c/nokms")
	src := awssdk.New(b.Config())

	// One denied name fails the whole GetParameters call.
	res := fetch(t, src, "GetParameters", param("/c/param"), param("/c/other"))
	for i, r := range res {
		wantFailure(t, "denied parameter call", r.Err, failure{class: mw.ClassAccessDenied, status: 400,
			code: "AccessDeniedException", hint: []string{"ssm:GetParameters", "whole call"}}, canary)
		if r.Value != "" {
			t.Errorf("item %d: value with a failure", i)
		}
	}

	// BatchGetSecretValue: each refused secret fails alone.
	res = fetch(t, src, "BatchGetSecretValue", secret("c/secret"), secret("c/other"), secret("c/nokms"))
	wantFailure(t, "denied secret in batch", res[0].Err, failure{class: mw.ClassAccessDenied, status: 200,
		code: "AccessDeniedException", hint: []string{"secretsmanager:GetSecretValue on the secret"}}, canary)
	wantValues(t, nil, res[1:2], []string{"other"})
	wantFailure(t, "undecryptable secret in batch", res[2].Err, failure{class: mw.ClassDecrypt, status: 200,
		code: "DecryptionFailure", hint: []string{"kms:Decrypt", "secret"}}, canary)

	pinned := func(id string) mw.Item { return mw.Item{Kind: mw.KindSecret, Name: id, VersionStage: "AWSCURRENT"} }
	res = fetch(t, src, "GetSecretValue", pinned("c/secret"), pinned("c/nokms"))
	wantFailure(t, "denied pinned secret", res[0].Err, failure{class: mw.ClassAccessDenied, status: 400,
		code: "AccessDeniedException", hint: []string{"secretsmanager:GetSecretValue"}}, canary)
	wantFailure(t, "undecryptable pinned secret", res[1].Err, failure{class: mw.ClassDecrypt, status: 400,
		code: "DecryptionFailure", hint: []string{"kms:Decrypt"}}, canary)

	// Parameter Store reports a KMS key the role may not use as
	// AccessDeniedException with KMS's words.
	b.DenyDecrypt("/c/tree/x")
	res = fetch(t, src, "GetParameters", param("/c/tree/x"))
	wantFailure(t, "undecryptable parameter", res[0].Err, failure{class: mw.ClassDecrypt, status: 400,
		code: "AccessDeniedException", hint: []string{"kms:Decrypt", "parameter"}}, canary)
}

// TestOneRequestWhateverTheRetrySettings: the user's retry settings
// (AWS_MAX_ATTEMPTS, RetryMaxAttempts, a Retryer, a Retryer given through
// the client options) do not make the Source's clients retry a throttle.
func TestOneRequestWhateverTheRetrySettings(t *testing.T) {
	b := newBackend(t)
	seedCanaries(b)
	t.Setenv("AWS_MAX_ATTEMPTS", "7")
	t.Setenv("AWS_RETRY_MODE", "adaptive")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_ENDPOINT_URL", b.URL())
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(moto.Region))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RetryMaxAttempts != 7 {
		t.Fatalf("AWS_MAX_ATTEMPTS not read: RetryMaxAttempts = %d", cfg.RetryMaxAttempts)
	}
	custom := b.Config()
	custom.RetryMaxAttempts = 5
	custom.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 9) }
	for _, tc := range []struct {
		name string
		src  *awssdk.Source
	}{
		{"environment", awssdk.New(cfg)},
		{"aws.Config", awssdk.New(custom)},
		{"client options", awssdk.New(b.Config(), awssdk.WithSSMOptions(func(o *ssm.Options) {
			o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 9)
			o.RetryMaxAttempts = 9
		}))},
	} {
		for _, c := range calls {
			b.Reset()
			b.Fail("", "", moto.Throttling())
			res := tc.src.Fetch(context.Background(), c.op, []mw.Item{c.item})
			wantFailure(t, tc.name+" "+c.op, res[0].Err, failure{class: mw.ClassThrottled, retry: true, status: 400,
				code: "ThrottlingException", hint: []string{"mw.WithTTL"}})
			if got := b.Requests(); got != 1 {
				t.Errorf("%s %s: %d HTTP requests for a throttle, want 1", tc.name, c.op, got)
			}
		}
	}
	// Without a fault, the same sources work: the throttle was the only
	// reason for the failures.
	b.Reset()
	res := fetch(t, awssdk.New(cfg), "GetParameters", param("/c/param"))
	wantValues(t, []mw.Item{param("/c/param")}, res, []string{canary})
}

// TestUnreachable: nothing listening is a retryable unavailable, after one
// attempt.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	src := awssdk.New(moto.Config("http://" + addr))
	for _, c := range calls {
		res := src.Fetch(context.Background(), c.op, []mw.Item{c.item})
		wantFailure(t, c.op, res[0].Err, failure{class: mw.ClassUnavailable, retry: true,
			hint: []string{"nothing answered", "region us-east-1"}})
	}
}

// TestCredentialsFailure: a credential provider's failure is reported
// without its message, which could hold a credential.
func TestCredentialsFailure(t *testing.T) {
	b := newBackend(t)
	cfg := b.Config()
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("provider failed, key " + canary)
	})
	src := awssdk.New(cfg)
	for _, c := range calls {
		res := src.Fetch(context.Background(), c.op, []mw.Item{c.item})
		wantFailure(t, c.op, res[0].Err, failure{class: mw.ClassAccessDenied,
			hint: []string{"credentials"}}, canary)
	}
	if got := b.Requests(); got != 0 {
		t.Errorf("%d requests without credentials, want 0", got)
	}
}

// TestCancel: Fetch returns when ctx ends, with ctx's error, even while
// the answer is late.
func TestCancel(t *testing.T) {
	b := newBackend(t)
	seedCanaries(b)
	b.SetLatency(time.Minute)
	src := awssdk.New(b.Config())
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		res := src.Fetch(ctx, c.op, []mw.Item{c.item})
		elapsed := time.Since(start)
		cancel()
		if elapsed > 10*time.Second {
			t.Errorf("%s: Fetch took %v after its ctx ended", c.op, elapsed)
		}
		wantFailure(t, c.op, res[0].Err, failure{class: mw.ClassTimeout})
		if !errors.Is(res[0].Err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want context.DeadlineExceeded", c.op, res[0].Err)
		}
	}
}

// An IAM denial of ssm:GetParameters quotes the parameter's ARN: a name
// that holds "KMS" (the id of a KMS key, say) is still a denial of the
// call, whose fix is ssm:GetParameters, not kms:Decrypt.
func TestADenialQuotingKMSIsNotADecryptFailure(t *testing.T) {
	msg := "User: arn:aws:sts::123456789012:assumed-role/fn-role/fn is not authorized to perform: ssm:GetParameters on resource: " +
		"arn:aws:ssm:us-east-1:123456789012:parameter/app/KMS_KEY_ID because no identity-based policy allows the ssm:GetParameters action"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"AccessDeniedException","message":"` + msg + `"}`))
	}))
	defer srv.Close()
	src := awssdk.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	se, ok := errors.AsType[*mw.SourceError](src.Fetch(ctx, "GetParameters", []mw.Item{param("/app/KMS_KEY_ID")})[0].Err)
	if !ok || se.Class != mw.ClassAccessDenied || !strings.HasPrefix(se.Hint, "allow ssm:GetParameters") {
		t.Errorf("%v; want access_denied, whose fix leads with ssm:GetParameters, not kms:Decrypt", se)
	}
}

// AWS answers a request whose signature does not match with
// InvalidSignatureException (SignatureDoesNotMatch from STS) and a message
// that quotes the canonical request it computed, every signed header with
// it: the session token (x-amz-security-token), which in Lambda is also
// the token the extension takes. No error says any of it, however early
// in the message it comes.
func TestASignatureRefusalQuotesNoCanonicalRequest(t *testing.T) {
	const token = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN-canary-5f1d"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		msg := "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
			"The Canonical String for this request should have been\n'POST\n/\n\nx-amz-security-token:" + r.Header.Get("X-Amz-Security-Token") + "\n'\n\n" +
			"The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n...'\n"
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidSignatureException", "message": msg})
	}))
	defer srv.Close()
	src := awssdk.New(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("ASIAEXAMPLE", "secret-key", token)})
	for _, c := range calls {
		err := src.Fetch(context.Background(), c.op, []mw.Item{c.item})[0].Err
		if err == nil || !strings.Contains(err.Error(), "signature") {
			t.Errorf("%s: %v; want the refusal, in AWS's first words", c.op, err)
		}
		noSecrets(t, c.op, err, token, token[:16])
	}
}
