package awssdk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// noIO is an HTTP client that fails the test on any request.
type noIO struct{ t *testing.T }

func (c noIO) Do(r *http.Request) (*http.Response, error) {
	c.t.Errorf("a request to %s", r.URL)
	return nil, errors.New("no I/O expected")
}

func TestPlan(t *testing.T) {
	src := awssdk.New(aws.Config{Region: "eu-west-1", HTTPClient: noIO{t}})
	const (
		secretARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf"
		paramARN  = "arn:aws:ssm:us-east-2:444455556666:parameter/shared/key"
	)
	for _, tc := range []struct {
		item  mw.Item
		op    string
		batch int
	}{
		{param("/app/key"), "GetParameters", 10},
		{param("plain"), "GetParameters", 10},
		{param("/app/key:3"), "GetParameters", 10},
		{param("/app/key:live"), "GetParameters", 10},
		{mw.Item{Kind: mw.KindParameter, Name: "/app/key", Version: 3}, "GetParameters", 10},
		{mw.Item{Kind: mw.KindParameter, Name: "/app/key", Label: "live"}, "GetParameters", 10},
		{param(paramARN), "GetParameters", 10},
		{param(paramARN + ":2"), "GetParameters", 10},
		{param("/aws/reference/secretsmanager/prod/db"), "GetParameters", 10},
		{mw.Item{Kind: mw.KindParameter, Name: "/aws/reference/secretsmanager/prod/db", Label: "AWSPREVIOUS"}, "GetParameters", 10},
		{secret("prod/db"), "BatchGetSecretValue", 20},
		{secret(secretARN), "BatchGetSecretValue", 20},
		{secret("arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:prod/db"), "BatchGetSecretValue", 20},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"}, "GetSecretValue", 1},
		{mw.Item{Kind: mw.KindSecret, Name: secretARN, VersionID: "v1"}, "GetSecretValue", 1},
		{path("/app/prod"), "GetParametersByPath", 1},
		{path("/"), "GetParametersByPath", 1},
	} {
		p, err := src.Plan(tc.item)
		if err != nil || p.Op != tc.op || p.Batch != tc.batch {
			t.Errorf("Plan(%v) = %+v, %v; want %s, batch %d", tc.item, p, err, tc.op, tc.batch)
		}
	}
}

func TestPlanRefuses(t *testing.T) {
	src := awssdk.New(aws.Config{Region: "eu-west-1", HTTPClient: noIO{t}})
	for _, tc := range []struct {
		item mw.Item
		says []string // what the error must say: the fix
	}{
		{param("arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf"),
			[]string{"mw.WithSecrets", "/aws/reference/secretsmanager/"}},
		{secret("arn:aws:ssm:eu-west-1:111122223333:parameter/app/key"), []string{"mw.WithParameters"}},
		{secret("/aws/reference/secretsmanager/prod/db"), []string{"mw.WithParameters", `"prod/db"`}},
		{param("arn:aws:s3:::bucket/key"), []string{"arn:aws:ssm:<region>:<account>:parameter/<name>"}},
		{param("arn:aws:ssm:eu-west-1:111122223333:document/x"), []string{"not a parameter's"}},
		{secret("arn:aws:kms:eu-west-1:111122223333:key/x"), []string{"arn:aws:secretsmanager:"}},
		{param(""), []string{"no name"}},
		{secret(""), []string{"no name"}},
		{mw.Item{Kind: mw.KindParameter, Name: "/a", Version: 2, Label: "live"}, []string{"one selector"}},
		{mw.Item{Kind: mw.KindParameter, Name: "/a:3", Version: 2}, []string{"already ends in a selector"}},
		{mw.Item{Kind: mw.KindParameter, Name: "/a:live", Label: "old"}, []string{"already ends in a selector"}},
		{mw.Item{Kind: mw.KindParameter, Name: "/a", Version: -1}, []string{"start at 1"}},
		{mw.Item{Kind: mw.KindParameter, Name: "/a", VersionStage: "AWSPREVIOUS"}, []string{"label"}},
		{mw.Item{Kind: mw.KindSecret, Name: "prod/db", Version: 3}, []string{"version id or a version stage"}},
		{path("app/prod"), []string{"starts with '/'"}},
		{path("arn:aws:ssm:eu-west-1:111122223333:parameter/app"), []string{"not an ARN", "mw.WithParameters"}},
		{mw.Item{Kind: mw.KindParametersByPath, Name: "/app", Version: 2}, []string{"latest version"}},
	} {
		_, err := src.Plan(tc.item)
		if err == nil {
			t.Errorf("Plan(%v) accepted it", tc.item)
			continue
		}
		if errors.Is(err, mw.ErrNotServed) {
			t.Errorf("Plan(%v) = %v: a mistake, not a kind it does not serve", tc.item, err)
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("Plan(%v) = %q: does not say %q", tc.item, err, s)
			}
		}
	}
}

func TestPlanNotServed(t *testing.T) {
	src := awssdk.New(aws.Config{HTTPClient: noIO{t}})
	for _, it := range []mw.Item{
		{Kind: mw.KindAppConfig, Name: "profile", Application: "app", Environment: "prod"},
		{Kind: mw.Kind(99), Name: "x"},
	} {
		if _, err := src.Plan(it); !errors.Is(err, mw.ErrNotServed) {
			t.Errorf("Plan(%v) = %v, want mw.ErrNotServed", it, err)
		}
	}
}

func TestFetchUnknownOp(t *testing.T) {
	src := awssdk.New(aws.Config{HTTPClient: noIO{t}})
	res := src.Fetch(t.Context(), "DescribeParameters", []mw.Item{param("/a"), param("/b")})
	for _, r := range res {
		wantFailure(t, "unknown op", r.Err, failure{class: mw.ClassOther})
	}
}
