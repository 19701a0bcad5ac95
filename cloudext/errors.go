package cloudext

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/safejson"
)

// profileEnv is the variable that names the profile the runtime loads
// ("set the AWS_CLOUDEXTENSIONS_PROFILE environment variable of the
// function to the profile name or ID").
const profileEnv = "AWS_CLOUDEXTENSIONS_PROFILE"

// reasonHeader carries the reason of an authentication failure on the
// Parameter Store extension ("The cloudextensions-error-reason header
// holds the reason, such as MISSING_AUTHENTICATION or SIGNATURE_MISMATCH").
const reasonHeader = "Cloudextensions-Error-Reason"

// The reasons AWS documents, by exception (the AppConfig Cloud Extension
// SDK models, the User Guide's error tables). Only these are ever quoted:
// a body may hold anything.
var knownReasons = codes(
	// ServiceUnavailableException
	"PROFILE_LOADING", "EXTENSION_LOADING", "EXTENSION_REMOVED", "EXTENSION_RELOADED", "EXTENSION_EXITED",
	"RUNTIME_SHUTTING_DOWN", "SECRET_KEY_UNAVAILABLE",
	// BadGatewayException
	"PROFILE_NOT_FOUND", "PROFILE_ACCESS_DENIED", "PROFILE_RETRIEVAL_THROTTLED", "PROFILE_RETRIEVAL_FAILED",
	"PROFILE_UNREADABLE", "EXTENSION_INVALID_RESPONSE", "EXTENSION_CRASHED", "EXTENSION_INITIALIZE_FAILED",
	"EXTENSION_UNREADABLE", "EXTENSION_LOAD_FAILED", "REMOTE_UNREACHABLE",
	// UpgradeRequiredException
	"EXTENSION_REQUIRES_RUNTIME_UPGRADE", "AUTHENTICATION_REQUIRES_RUNTIME_UPGRADE",
	// AccessDeniedException
	"MISSING_AUTHENTICATION", "SIGNATURE_EXPIRED", "UNKNOWN_ACCESS_KEY", "IAM_CREDENTIAL_USED", "SIGNATURE_MISMATCH",
	"ACCESS_DENIED_BY_REMOTE",
	// ThrottlingException
	"THROTTLED_BY_RUNTIME", "THROTTLED_BY_REMOTE",
	// ValidationException, and its semantic errors' problems
	"FIELD_VALIDATION_FAILED", "CANNOT_PARSE", "UNKNOWN_OPERATION",
	"RESOURCE_NOT_FOUND", "FLAG_NOT_FOUND", "FLAG_UNREADABLE",
)

// errorBody is what an error answer's body may say: AWS JSON's __type,
// the runtime's reason, a validation's errors, and the message, which is
// read for KMS's words but never kept.
type errorBody struct {
	Type     string            `json:"__type"`
	Reason   string            `json:"reason"`
	Message  string            `json:"message"`
	MessageU string            `json:"Message"`
	Errors   []json.RawMessage `json:"errors"`
}

// refusal is an error answer as the Source reads it.
type refusal struct {
	status     int
	code       string // X-Amzn-Errortype, else the body's __type; bare
	reason     string // a known reason, else ""
	problem    string // a known problem of a semantic error, else ""
	kms        bool   // the message is KMS's refusal (awsname.KMSRefusal)
	retryAfter time.Duration
}

// readRefusal reads an error answer's status, code, reason and
// Retry-After, tolerating each documented shape: the type in
// X-Amzn-Errortype or __type, the reason in the body or the
// cloudextensions-error-reason header, the message in message or Message.
func readRefusal(a *answer, now time.Time) refusal {
	var b errorBody
	_ = json.Unmarshal(a.body, &b) // an empty or non-JSON body says nothing more
	r := refusal{status: a.status, code: safejson.CleanCode(a.header.Get("X-Amzn-Errortype"), a.sent...)}
	if r.code == "" {
		r.code = safejson.CleanCode(b.Type, a.sent...)
	}
	r.reason = known(b.Reason)
	if r.reason == "" {
		r.reason = known(a.header.Get(reasonHeader))
	}
	for _, e := range b.Errors {
		if p := semanticProblem(e); p != "" {
			r.problem = p
			break
		}
	}
	msg := b.Message + " " + b.MessageU
	r.kms = awsname.KMSRefusal(msg)
	r.retryAfter = retryAfter(a.header.Get("Retry-After"), now)
	return r
}

