package awssdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
)

// apiError is an AWS error answer as a SourceError holds it: the code and
// AWS's message, which names the caller and resources but never a value,
// with nothing else from the SDK's error (the response, its body). It is a
// smithy.APIError, for errors.As.
type apiError struct {
	code, message string
	fault         smithy.ErrorFault
}

func (e *apiError) Error() string {
	if e.message == "" {
		return e.code
	}
	return e.message
}

func (e *apiError) ErrorCode() string             { return e.code }
func (e *apiError) ErrorMessage() string          { return e.message }
func (e *apiError) ErrorFault() smithy.ErrorFault { return e.fault }

// maxMessage bounds the AWS message an error keeps.
const maxMessage = 400

func newAPIError(code, message string, fault smithy.ErrorFault) error {
	if code == "" && message == "" {
		return nil
	}
	// AWS's word is its first paragraph. What follows a signature refusal's
	// is the canonical request AWS computed, every signed header with it:
	// the session token among them.
	message, _, _ = strings.Cut(strings.TrimSpace(message), "\n\n")
	message, _, _ = strings.Cut(message, "The Canonical String for this request")
	message = strings.Join(strings.Fields(message), " ") // moto pads its messages
	if len(message) > maxMessage {
		message = message[:maxMessage] + "…"
	}
	return &apiError{code: code, message: message, fault: fault}
}

var (
	errMalformed   = errors.New("the answer could not be decoded")
	errCredentials = errors.New("the AWS SDK could not get credentials from the aws.Config")
)

// callError describes a failed call of op: the error the SDK returned,
// with the HTTP status, the AWS error code and the fix. It keeps AWS's
// message but no other part of the SDK's error, and no cause where the
// cause could quote a value (a body that did not decode) or a credential
// (a credential provider's failure).
func (c *clients) callError(ctx context.Context, op string, err error) *mw.SourceError {
	if ae, ok := errors.AsType[*assumeRoleError](err); ok {
		return c.assumeError(ctx, op, ae)
	}
	var status int
	if re, ok := errors.AsType[*smithyhttp.ResponseError](err); ok {
		status = re.HTTPStatusCode()
	}
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code := ae.ErrorCode()
		if code == "UnknownError" { // the SDK's name for an answer with no code
			code = ""
		}
		return c.answerError(op, status, code, ae.ErrorMessage(), ae.ErrorFault())
	}
	if status == 429 || status >= 500 { // an error answer whose body did not decode, such as a proxy's
		return c.answerError(op, status, "", "", smithy.FaultServer)
	}
	if ctx.Err() != nil {
		return &mw.SourceError{Class: mw.ClassTimeout, Status: status, Err: ctx.Err(),
			Hint: "the invoke's deadline came before AWS answered " + op + ": raise the function's timeout"}
	}
	if strings.Contains(err.Error(), "get identity:") {
		return &mw.SourceError{Class: mw.ClassAccessDenied, Err: errCredentials,
			Hint: "check where the aws.Config finds credentials (environment, shared config, the execution role)"}
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return &mw.SourceError{Class: mw.ClassTimeout, Retry: true, Status: status, Err: transportCause(err),
			Hint: c.unreachableHint(op)}
	}
	if isTransport(err) {
		return &mw.SourceError{Class: mw.ClassUnavailable, Retry: true, Status: status, Err: transportCause(err),
			Hint: c.unreachableHint(op)}
	}
	if _, ok := errors.AsType[*smithy.DeserializationError](err); ok {
		return &mw.SourceError{Class: mw.ClassMalformed, Status: status, Err: errMalformed, Hint: malformedHint(op)}
	}
	return &mw.SourceError{Class: mw.ClassOther, Status: status, Err: err, Hint: "the SDK could not make the " + op + " call: see the cause"}
}

// assumeRoleError is the failure of sts:AssumeRole for a role, which
// leaves the calls to make as the role without credentials.
type assumeRoleError struct {
	role string
	err  error
}

func (e *assumeRoleError) Error() string { return "assume role " + e.role + ": " + e.err.Error() }
func (e *assumeRoleError) Unwrap() error { return e.err }

