package awssdk_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
)

// answer serves one canned JSON answer per X-Amz-Target, and records the
// request bodies: for the answers moto does not give (GetParameters by ARN,
// which moto 5.2.1 lists in InvalidParameters; Selector, which it omits).
func answer(t *testing.T, answers map[string]func(req map[string]any) any) *awssdk.Source {
	t.Helper()
	return awssdk.New(moto.Config(serveAnswers(t, 0, answers, nil).URL))
}

// serveAnswers serves AWS JSON-protocol requests (X-Amz-Target
// "AmazonSSM.GetParameters" is the operation "GetParameters") with the
// answer of answers[op] to the request's body, each after latency (dropped
// if its client goes away meanwhile), and counts them in calls, if not nil.
// The server is closed when the test ends.
func serveAnswers(tb testing.TB, latency time.Duration, answers map[string]func(req map[string]any) any, calls *atomic.Int64) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls != nil {
			calls.Add(1)
		}
		body, _ := io.ReadAll(r.Body)
		var req map[string]any
		if err := json.Unmarshal(body, &req); err != nil {
			tb.Errorf("request body: %v", err)
		}
		target := r.Header.Get("X-Amz-Target")
		f := answers[target[strings.LastIndexByte(target, '.')+1:]]
		if f == nil {
			tb.Errorf("unexpected call %s", target)
			w.WriteHeader(500)
			return
		}
		if !moto.Delay(r, latency) {
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(f(req))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

const (
	arnA      = "arn:aws:ssm:us-east-1:111122223333:parameter/a/b"
	sharedArn = "arn:aws:ssm:eu-west-1:999988887777:parameter/shared/key"
)

// TestGetParametersAnswersAsAWS: AWS answers a selector with the bare name
// and a Selector, in any order, and a parameter asked by ARN with the bare
// name (same account) or, for a shared parameter, possibly the ARN as Name.
func TestGetParametersAnswersAsAWS(t *testing.T) {
	src := answer(t, map[string]func(map[string]any) any{
		"GetParameters": func(req map[string]any) any {
			return map[string]any{
				"Parameters": []map[string]any{ // reversed, as nothing promises an order
					{"Name": sharedArn, "ARN": sharedArn, "Selector": ":label1", "Value": "shared-labelled", "Version": 4},
					{"Name": "/a/b", "ARN": arnA, "Selector": ":2", "Value": "ab-2", "Version": 2},
					{"Name": "/plain", "ARN": "arn:aws:ssm:us-east-1:111122223333:parameter/plain", "Value": "plain", "Version": 1},
				},
				"InvalidParameters": []string{"arn:aws:ssm:us-east-1:111122223333:parameter/gone"},
			}
		},
	})
	items := []mw.Item{
		param("/plain"),
		param(arnA + ":2"),
		{Kind: mw.KindParameter, Name: sharedArn, Label: "label1"},
		param("arn:aws:ssm:us-east-1:111122223333:parameter/gone"),
	}
	res := src.Fetch(t.Context(), "GetParameters", items)
	wantValues(t, items[:3], res[:3], []string{"plain", "ab-2", "shared-labelled"})
	wantFailure(t, "gone", res[3].Err, failure{class: mw.ClassNotFound, status: 200, code: "ParameterNotFound"})
}

// TestAnswersWithoutAnItem: an item the answer neither gives nor refuses
// fails as malformed, and no other parameter's value is taken for it.
func TestAnswersWithoutAnItem(t *testing.T) {
	src := answer(t, map[string]func(map[string]any) any{
		"GetParameters": func(map[string]any) any {
			return map[string]any{"Parameters": []map[string]any{
				{"Name": "/other", "ARN": "arn:aws:ssm:us-east-1:111122223333:parameter/other", "Value": "canary-of-other"},
			}}
		},
		"BatchGetSecretValue": func(map[string]any) any {
			return map[string]any{"SecretValues": []map[string]any{
				{"Name": "other", "ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:other-AbCdEf", "SecretString": "canary-of-other"},
			}}
		},
	})
	res := src.Fetch(t.Context(), "GetParameters", []mw.Item{param("/mine")})
	wantFailure(t, "parameter", res[0].Err, failure{class: mw.ClassMalformed, status: 200}, "canary-of-other")
	res = src.Fetch(t.Context(), "BatchGetSecretValue", []mw.Item{secret("mine")})
	wantFailure(t, "secret", res[0].Err, failure{class: mw.ClassMalformed, status: 200}, "canary-of-other")
}

// TestBatchGetSecretValueAnswersAsAWS: entries come in any order and are
// matched by name, full ARN or partial ARN; Errors by SecretId as sent;
// pages are followed while NextToken is set, and each carries SecretIdList.
func TestBatchGetSecretValueAnswersAsAWS(t *testing.T) {
	const full = "arn:aws:secretsmanager:eu-west-1:999988887777:secret:shared/db-XyZ123"
	var pages atomic.Int32
	src := answer(t, map[string]func(map[string]any) any{
		"BatchGetSecretValue": func(req map[string]any) any {
			n := pages.Add(1)
			if req["Filters"] != nil || req["SecretIdList"] == nil {
				t.Errorf("page %d: request %v, want SecretIdList and no Filters", n, req)
			}
			if n == 1 {
				if req["NextToken"] != nil {
					t.Errorf("first page with a NextToken")
				}
				return map[string]any{
					"SecretValues": []map[string]any{
						{"Name": "shared/db", "ARN": full, "SecretString": "shared-value"},
					},
					"Errors":    []map[string]any{{"SecretId": "local/denied", "ErrorCode": "AccessDeniedException", "Message": "User: x is not authorized to perform: secretsmanager:GetSecretValue"}},
					"NextToken": "page2",
				}
			}
			if req["NextToken"] != "page2" {
				t.Errorf("page %d: NextToken %v, want page2", n, req["NextToken"])
			}
			return map[string]any{"SecretValues": []map[string]any{
				{"Name": "local/bin", "ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:local/bin-AbCdEf", "SecretBinary": "AP8A"},
			}}
		},
	})
	items := []mw.Item{secret("local/bin"), secret(full[:len(full)-7]), secret(full), secret("local/denied")}
	res := src.Fetch(t.Context(), "BatchGetSecretValue", items)
	wantValues(t, items[:3], res[:3], []string{"\x00\xff\x00", "shared-value", "shared-value"})
	wantFailure(t, "denied", res[3].Err, failure{class: mw.ClassAccessDenied, status: 200, code: "AccessDeniedException",
		hint: []string{"secretsmanager:GetSecretValue on the secret"}})
	if n := pages.Load(); n != 2 {
		t.Errorf("%d pages, want 2", n)
	}
}

// TestGetParametersByPathPagesAsAWS: a page may be empty and still carry a
// NextToken; listing goes on until NextToken is empty, and stops, failed,
// on a NextToken it has already followed.
func TestGetParametersByPathPagesAsAWS(t *testing.T) {
	var pages atomic.Int32
	var loop atomic.Bool
	src := answer(t, map[string]func(map[string]any) any{
		"GetParametersByPath": func(req map[string]any) any {
			n := pages.Add(1)
			if req["Recursive"] != true || req["WithDecryption"] != true {
				t.Errorf("page %d: request %v, want Recursive and WithDecryption", n, req)
			}
			switch {
			case loop.Load():
				return map[string]any{"Parameters": []any{}, "NextToken": "same"}
			case n == 1:
				return map[string]any{"Parameters": []any{}, "NextToken": "t1"}
			case n == 2:
				return map[string]any{"Parameters": []map[string]any{{"Name": "/p/a", "Value": "a"}}, "NextToken": "t2"}
			}
			return map[string]any{"Parameters": []map[string]any{{"Name": "/p/b/c", "Value": "x,y"}}}
		},
	})
	res := src.Fetch(t.Context(), "GetParametersByPath", []mw.Item{path("/p")})
	if res[0].Err != nil || len(res[0].Values) != 2 || res[0].Values["/p/a"] != "a" || res[0].Values["/p/b/c"] != "x,y" {
		t.Errorf("got %v, %v", res[0].Values, res[0].Err)
	}
	if n := pages.Load(); n != 3 {
		t.Errorf("%d pages, want 3", n)
	}
	loop.Store(true)
	res = src.Fetch(t.Context(), "GetParametersByPath", []mw.Item{path("/p")})
	wantFailure(t, "repeated NextToken", res[0].Err, failure{class: mw.ClassMalformed})
}

// A binary secret read through Parameter Store has no Value in its answer
// (the managed extension passes it on so, and cloudexttest answers so): it
// is never served as an empty string, and the error says how to read its
// bytes, at the stage asked for.
func TestABinarySecretByReferenceIsSaidToBeOne(t *testing.T) {
	const ref = "/aws/reference/secretsmanager/prod/key"
	for asked, fix := range map[string]string{
		ref:                  `mw.WithSecrets("prod/key")`,
		ref + ":AWSPREVIOUS": `mw.WithSecret("prod/key", mw.VersionStage("AWSPREVIOUS"))`,
	} {
		src := answer(t, map[string]func(map[string]any) any{
			"GetParameters": func(map[string]any) any {
				return map[string]any{"Parameters": []any{map[string]any{
					"Name": ref, "Type": "SecureString", "Version": 0,
					"ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/key-AbCdEf"}},
					"InvalidParameters": []string{}}
			},
		})
		res := fetch(t, src, "GetParameters", param(asked))
		se, ok := errors.AsType[*mw.SourceError](res[0].Err)
		if !ok || se.Class != mw.ClassMalformed || !strings.Contains(se.Error(), "binary secret") || !strings.Contains(se.Hint, fix) {
			t.Errorf("%s: %q, %v; want an error saying it is a binary secret, whose fix is %s", asked, res[0].Value, res[0].Err, fix)
		}
	}
}