// known returns r if AWS documents it as a reason, else "".
func known(r string) string {
	r = strings.TrimSpace(r)
	if knownReasons[r] {
		return r
	}
	return ""
}

// semanticProblem returns the documented problem of a validation error
// that names something that does not exist or cannot be read
// ({"semanticError": {"problem": "RESOURCE_NOT_FOUND", ...}}); any string
// member of the semantic error that is a known problem is taken, as its
// shape is not fully documented.
func semanticProblem(raw json.RawMessage) string {
	var e struct {
		Semantic map[string]any `json:"semanticError"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	for _, k := range []string{"problem", "reason", "code"} {
		if s, ok := e.Semantic[k].(string); ok && known(s) != "" {
			return s
		}
	}
	return ""
}

// retryAfter reads a Retry-After header: a number of seconds or an HTTP
// date (RFC 9110 §10.2.3), at most an hour; zero for none or a wrong one.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), 3600)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = min(max(t.Sub(now), 0), time.Hour)
	}
	return d
}

// Error codes, as the extensions answer them.
var (
	// Authentication failures: the Secrets Manager errors page's, and any
	// AWS service's own (a runtime may answer as AWS does).
	authCodes = codes("MissingAuthenticationToken", "MissingAuthenticationTokenException", "SignatureDoesNotMatch",
		"InvalidClientTokenId", "IncompleteSignature", "IncompleteSignatureException", "UnrecognizedClientException",
		"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException", "RequestExpired")
	authReasons   = codes("MISSING_AUTHENTICATION", "SIGNATURE_EXPIRED", "UNKNOWN_ACCESS_KEY", "IAM_CREDENTIAL_USED", "SIGNATURE_MISMATCH")
	notFoundCodes = codes("ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound")
	decryptCodes  = codes("DecryptionFailure", "InvalidKeyId", "KMSAccessDeniedException", "KMSDisabledException",
		"KMSInvalidStateException", "KMSNotFoundException", "InvalidCiphertextException", "IncorrectKeyException")
	deniedCodes   = codes("AccessDeniedException", "AccessDenied", "UnauthorizedOperation")
	throttleCodes = codes("ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
		"RequestLimitExceeded", "KMSThrottlingException")
	serverCodes = codes("InternalFailure", "InternalServerError", "InternalServerException", "InternalServiceError",
		"InternalError", "ServiceUnavailable")
)

func codes(cs ...string) map[string]bool {
	m := make(map[string]bool, len(cs))
	for _, c := range cs {
		m[c] = true
	}
	return m
}

// refusalError turns an error answer from ext to the request for it into
// the *mw.SourceError mw acts on: its class, whether to retry or to wait
// for the runtime to be ready, and a hint that names the profile, the
// capability and the IAM action the answer points to. Only the code and a
// known reason are quoted.
func (s *Source) refusalError(ext extension, it mw.Item, r refusal) *mw.SourceError {
	e := &mw.SourceError{Status: r.status, Code: r.code}
	if why := r.reason; why != "" || r.problem != "" {
		if why == "" {
			why = r.problem
		} else if r.problem != "" {
			why += ", " + r.problem
		}
		e.Err = errors.New("reason " + why)
	}
	set := func(c mw.Class, retry bool, hint string) { e.Class, e.Retry, e.Hint = c, retry, hint }
	switch {
	case authCodes[r.code] || authReasons[r.reason] || r.status == http.StatusUnauthorized:
		set(mw.ClassBadToken, false, s.authHint(ext, r))
	case r.code == "InvalidSsrfTokenException":
		set(mw.ClassBadToken, false, "the Secrets Manager extension refused the SSRF token: give the token of the profile entry's settings "+
			"with cloudext.WithSSRFToken (in one of its SSRF token headers: cloudext.WithSSRFHeader), or turn the SSRF token header check off "+
			"if every caller signs its requests")
	case r.status == http.StatusServiceUnavailable || r.code == "ServiceUnavailableException":
		s.unavailable(e, ext, r)
	case r.status == http.StatusTooManyRequests || throttleCodes[r.code]:
		set(mw.ClassThrottled, true, throttleHint(ext, r))
		e.RetryAfter = r.retryAfter
	case r.code == "BadGatewayException" || r.code == "ConnectionError" || r.status == http.StatusBadGateway:
		s.badGateway(e, ext, r)
	case r.code == "UpgradeRequiredException" || r.status == http.StatusUpgradeRequired:
		set(mw.ClassConfig, false, "the "+ext.name+" needs a newer Cloud Extensions runtime: attach the latest runtime layer "+
			"(/aws/service/aws-cloudextensions/lambda-extension/<amd64|arm64>/latest), or pin an earlier extension version in the profile entry's version policy")
	case r.code == "LoopDetectedException" || r.status == http.StatusLoopDetected:
		set(mw.ClassConfig, false, "the request looped back through Cloud Extensions: check the extension's settings (its region and endpoints)")
	case r.code == "RequestEntityTooLargeException" || r.status == http.StatusRequestEntityTooLarge:
		set(mw.ClassOther, false, "the request is larger than Cloud Extensions accepts: a name or a flag context too long")
	case notFoundCodes[r.code] || r.problem == "RESOURCE_NOT_FOUND" || r.problem == "FLAG_NOT_FOUND":
		set(mw.ClassNotFound, false, notFoundHint(ext, it, r))
	case decryptCodes[r.code] || strings.HasPrefix(r.code, "KMS") || deniedCodes[r.code] && r.kms:
		set(mw.ClassDecrypt, false, "allow kms:Decrypt on the KMS key that encrypts it to the "+ext.name+"'s execution role "+
			"(or, if neither its profile entry nor the profile sets one, the function's role), in the role's policy and in the key's")
	case deniedCodes[r.code]:
		set(mw.ClassAccessDenied, false, deniedHint(ext, it))
	case serverCodes[r.code] || r.status == http.StatusInternalServerError:
		set(mw.ClassServerError, true, "the "+ext.name+" or the runtime failed inside (mw retries); its logs are in the function's log group")
	case r.code == "BadRequestException":
		set(mw.ClassOther, false, "the Secrets Manager extension refused the request as invalid: a secret id, versionId, versionStage "+
			"or roleArn it does not accept (a roleArn is arn:<partition>:iam::<account>:role/<name>)")
	case r.problem == "FLAG_UNREADABLE":
		set(mw.ClassOther, false, "the profile is not of type AWS.AppConfig.FeatureFlags: GetFlag reads flags of feature flag profiles only")
	case r.code == "ValidationException" || r.code == "SerializationException":
		set(mw.ClassOther, false, validationHint(ext, r))
	case r.status >= 500:
		set(mw.ClassServerError, true, "the "+ext.name+" answered HTTP "+strconv.Itoa(r.status)+" (mw retries); its logs are in the function's log group")
	case r.status == http.StatusNotFound && r.code == "":
		set(mw.ClassOther, false, "the endpoint does not serve "+ext.path+": is it the Cloud Extensions runtime, and does the profile have the "+ext.name+"? "+profileWords())
	default:
		set(mw.ClassOther, false, "the "+ext.name+" refused the request")
	}
	return e
}

// unavailable classifies a 503 ServiceUnavailableException by its reason.
// While the profile or an extension loads, the runtime is not ready: mw's
// readiness gate polls it, as it polls the managed extension's startup
// answers. A 503 with no reason is taken for the same: the Secrets
// Manager extension "returns 503 ServiceUnavailableException until it
// finishes loading".
func (s *Source) unavailable(e *mw.SourceError, ext extension, r refusal) {
	e.Class, e.Retry = mw.ClassServerError, true
	switch r.reason {
	case "PROFILE_LOADING", "EXTENSION_LOADING", "":
		e.NotReady = true
		e.Hint = "the Cloud Extensions runtime is still loading the profile or the " + ext.name + "; mw waits for it within its startup window " +
			"(mw.WithStartupWindow), then retries. If it never finishes, see the runtime's logs, " + profileWords() +
			"; prefetch what the function reads first in the extension's settings"
	case "EXTENSION_RELOADED":
		e.Hint = "the " + ext.name + " is reloading after its settings changed; mw retries"
	case "EXTENSION_EXITED":
		e.Hint = "the " + ext.name + " exited; mw retries. If it persists, see the runtime's logs, or pin an earlier extension version in the profile entry"
	case "SECRET_KEY_UNAVAILABLE":
		e.Hint = "the runtime cannot read the secret that holds the profile's extension key: allow secretsmanager:GetSecretValue on it to the function's role; mw retries"
	case "EXTENSION_REMOVED":
		e.Class, e.Retry = mw.ClassConfig, false
		e.Hint = "the profile no longer has the " + ext.name + ": add it back as a profile entry (" + profileWords() + "), or read the item through another source"
	case "RUNTIME_SHUTTING_DOWN":
		e.Retry = false
		e.Hint = "the Cloud Extensions runtime is shutting down"
	default:
		e.Hint = "the Cloud Extensions runtime cannot serve the request now; mw retries"
	}
	e.RetryAfter = r.retryAfter
}

// badGateway classifies a 502: no usable answer came from the service the
// runtime reads its profile from, from the extension, or from AWS.
func (s *Source) badGateway(e *mw.SourceError, ext extension, r refusal) {
	set := func(c mw.Class, retry bool, hint string) { e.Class, e.Retry, e.Hint = c, retry, hint }
	switch r.reason {
	case "PROFILE_NOT_FOUND":
		set(mw.ClassConfig, false, "the runtime found no such profile: "+profileWords()+"; set it to the profile's name or ID")
	case "PROFILE_ACCESS_DENIED":
		set(mw.ClassAccessDenied, false, "the runtime may not read its profile with the function's credentials: allow the function's role to get the profile "+
			"that "+profileEnv+" names (AWS Systems Manager Cloud Extensions' IAM actions)")
	case "PROFILE_RETRIEVAL_THROTTLED":
		set(mw.ClassThrottled, true, "AWS throttled the runtime's retrieval of its profile; mw retries")
	case "PROFILE_RETRIEVAL_FAILED":
		set(mw.ClassServerError, true, "the runtime could not retrieve its profile; mw retries")
	case "PROFILE_UNREADABLE":
		set(mw.ClassConfig, false, "the runtime cannot read its profile: check the profile ("+profileWords()+") and upgrade the runtime layer")
	case "EXTENSION_INITIALIZE_FAILED", "EXTENSION_LOAD_FAILED", "EXTENSION_UNREADABLE":
		set(mw.ClassConfig, false, "the "+ext.name+" could not start: check its settings in the profile entry and that its capability "+
			ext.capability+" is approved, or pin an earlier extension version ("+profileWords()+")")
	case "REMOTE_UNREACHABLE":
		set(mw.ClassServerError, true, "the "+ext.name+" could not reach AWS: a function in a VPC needs a NAT gateway or interface VPC endpoints; mw retries")
	default: // EXTENSION_INVALID_RESPONSE, EXTENSION_CRASHED, ConnectionError, an undeclared error of AWS
		set(mw.ClassServerError, true, "no usable answer came from the "+ext.name+" or from AWS behind it; mw retries. "+
			"If it persists, see the runtime's logs, or pin an earlier extension version in the profile entry")
	}
	e.RetryAfter = r.retryAfter
}

// authHint says what to fix when the runtime refused a request's
// authentication, by the documented reason or code, whichever came.
func (s *Source) authHint(ext extension, r refusal) string {
	mode := "the function's own credentials (the aws.Config's: runtimeCredentials authentication)"
	switch {
	case s.keyMode:
		mode = "the extension key given to cloudext.WithExtensionKey (extensionKey authentication)"
	case s.creds == nil:
		mode = "no signature (cloudext.WithoutAuthentication)"
	}
	reason := r.reason
	if reason == "" {
		switch r.code {
		case "MissingAuthenticationToken", "MissingAuthenticationTokenException":
			reason = "MISSING_AUTHENTICATION"
		case "InvalidClientTokenId", "UnrecognizedClientException":
			reason = "UNKNOWN_ACCESS_KEY"
		}
	}
	switch reason {
	case "MISSING_AUTHENTICATION":
		return "the profile requires signed requests and this one was sent with " + mode + ": drop cloudext.WithoutAuthentication " +
			"(the function's credentials sign by default), or give the profile's extension key with cloudext.WithExtensionKey"
	case "SIGNATURE_EXPIRED":
		return "the request's time was more than 5 seconds off the runtime's clock: check the clock of the host that signs"
	case "IAM_CREDENTIAL_USED":
		return "the profile requires its extension key, and the request was signed with IAM credentials: give the key with " +
			"cloudext.WithExtensionKey (ExtensionKeyFromEnv, ExtensionKeyFromSecret)"
	case "UNKNOWN_ACCESS_KEY":
		if s.keyMode {
			return "the runtime does not know the extension key's access key ID: give the profile's current key " +
				"(aws cloudextensions get-profile shows its ID; an update that supplies no secret key rotates it), " +
				"or, if the profile's authentication is runtimeCredentials, drop cloudext.WithExtensionKey; " + profileWords()
		}
		return "the runtime does not know the access key ID the request was signed with (" + mode + "): with runtimeCredentials " +
			"the function must sign with the same credentials as the runtime (an assumed role's cannot be verified); " +
			"if the profile's authentication is extensionKey, use cloudext.WithExtensionKey"
	}
	// SIGNATURE_MISMATCH, SignatureDoesNotMatch: a bad signature, key or
	// clock, as the Secrets Manager errors page lumps them together.
	hint := "the runtime refused the request's signature, made with " + mode + " for Region " + s.region + ": check the secret key, " +
		"the Region, if the runtime checks it (cloudext.WithRegion; the aws.Config's by default), that the host's clock is within 5 seconds of the runtime's"
	if ext == extAppConfig {
		hint += ", and the signing name (cloudext.WithAppConfigSigningName: AWS does not document the AppConfig extension's; " + s.acSigning + " was used)"
	}
	return hint
}

// notFoundHint says what a not-found answer points to.
func notFoundHint(ext extension, it mw.Item, r refusal) string {
	switch {
	case r.problem == "FLAG_NOT_FOUND":
		return "the profile has no such flag: check the flag key (keys are case-sensitive)"
	case ext == extAppConfig:
		return "no such configuration deployed: check the application, environment and configuration profile (names or IDs) " +
			"and that a deployment to the environment exists; the extension keeps trying and serves one deployed later"
	case ext == extSecretsManager && it.RoleARN != "":
		return "no such secret or version readable as the role: check the name or ARN (a secret of another account by its ARN), the version id or stage, and the region"
	case ext == extSecretsManager:
		return "no such secret or version: check the name or ARN, the version id or stage, and the extension's region"
	case strings.HasPrefix(it.Name, awsname.ReferencePrefix):
		return "no such secret or version stage: check the secret's name or ARN after " + awsname.ReferencePrefix +
			", the label (its version stage) and the extension's region"
	}
	return "no such parameter, version or label: check the name or ARN, the selector and the extension's region"
}

// deniedHint names the role, the action and the capability an access
// denied answer points to.
func deniedHint(ext extension, it mw.Item) string {
	if ext == extSecretsManager && it.RoleARN != "" {
		return "the extension could not read the secret as the role " + it.RoleARN + ": allow sts:AssumeRole on it to the extension's execution role " +
			"(the role's trust policy must trust that role), and " + ext.actions + " on the secret to the role"
	}
	actions := ext.actions
	if ext == extParameterStore && strings.HasPrefix(it.Name, awsname.ReferencePrefix) {
		actions += " and, for the secret it reads, secretsmanager:GetSecretValue"
	}
	return "allow " + actions + " on it to the " + ext.name + "'s execution role (if neither its profile entry nor the profile sets one, " +
		"the function's role: the runtime's credentials), and approve the capability " + ext.capability + " on the profile entry (" + profileWords() + ")"
}

func throttleHint(ext extension, r refusal) string {
	switch r.reason {
	case "THROTTLED_BY_RUNTIME":
		return "the runtime had too many requests in flight (100, or fewer under memory pressure): send fewer at once; mw retries after Retry-After"
	case "THROTTLED_BY_REMOTE":
		return "AWS throttled the " + ext.name + "'s own calls: a longer TTL in its settings and mw.WithTTL call AWS less; mw retries after Retry-After"
	}
	return "the " + ext.name + " throttled the request (the runtime allows 100 in flight, fewer under memory pressure, and AWS throttles its calls); mw retries after Retry-After"
}

func validationHint(ext extension, r refusal) string {
	switch r.reason {
	case "UNKNOWN_OPERATION":
		return "the " + ext.name + " has no such operation: is it the version this client knows (the profile entry's version policy)?"
	case "CANNOT_PARSE":
		return "the " + ext.name + " could not parse the request: report it as a bug of this client"
	}
	if ext == extParameterStore {
		return "Parameter Store's extension refused the request: names of at most 2,048 characters, 1 to 10 a request"
	}
	return "the " + ext.name + " refused the request: a name, an ID or a flag key it does not accept (see the answer's field constraints)"
}

// profileWords names the profile the runtime loads, as the environment
// says it.
func profileWords() string {
	if p := os.Getenv(profileEnv); p != "" {
		return fmt.Sprintf("the profile %s names is %q", profileEnv, p)
	}
	return profileEnv + " is unset, so the runtime loads the account's default profile"
}
