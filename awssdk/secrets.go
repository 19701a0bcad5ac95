package awssdk

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/lambda-mw/mw"
)

// batchGetSecretValue fetches the current versions of secrets with
// secretsmanager:BatchGetSecretValue and its SecretIdList (never Filters,
// which need secretsmanager:ListSecrets and fail whole on one deleted
// secret): each distinct id once, up to 20 a call, the calls concurrently.
func (c *clients) batchGetSecretValue(ctx context.Context, items []mw.Item, res []mw.Result) {
	ids, byID := requests(items, func(it mw.Item) string { return it.Name })
	fanOut(slices.Collect(slices.Chunk(ids, maxBatchGetSecretValue)), byID, res, func(call []string) map[string]mw.Result {
		return c.batchGetSecretValueCall(ctx, call)
	})
}

// batchGetSecretValueCall makes one BatchGetSecretValue call for ids (more
// if it answers a NextToken) and returns a Result for each id. Each entry
// of the answer's Errors fails its secret alone.
func (c *clients) batchGetSecretValueCall(ctx context.Context, ids []string) map[string]mw.Result {
	got := make(map[string]mw.Result, len(ids))
	fail := func(e *mw.SourceError) map[string]mw.Result {
		for _, id := range ids {
			got[id] = mw.Result{Err: e}
		}
		return got
	}
	var values []types.SecretValueEntry
	var errs []types.APIErrorType
	seen := make(map[string]bool)
	in := &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids}
	for {
		out, err := c.sm.BatchGetSecretValue(ctx, in)
		if err != nil {
			return fail(c.callError(ctx, opBatchGetSecretValue, err))
		}
		values = append(values, out.SecretValues...)
		errs = append(errs, out.Errors...)
		next := aws.ToString(out.NextToken)
		if next == "" {
			break
		}
		if seen[next] {
			return fail(&mw.SourceError{Class: mw.ClassMalformed,
				Err: errors.New("BatchGetSecretValue answered a NextToken it had already sent")})
		}
		seen[next] = true
		in.NextToken = aws.String(next)
	}
	for _, v := range values {
		for _, id := range ids {
			if _, done := got[id]; !done && secretMatches(id, aws.ToString(v.Name), aws.ToString(v.ARN)) {
				got[id] = mw.Result{Value: secretValue(v.SecretString, v.SecretBinary), Type: secretType(v.SecretString)}
			}
		}
	}
	for _, e := range errs {
		sid := aws.ToString(e.SecretId)
		for _, id := range ids {
			if _, done := got[id]; !done && (id == sid || secretMatches(id, sid, sid)) {
				got[id] = mw.Result{Err: c.answerError(opBatchGetSecretValue, http.StatusOK,
					aws.ToString(e.ErrorCode), aws.ToString(e.Message), smithy.FaultUnknown)}
			}
		}
	}
	for _, id := range ids {
		if _, ok := got[id]; !ok {
			got[id] = mw.Result{Err: errMissing(opBatchGetSecretValue)}
		}
	}
	return got
}

// secretMatches reports whether the secret id asked for (a name, a full
// ARN, or a partial ARN: a full ARN without the "-" and six characters
// Secrets Manager appends) is the secret of an answer, of name and ARN.
func secretMatches(id, name, arn string) bool {
	switch {
	case id == name || id == arn:
		return true
	case strings.HasPrefix(id, "arn:"):
		const suffix = len("-XXXXXX")
		return len(arn) == len(id)+suffix && strings.HasPrefix(arn, id+"-")
	}
	return false
}

// secretValue is a secret version's value: its SecretString, else the
// bytes of its SecretBinary.
func secretValue(str *string, bin []byte) string {
	if str != nil {
		return *str
	}
	return string(bin)
}

// secretType is the type of a secret's value, as mw.Result names it.
func secretType(str *string) string {
	if str != nil {
		return "SecretString"
	}
	return "SecretBinary"
}

// getSecretValue fetches a pinned secret version with
// secretsmanager:GetSecretValue.
func (c *clients) getSecretValue(ctx context.Context, it mw.Item) mw.Result {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(it.Name)}
	if it.VersionID != "" {
		in.VersionId = aws.String(it.VersionID)
	}
	if it.VersionStage != "" {
		in.VersionStage = aws.String(it.VersionStage)
	}
	out, err := c.sm.GetSecretValue(ctx, in)
	if err != nil {
		return mw.Result{Err: c.callError(ctx, opGetSecretValue, err)}
	}
	return mw.Result{Value: secretValue(out.SecretString, out.SecretBinary), Type: secretType(out.SecretString)}
}
