package awssdk_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lambda-mw/mw/awssdk"
)

// A Source prints no credential under any verb: its aws.Config holds the
// credentials provider, and a static one (credentials.NewStaticCredentialsProvider,
// a value) holds the secret access key and the session token, which %v,
// %+v and %#v printed. A Source a program logs, or a struct that holds
// one, shows its Region alone.
func TestPrintedFormsHoldNoCredential(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLE", "secret-key-canary", "session-token-canary")}
	src := awssdk.New(cfg)
	holder := struct{ S *awssdk.Source }{src}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		for _, x := range []any{src, holder, []*awssdk.Source{src}} {
			if s := fmt.Sprintf(verb, x); strings.Contains(s, "canary") || strings.Contains(s, "AKIAEXAMPLE") {
				t.Errorf("%s of a %T prints a credential: %.200s", verb, x, s)
			}
		}
	}
	if s := src.String(); s != "awssdk.Source(eu-west-1)" {
		t.Errorf("String() = %q", s)
	}
}
