package mw

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/safejson"
)

// The extension's and the agent's answers other than 200, and what each
// means.

// Texts the extension and the agent send as whole error bodies. They are
// quoted in errors; any other body text is not, since it may hold anything.
var knownTexts = []string{
	"an unexpected error occurred while executing request",
	"bad session token or header key",
	"Bad Token",
	"Connection limit exceeded",
}

// dialect is what the meaning of an answer depends on, of the server that
// sent it: the managed extension or the Secrets Manager Agent.
type dialect struct {
	agent     bool   // the Secrets Manager Agent, not the managed extension
	tokenHint string // what to check about a token it refused
	token     string // the token the request carried, which no error may quote
}

// product names the server in messages.
func (d dialect) product() string {
	if d.agent {
		return "Secrets Manager Agent"
	}
	return "Parameters and Secrets extension"
}

// statusError classifies a non-200 answer for it from a server of dialect
// x. Only what is known to be safe is kept of the body: the AWS error code,
// or one of knownTexts.
func statusError(it Item, resp *http.Response, body []byte, x dialect) error {
	e := &SourceError{Status: resp.StatusCode, Code: safejson.Code(body, x.token)}
	text := strings.TrimSpace(string(body))
	if slices.Contains(knownTexts, text) && text != knownTexts[0] { // the generic 400 says nothing more than its class
		e.Err = errors.New(strconv.Quote(text))
	}
	if e.Code == "" && resp.StatusCode == http.StatusUnauthorized {
		e.Code = safejson.CleanCode(resp.Header.Get("X-Amzn-Errortype"), x.token)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Class, e.Err = ClassOther, errors.New("the endpoint answered a redirect, which mw does not follow; nothing more was sent")
		e.Hint = "neither the extension nor the agent redirects: check the endpoint (WithEndpoint, MW_ENDPOINT), and that no proxy sits in between"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden && (e.Code == "" || text == "Bad Token"):
		e.Class, e.Hint = ClassBadToken, x.tokenHint
	case e.Code != "":
		classifyCode(e, x, it)
	case resp.StatusCode == http.StatusBadRequest && !x.agent:
		e.Class, e.NotReady, e.Hint = ClassRejected, true, rejectedHint(it)
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Class, e.Retry = ClassThrottled, true
		e.Hint = "the agent refused the connection: more requests at once than its max_conn setting allows (" + text + "): raise max_conn in its configuration, or send fewer at once"
		if text != "Connection limit exceeded" {
			e.Hint = throttleHint(it)
		}
	case resp.StatusCode >= 500:
		e.Class, e.Retry, e.Hint = ClassServerError, true, "the "+x.product()+" reported an internal failure: see its logs (CloudWatch for the extension)"
	case resp.StatusCode == http.StatusNotFound:
		e.Class, e.Hint = ClassOther, "the endpoint does not serve this route: is it the "+x.product()+"?"
	default:
		e.Class, e.Hint = ClassOther, "the "+x.product()+" refused the request"
	}
	return e
}

// rejectedHint is what the managed extension's bare 400 means once it is
// serving: the item is missing, or the role may not read it, or AWS
// throttled the extension, which answers all three the same way.
func rejectedHint(it Item) string {
	quota := "Parameter Store's 40 calls a second (10,000 with higher throughput)"
	if readAction(it) != "ssm:GetParameter" {
		quota = "Secrets Manager's 10,000 GetSecretValue calls a second"
	}
	return fmt.Sprintf("not found or not allowed: check the name and region, and allow %s on it "+
		"(and kms:Decrypt for a customer-managed key); the extension's CloudWatch logs say which. "+
		"Or throttled: many cold starts at once can exceed %s (SCALE.md)", readAction(it), quota)
}

// readAction is the IAM action that reads it through the extension.
func readAction(it Item) string {
	if it.Kind == KindParameter && !strings.HasPrefix(it.Name, awsname.ReferencePrefix) {
		return "ssm:GetParameter"
	}
	return "secretsmanager:GetSecretValue"
}

