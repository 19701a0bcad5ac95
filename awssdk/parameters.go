package awssdk

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
)

// getParameters fetches parameters with ssm:GetParameters: each distinct
// name (with its selector) once, up to 10 a call, the calls concurrently.
//
// The answer lists parameters by Name and ARN, and AWS adds the Selector
// asked for, but Name may be the bare name even when asked by ARN, and
// moto sends no Selector: two requests for one parameter (at two versions,
// or by name and by ARN) in one call could not be told apart. So no two
// requests with the same awsname.ParameterKey share a call, and each answer
// is matched to its request by its Name and ARN (awsname.ParameterAnswered).
func (c *clients) getParameters(ctx context.Context, items []mw.Item, res []mw.Result) {
	names, byName := requests(items, func(it mw.Item) string { return awsname.ParameterRequest(it.Name, it.Version, it.Label) })
	fanOut(awsname.Batches(names, maxGetParameters), byName, res, func(call []string) map[string]mw.Result {
		return c.getParametersCall(ctx, call)
	})
}

// getParametersCall makes one GetParameters call for names, whose keys are
// distinct, and returns a Result for each name.
func (c *clients) getParametersCall(ctx context.Context, names []string) map[string]mw.Result {
	got := make(map[string]mw.Result, len(names))
	out, err := c.ssm.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
	if err != nil {
		e := c.callError(ctx, opGetParameters, err)
		for _, n := range names {
			got[n] = mw.Result{Err: e}
		}
		return got
	}
	for _, p := range out.Parameters {
		n, ok := awsname.ParameterAnswered(names, p.Name, p.ARN, awsname.AnswersParameterOrMoto)
		if _, dup := got[n]; !ok || dup {
			continue
		}
		switch {
		case p.Value != nil:
			got[n] = mw.Result{Value: *p.Value, Type: string(p.Type)}
		case strings.HasPrefix(n, awsname.ReferencePrefix):
			// A binary secret: Parameter Store gives no Value.
			got[n] = mw.Result{Err: &mw.SourceError{Class: mw.ClassMalformed, Status: http.StatusOK,
				Err:  errors.New("the answer is for a binary secret: Parameter Store answers it with no Value"),
				Hint: awsname.BinaryReferenceFix(n) + ": the SDK source reads a binary secret's bytes with BatchGetSecretValue"}}
		}
	}
	for _, n := range out.InvalidParameters {
		if _, ours := byName(names, n); ours {
			got[n] = mw.Result{Err: c.notFoundParameter()}
		}
	}
	for _, n := range names {
		if _, ok := got[n]; !ok {
			got[n] = mw.Result{Err: errMissing(opGetParameters)}
		}
	}
	return got
}

func byName(names []string, n string) (int, bool) {
	for i, m := range names {
		if m == n {
			return i, true
		}
	}
	return -1, false
}