// assumeError describes a call of op that failed because its role could
// not be assumed: STS's answer, classified as any AWS answer, with the fix
// of a role that cannot be assumed; or, when STS did not answer, why. It
// keeps STS's message (which names the caller and the role) and nothing
// else of the SDK's error: the credentials of the caller appear in none.
func (c *clients) assumeError(ctx context.Context, op string, ae *assumeRoleError) *mw.SourceError {
	const assumeOp = "sts:AssumeRole"
	var status int
	if re, ok := errors.AsType[*smithyhttp.ResponseError](ae.err); ok {
		status = re.HTTPStatusCode()
	}
	if api, ok := errors.AsType[smithy.APIError](ae.err); ok {
		class, retry := classify(status, api.ErrorCode(), api.ErrorMessage())
		hint := c.assumeHint(class, api.ErrorCode())
		return &mw.SourceError{Class: class, Retry: retry, Status: status, Code: api.ErrorCode(), Hint: hint,
			Err: fmt.Errorf("%s %s, for %s: %w", assumeOp, c.role, op, newAPIError(api.ErrorCode(), api.ErrorMessage(), api.ErrorFault()))}
	}
	if ctx.Err() != nil {
		return &mw.SourceError{Class: mw.ClassTimeout, Err: ctx.Err(),
			Hint: "the invoke's deadline came before STS answered AssumeRole of " + c.role + ": raise the function's timeout"}
	}
	if isTransport(ae.err) {
		return &mw.SourceError{Class: mw.ClassUnavailable, Retry: true, Err: transportCause(ae.err),
			Hint: "nothing answered the sts endpoint in " + c.where() + " to assume " + c.role +
				": a function in a VPC needs a NAT gateway or an interface VPC endpoint for sts"}
	}
	return &mw.SourceError{Class: mw.ClassAccessDenied, Err: errors.New("the AWS SDK could not assume the role " + c.role),
		Hint: "check where the aws.Config finds the credentials that call sts:AssumeRole (environment, shared config, the execution role)"}
}

// assumeHint is the likely fix of an answer of class to sts:AssumeRole of
// c's role.
func (c *clients) assumeHint(class mw.Class, code string) string {
	switch class {
	case mw.ClassAccessDenied:
		if credentialCodes[code] && code != "ExpiredToken" && code != "ExpiredTokenException" {
			return "STS refused the credentials that call sts:AssumeRole (wrong, or for another partition): check where the aws.Config finds them"
		}
		return "allow sts:AssumeRole on " + c.role + " in the execution role's policy, and trust the execution role in " +
			c.role + "'s trust policy (with the sts:ExternalId it requires, set with awssdk.WithAssumeRoleOptions)"
	case mw.ClassThrottled:
		return "STS throttled AssumeRole: the Source assumes each role once and renews its credentials a minute before they expire; mw retries within the invoke's deadline"
	case mw.ClassServerError:
		return "STS failed inside while answering AssumeRole (mw retries it within the invoke's deadline)"
	}
	if code == "RegionDisabledException" {
		return "STS is not activated in " + c.where() + ": activate it in IAM's account settings, or point the STS client at another Region (awssdk.WithSTSOptions)"
	}
	return "STS refused AssumeRole of " + c.role + " (" + code + "): check the role's ARN and the options awssdk.WithAssumeRoleOptions sets"
}

// isTransport reports whether err says that no answer came: the request
// could not be sent, or the connection failed while an answer was read.
func isTransport(err error) bool {
	_, unsent := errors.AsType[*smithyhttp.RequestSendError](err)
	_, isNet := errors.AsType[*net.OpError](err)
	return unsent || isNet || errors.Is(err, io.ErrUnexpectedEOF)
}