// throttleHint is what to do when AWS throttles the extension's reads of
// it: the quota it met, the setting that raises it (AWS's quota pages:
// "AWS Systems Manager endpoints and quotas", "AWS Secrets Manager
// quotas"), and how to call less.
func throttleHint(it Item) string {
	if readAction(it) == "ssm:GetParameter" {
		return "Parameter Store allows 40 GetParameter calls a second per account and Region at standard throughput, " +
			"shared with GetParameters and GetParametersByPath; its higher throughput setting raises that to 10,000 " +
			"(aws ssm update-service-setting --setting-id /ssm/parameter-store/high-throughput-enabled --setting-value true). " +
			"Or call less: the AWS SDK source batches 10 names a call (package github.com/lambda-mw/mw/awssdk), " +
			"and a longer TTL (the extension's SSM_PARAMETER_STORE_TTL, mw's WithTTL) fetches less often"
	}
	return "Secrets Manager allows 10,000 GetSecretValue calls a second per Region, not adjustable: call less, " +
		"with a longer TTL (the extension's SECRETS_MANAGER_TTL, mw's WithTTL); WithMaxStale serves the last value meanwhile"
}

// deniedHint is the fix of an access denied answer for it. Read as a role
// (roleArn), the agent answers 403 when it could not take the role on
// (it assumes the role to make a client for it: aws_secretsmanager_provider's
// CacheManager), and passes Secrets Manager's own refusal of the role on
// with its status, 400.
func deniedHint(it Item, status int, x dialect) string {
	switch {
	case it.RoleARN == "":
		return "allow " + readAction(it) + " on its ARN in the role the " + x.product() + " uses"
	case status == http.StatusForbidden:
		return "the " + x.product() + " could not take on the role " + it.RoleARN + ": allow sts:AssumeRole on it in the role the agent uses, " +
			"and trust that role in " + it.RoleARN + "'s trust policy"
	}
	return "allow " + readAction(it) + " on its ARN in " + it.RoleARN + "'s policy: the " + x.product() + " reads it as that role"
}

// classifyCode reads the AWS error codes the agent passes through.
func classifyCode(e *SourceError, x dialect, it Item) {
	switch e.Code {
	case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound":
		e.Class, e.Hint = ClassNotFound, "check the name: no such item (or version) exists in this account and region (wrong name or region?)"
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		e.Class, e.Hint = ClassAccessDenied, deniedHint(it, e.Status, x)
	case "DecryptionFailure", "KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException",
		"KMSNotFoundException", "InvalidCiphertextException", "IncorrectKeyException", "InvalidKeyId":
		e.Class, e.Hint = ClassDecrypt, "allow kms:Decrypt on the KMS key that encrypts it, in the role and in the key policy"
	case "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded", "ThrottledException":
		e.Class, e.Retry, e.Hint = ClassThrottled, true, throttleHint(it)
	case "InternalFailure", "InternalServiceError", "InternalServerError", "ServiceUnavailable", "TimeoutError", "RequestTimeout":
		e.Class, e.Retry, e.Hint = ClassServerError, true, "AWS or the "+x.product()+" failed inside: see its logs; mw retries"
	case "InvalidRequestException":
		e.Class, e.Hint = ClassOther, "Secrets Manager refused the request: is the secret scheduled for deletion, or the version asked for gone?"
	default:
		// A code mw does not know: the status says what it can.
		switch {
		case e.Status == http.StatusTooManyRequests:
			e.Class, e.Retry, e.Hint = ClassThrottled, true, throttleHint(it)
		case e.Status >= 500:
			e.Class, e.Retry, e.Hint = ClassServerError, true, "AWS or the "+x.product()+" failed inside ("+e.Code+"): see its logs; mw retries"
		default:
			e.Class, e.Hint = ClassOther, "AWS refused the request ("+e.Code+"): check the item's name or ARN"
		}
	}
}