// transportCause returns the network error inside err, which names the
// endpoint (without a URL's password: net/http strips it) and what failed.
func transportCause(err error) error {
	if oe, ok := errors.AsType[*net.OpError](err); ok {
		return oe
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return errors.New("the request could not be sent")
}

// answerError describes an AWS error answer to op, whole, or for one item
// inside a successful answer (status 200): an entry of BatchGetSecretValue's
// Errors. Status is always the HTTP status of the answer, as
// mw.SourceError.Status says: 0 would tell mw that no answer came.
func (c *clients) answerError(op string, status int, code, message string, fault smithy.ErrorFault) *mw.SourceError {
	class, retry := classify(status, code, message)
	return &mw.SourceError{
		Class:  class,
		Retry:  retry,
		Status: status,
		Code:   code,
		Hint:   c.hint(op, class, code, message),
		Err:    newAPIError(code, message, fault),
	}
}

// Error codes by class. Codes are matched bare, as smithy.APIError gives
// them (any "namespace#" prefix stripped).
var (
	throttleCodes = codes("ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "RequestThrottled", "RequestThrottledException", "SlowDown",
		"KMSThrottlingException")
	notFoundCodes = codes("ParameterNotFound", "ParameterVersionNotFound", "ResourceNotFoundException")
	deniedCodes   = codes("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
	// credentialCodes are AWS's refusals of the credentials themselves.
	credentialCodes = codes("UnrecognizedClientException", "InvalidClientTokenId", "InvalidSignatureException",
		"SignatureDoesNotMatch", "IncompleteSignature", "MissingAuthenticationToken", "ExpiredToken",
		"ExpiredTokenException", "RequestExpired")
	decryptCodes = codes("DecryptionFailure", "InvalidKeyId")
	serverCodes  = codes("InternalServerError", "InternalServiceError", "InternalFailure", "InternalError",
		"ServiceUnavailable", "ServiceUnavailableException")
)

func codes(cs ...string) map[string]bool {
	m := make(map[string]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// classify maps an AWS error answer to mw's class, and says whether
// another attempt may succeed: throttling, server errors.
func classify(status int, code, message string) (mw.Class, bool) {
	switch {
	case throttleCodes[code] || status == 429:
		return mw.ClassThrottled, true
	case decryptCodes[code] || strings.HasPrefix(code, "KMS") ||
		deniedCodes[code] && awsname.KMSRefusal(message):
		return mw.ClassDecrypt, false
	case notFoundCodes[code] || code == "InvalidRequestException" && isDeleted(message):
		return mw.ClassNotFound, false
	case deniedCodes[code] || credentialCodes[code]:
		return mw.ClassAccessDenied, false
	case serverCodes[code] || status >= 500:
		return mw.ClassServerError, true
	}
	return mw.ClassOther, false
}

// isDeleted reports whether an InvalidRequestException says the secret is
// scheduled for deletion: AWS "You can't perform this operation on the
// secret because it was marked for deletion.", moto "... a secret that's
// currently marked deleted."
func isDeleted(message string) bool {
	return strings.Contains(message, "marked for deletion") || strings.Contains(message, "marked deleted")
}

// hint names the likely fix for an error answer to op.
func (c *clients) hint(op string, class mw.Class, code, message string) string {
	secret := op == opBatchGetSecretValue || op == opGetSecretValue
	switch class {
	case mw.ClassThrottled:
		return throttleHint(op, code)
	case mw.ClassDecrypt:
		what := "parameter"
		if secret {
			what = "secret"
		}
		return "allow kms:Decrypt on the KMS key that encrypts the " + what + ", in " + c.reader() + "'s policy and in the key's policy"
	case mw.ClassNotFound:
		switch {
		case code == "InvalidRequestException":
			return "the secret is scheduled for deletion: restore it (secretsmanager:RestoreSecret) or stop declaring it"
		case secret:
			return "no such secret or version in " + c.where() + ": check the name or ARN (a partial ARN has no 6-character suffix), the version id or stage, and the region"
		case strings.Contains(message, "referencing Secrets Manager"):
			return "no such secret or version stage in " + c.where() + ": check the secret's name after " + awsname.ReferencePrefix + ", the label (its version stage) and the region"
		}
		return "no such parameter, version or label in " + c.where() + ": check the name or ARN, the selector and the region"
	case mw.ClassAccessDenied:
		if credentialCodes[code] {
			return "AWS refused the credentials (wrong, expired, or for another partition): check where the aws.Config finds them"
		}
		return c.deniedHint(op, code, message)
	case mw.ClassServerError:
		return "AWS failed inside while answering " + op + " (mw retries it within the invoke's deadline); if it persists, see the AWS Health Dashboard for " + c.where()
	case mw.ClassOther:
		if code == "InvalidNextToken" {
			return "Parameter Store refused the listing's NextToken (a token may expire): the next fetch lists the path from its first page"
		}
		if code == "ValidationException" || code == "InvalidParameterException" || strings.HasPrefix(code, "InvalidFilter") {
			if secret {
				return "AWS refused the request: check the secret's id, version id and version stage"
			}
			return "AWS refused the request: check the names (letters, digits, _.-/; a hierarchy starts with '/') and selectors"
		}
	}
	return "AWS refused " + op + " (" + code + "): check the item's name or ARN"
}

// deniedHint is the likely fix when the identity that calls op may not:
// the action to allow, in the policy of the role that reads (the execution
// role, or the role the item names).
func (c *clients) deniedHint(op, code, message string) string {
	var fix string
	switch op {
	case opGetParameters:
		fix = "allow ssm:GetParameters on each parameter of the call (one denied name fails the whole call); a SecureString with a customer managed key also needs kms:Decrypt"
	case opGetParametersByPath:
		fix = "allow ssm:GetParametersByPath on the path (arn:aws:ssm:<region>:<account>:parameter/<path>)"
	case opBatchGetSecretValue:
		fix = "allow secretsmanager:GetSecretValue on the secret: BatchGetSecretValue needs it on each secret, besides secretsmanager:BatchGetSecretValue"
		if strings.Contains(message, "BatchGetSecretValue") || code == "AccessDenied" {
			fix = "allow secretsmanager:BatchGetSecretValue (on resource \"*\") and secretsmanager:GetSecretValue on each secret"
		}
	case opGetSecretValue:
		fix = "allow secretsmanager:GetSecretValue on the secret"
	default:
		return "AWS refused " + op + " (" + code + "): check the item's name or ARN"
	}
	if c.role != "" {
		fix += ", in the policy of " + c.role + ", which reads it"
	}
	return fix
}

// reader names the role that reads, in hints.
func (c *clients) reader() string {
	if c.role != "" {
		return c.role
	}
	return "the execution role"
}

// malformedHint is the likely fix for an answer to op that could not be
// read: something other than AWS answered.
func malformedHint(op string) string {
	return "the answer to " + op + " was not AWS's: check the aws.Config's endpoint (BaseEndpoint, AWS_ENDPOINT_URL) and any proxy in between"
}

func throttleHint(op, code string) string {
	if code == "KMSThrottlingException" {
		return "KMS throttled decryption: its cryptographic request rate is an account-and-Region quota shared by all callers; raise it in Service Quotas, or fetch less often with mw.WithTTL"
	}
	// The quotas, per account and Region: "AWS Systems Manager endpoints
	// and quotas" and "AWS Secrets Manager quotas" (SCALE.md cites them).
	const raise = "turn on Parameter Store's higher throughput setting " +
		"(aws ssm update-service-setting --setting-id /ssm/parameter-store/high-throughput-enabled --setting-value true), " +
		"or fetch less often with mw.WithTTL"
	switch op {
	case opGetParameters:
		return "Parameter Store throttled ssm:GetParameters: at standard throughput GetParameter, GetParameters and GetParametersByPath " +
			"share 40 calls a second per account and Region; higher throughput allows 1,000 GetParameters calls a second (10 names each): " + raise
	case opGetParametersByPath:
		return "Parameter Store throttled ssm:GetParametersByPath: at standard throughput GetParameter, GetParameters and GetParametersByPath " +
			"share 40 calls a second per account and Region; higher throughput allows 100 GetParametersByPath calls a second: " + raise
	case opBatchGetSecretValue:
		return "Secrets Manager throttled BatchGetSecretValue: its request rate quota is 100 calls a second per Region, not adjustable " +
			"(GetSecretValue's is 10,000); fetch less often with mw.WithTTL"
	case opGetSecretValue:
		return "Secrets Manager throttled GetSecretValue: its request rate quota is 10,000 calls a second per Region, not adjustable; " +
			"fetch less often with mw.WithTTL"
	}
	return "fetch less often with mw.WithTTL"
}

// unreachableHint is the likely fix when nothing answered.
func (c *clients) unreachableHint(op string) string {
	service := "ssm"
	if op == opBatchGetSecretValue || op == opGetSecretValue {
		service = "secretsmanager"
	}
	return "nothing answered the " + service + " endpoint in " + c.where() + ": a function in a VPC needs a NAT gateway or an interface VPC endpoint for " + service
}

func (c *clients) where() string {
	if c.region == "" {
		return "the aws.Config's region (none set)"
	}
	return "region " + c.region
}

// notFoundParameter is the error of a name GetParameters listed in
// InvalidParameters: no such parameter, version or label. The answer had no
// error code; the code is the one GetParameter answers the same name with.
func (c *clients) notFoundParameter() *mw.SourceError {
	return &mw.SourceError{
		Class:  mw.ClassNotFound,
		Status: http.StatusOK,
		Code:   "ParameterNotFound",
		Hint:   c.hint(opGetParameters, mw.ClassNotFound, "ParameterNotFound", ""),
		Err:    errors.New("ssm:GetParameters listed it in InvalidParameters"),
	}
}

// errMissing is the error of an item an answer neither gave nor refused.
func errMissing(op string) *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassMalformed, Status: http.StatusOK,
		Err: errors.New(op + " answered without this item: neither a value nor an error"), Hint: malformedHint(op)}
}

func unknownOp(op string) *mw.SourceError {
	return &mw.SourceError{Class: mw.ClassOther,
		Err: errors.New("awssdk: no such call " + op + ": Fetch takes the Op of the Source's Plan")}
}
