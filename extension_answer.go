package mw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The success bodies, as AWS documents them and as captured from the
// extension: the JSON of the SDK's GetParameter and GetSecretValue
// outputs. Only the fields mw checks; a value is kept raw, to be read
// exactly (see text).
type parameterBody struct {
	Parameter *struct {
		Name    *string         `json:"Name"`
		ARN     *string         `json:"ARN"`
		Type    string          `json:"Type"`
		Value   json.RawMessage `json:"Value"`
		Version *int64          `json:"Version"`
		// SourceResult holds a binary secret read through Parameter
		// Store (see referencedBinary).
		SourceResult *string `json:"SourceResult"`
	} `json:"Parameter"`
}

type secretBody struct {
	Name          *string         `json:"Name"`
	ARN           *string         `json:"ARN"`
	SecretString  json.RawMessage `json:"SecretString"`
	SecretBinary  *string         `json:"SecretBinary"`
	VersionID     *string         `json:"VersionId"`
	VersionStages []string        `json:"VersionStages"`
}

// readAnswer reads a 200 answer for it: the value, once the answer proves
// to be for it. A binary secret is returned as its raw bytes. Errors say
// what is wrong with the answer, never what it holds.
func readAnswer(it Item, body []byte) (string, error) {
	if err := checkJSON(body); err != nil {
		return "", err
	}
	switch it.Kind {
	case KindParameter:
		return readParameter(it, body)
	case KindSecret:
		return readSecret(it, body)
	}
	return "", malformed(http.StatusOK, "an answer for an unknown kind of item")
}

// checkJSON refuses what encoding/json would read without a word: text
// that is not UTF-8 (it would become U+FFFD), and an object with one key
// twice, or in two cases ("SecretString" and "SECRETSTRING": the last
// would win).
func checkJSON(body []byte) error {
	if !utf8.Valid(body) {
		return malformed(http.StatusOK, "the answer is not valid UTF-8 (a SecretString must be text: store bytes as SecretBinary)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys keyWalker
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return malformed(http.StatusOK, jsonProblem(err))
		}
		if keys.step(tok) {
			return malformed(http.StatusOK, "an object in the answer holds one key twice, perhaps in two cases")
		}
	}
}

// keyWalker follows a stream of JSON tokens and tells the keys of each
// object from its values.
type keyWalker struct {
	stack []*jsonLevel
}

type jsonLevel struct {
	object  bool
	wantKey bool
	keys    map[string]bool
}

// step takes the next token, and reports a key its object already holds.
func (w *keyWalker) step(tok json.Token) (dup bool) {
	d, isDelim := tok.(json.Delim)
	if isDelim && (d == '}' || d == ']') {
		w.stack = w.stack[:len(w.stack)-1]
		w.valueDone()
		return false
	}
	if top := w.top(); top != nil && top.wantKey {
		k := strings.ToLower(strings.ToUpper(tok.(string))) // as encoding/json folds keys
		dup, top.keys[k], top.wantKey = top.keys[k], true, false
		return dup
	}
	if isDelim { // '{' or '[': a value that opens a level
		w.stack = append(w.stack, &jsonLevel{object: d == '{', wantKey: d == '{', keys: map[string]bool{}})
		return false
	}
	w.valueDone()
	return false
}

func (w *keyWalker) top() *jsonLevel {
	if len(w.stack) == 0 {
		return nil
	}
	return w.stack[len(w.stack)-1]
}

// valueDone notes that a value ended: an object wants its next key.
func (w *keyWalker) valueDone() {
	if top := w.top(); top != nil && top.object {
		top.wantKey = true
	}
}

func readParameter(it Item, body []byte) (string, error) {
	var p parameterBody
	if err := json.Unmarshal(body, &p); err != nil {
		return "", malformed(http.StatusOK, jsonProblem(err))
	}
	if p.Parameter == nil {
		return "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	if !answersParameter(it.Name, p.Parameter.Name, p.Parameter.ARN) {
		return "", mismatch(it, "parameter")
	}
	if want := pinnedVersion(it); want != 0 && p.Parameter.Version != nil && *p.Parameter.Version != want {
		return "", mismatch(it, "version of the parameter")
	}
	v, err := text(p.Parameter.Value)
	switch {
	case err != nil:
		return "", err
	case v == nil && p.Parameter.SourceResult != nil && strings.HasPrefix(it.Name, referencePrefix):
		return referencedBinary(it, *p.Parameter.SourceResult)
	case v == nil:
		return "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	return *v, nil
}

// pinnedVersion is the version number a parameter is pinned to: by
// ParameterVersion, or by the name's own :version selector (a label
// cannot begin with a digit, so a number is a version); 0 when none is.
func pinnedVersion(it Item) int64 {
	if it.Version != 0 || !hasSelector(it.Name) {
		return it.Version
	}
	n, err := strconv.ParseInt(it.Name[strings.LastIndexByte(it.Name, ':')+1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func readSecret(it Item, body []byte) (string, error) {
	var s secretBody
	if err := json.Unmarshal(body, &s); err != nil {
		return "", malformed(http.StatusOK, jsonProblem(err))
	}
	if !answersSecret(it.Name, s.Name, s.ARN) {
		return "", mismatch(it, "secret")
	}
	if it.VersionID != "" && s.VersionID != nil && *s.VersionID != it.VersionID ||
		it.VersionStage != "" && s.VersionStages != nil && !slices.Contains(s.VersionStages, it.VersionStage) {
		return "", mismatch(it, "version of the secret")
	}
	str, err := text(s.SecretString)
	switch {
	case err != nil:
		return "", err
	case str != nil:
		return *str, nil
	case s.SecretBinary != nil:
		b, err := base64.StdEncoding.DecodeString(*s.SecretBinary)
		if err != nil {
			return "", malformed(http.StatusOK, "SecretBinary is not base64")
		}
		return string(b), nil
	}
	return "", malformed(http.StatusOK, "the answer has neither SecretString nor SecretBinary")
}

// text reads raw, the JSON of a string value, exactly: nil for null or
// none. A value encoding/json would change is refused: it decodes an
// escaped lone UTF-16 surrogate (\ud800) as U+FFFD without a word.
func text(raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, malformed(http.StatusOK, jsonProblem(err))
	}
	if loneSurrogate(raw) {
		return nil, malformed(http.StatusOK, "the value holds an escaped lone UTF-16 surrogate, which is not text")
	}
	return &v, nil
}

// loneSurrogate reports whether raw, a valid JSON string, escapes one half
// of a UTF-16 surrogate pair without the other.
func loneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++ // the escaped character
		if raw[i] != 'u' {
			continue
		}
		r := codeUnit(raw[i+1 : i+5])
		i += 4
		if !utf16.IsSurrogate(r) {
			continue
		}
		// A high half must be followed at once by an escaped low half.
		if i+6 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' ||
			utf16.DecodeRune(r, codeUnit(raw[i+3:i+7])) == utf8.RuneError {
			return true
		}
		i += 6
	}
	return false
}

// codeUnit is the UTF-16 code unit of the four hex digits of a \u escape.
func codeUnit(hex []byte) rune {
	n, _ := strconv.ParseUint(string(hex), 16, 16) // valid JSON: four hex digits
	return rune(n)
}

// answersParameter reports whether an answer's Name and ARN, each when
// present, name the parameter asked for as asked: by name, by ARN, with a
// :version or :label selector, or as /aws/reference/secretsmanager/<id>,
// whose answer may name the secret by its own name, and carries its ARN.
func answersParameter(asked string, name, arn *string) bool {
	if hasSelector(asked) {
		asked = asked[:strings.LastIndexByte(asked, ':')]
	}
	if id, ok := strings.CutPrefix(asked, referencePrefix); ok {
		return (name == nil || *name == asked || secretNamed(id, *name) || secretNamed(id, strings.TrimPrefix(*name, referencePrefix))) &&
			(arn == nil || secretARNed(id, *arn) || parameterARNed(asked, *arn))
	}
	return (name == nil || parameterNamed(asked, *name)) && (arn == nil || parameterARNed(asked, *arn))
}

// parameterNamed reports whether name can be the Name of the parameter
// asked for: the name asked, or the one the ARN asked names.
func parameterNamed(asked, name string) bool {
	if asked == name {
		return true
	}
	p, ok := parameterResource(asked)
	return ok && p == rooted(name)
}

// parameterARNed reports whether arn can be the ARN of the parameter asked
// for: the ARN asked, or the ARN of the name asked.
func parameterARNed(asked, arn string) bool {
	if asked == arn {
		return true
	}
	p, ok := parameterResource(arn)
	return ok && !strings.HasPrefix(asked, "arn:") && p == rooted(asked)
}

// parameterResource returns the name in a parameter's ARN,
// arn:<partition>:ssm:<region>:<account>:parameter/<name>, rooted.
func parameterResource(arn string) (string, bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "ssm" {
		return "", false
	}
	p, ok := strings.CutPrefix(f[5], "parameter/")
	return "/" + p, ok && p != ""
}

// rooted is a parameter name with one leading '/', as its ARN writes it.
func rooted(name string) string { return "/" + strings.TrimPrefix(name, "/") }

// answersSecret reports whether an answer's Name and ARN, each when
// present, name the secret asked for as asked: by name, by full ARN, or by
// a partial ARN (without the six characters Secrets Manager adds).
func answersSecret(asked string, name, arn *string) bool {
	return (name == nil || secretNamed(asked, *name)) && (arn == nil || secretARNed(asked, *arn))
}

// secretNamed reports whether name can be the Name of the secret asked
// for: the name asked, or the one the ARN asked names, in full or in part.
func secretNamed(asked, name string) bool {
	if asked == name {
		return true
	}
	r, ok := secretResource(asked)
	return ok && (r == name || suffixed(r, name))
}

// secretARNed reports whether arn can be the ARN of the secret asked for:
// the ARN asked, the full ARN of a partial one, or the ARN of the name
// asked.
func secretARNed(asked, arn string) bool {
	if asked == arn || strings.HasPrefix(asked, "arn:") && suffixed(arn, asked) {
		return true
	}
	r, ok := secretResource(arn)
	return ok && !strings.HasPrefix(asked, "arn:") && suffixed(r, asked)
}

// secretResource returns the resource of a secret's ARN,
// arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>.
func secretResource(arn string) (string, bool) {
	f := strings.SplitN(arn, ":", 7)
	if len(f) != 7 || f[0] != "arn" || f[2] != "secretsmanager" || f[5] != "secret" {
		return "", false
	}
	return f[6], true
}

// suffixed reports whether s is prefix, a '-', and the six characters that
// Secrets Manager adds to a secret's name in its ARN.
func suffixed(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"-")
	return ok && len(rest) == 6
}

func mismatch(it Item, what string) error {
	return &SourceError{Class: ClassMalformed, Status: http.StatusOK,
		Err:  fmt.Errorf("the answer is for another %s than the one asked for, and was not served", what),
		Hint: "the endpoint answered for something else: check that the endpoint is the Parameters and Secrets extension or the Secrets Manager Agent (WithEndpoint, MW_ENDPOINT), and nothing in between rewrites requests"}
}

// malformed is a 200 answer, or a header, mw cannot use. Its message says
// what is wrong with the answer, never what it holds.
func malformed(status int, reason string) error {
	return &SourceError{Class: ClassMalformed, Status: status, Err: errors.New(reason),
		Hint: "the answer was not the documented JSON of a parameter or secret: is the endpoint the Parameters and Secrets extension or the Secrets Manager Agent?"}
}

// jsonProblem describes a decoding error without quoting the input: the
// standard library's syntax errors quote the offending character.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "JSON of the wrong shape"
}

// Texts the extension and the agent send as whole error bodies. They are
// quoted in errors; any other body text is not, since it may hold anything.
var knownTexts = []string{
	"an unexpected error occurred while executing request",
	"bad session token or header key",
	"Bad Token",
	"Connection limit exceeded",
}

// statusError classifies a non-200 answer. Only what is known to be safe
// is kept of the body: the AWS error code, or one of knownTexts.
func (x *extension) statusError(it Item, resp *http.Response, body []byte, noToken bool) error {
	e := &SourceError{Status: resp.StatusCode, Code: awsCode(body)}
	text := strings.TrimSpace(string(body))
	if slices.Contains(knownTexts, text) && text != knownTexts[0] { // the generic 400 says nothing more than its class
		e.Err = errors.New(strconv.Quote(text))
	}
	if e.Code == "" && resp.StatusCode == http.StatusUnauthorized {
		e.Code = cleanCode(resp.Header.Get("X-Amzn-Errortype"))
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Class, e.Err = ClassOther, errors.New("the endpoint answered a redirect, which mw does not follow; nothing more was sent")
		e.Hint = "neither the extension nor the agent redirects: check the endpoint (WithEndpoint, MW_ENDPOINT), and that no proxy sits in between"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden && (e.Code == "" || text == "Bad Token"):
		e.Class, e.Hint = ClassBadToken, x.tokenHint(noToken)
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

// tokenHint says what to check about a token the endpoint refused.
func (x *extension) tokenHint(noToken bool) string {
	switch {
	case x.hasToken:
		return "the endpoint refused the token that WithToken sets"
	case x.agent:
		return "the agent refused the token: mw sends the first set of AWS_TOKEN, AWS_SESSION_TOKEN and AWS_CONTAINER_AUTHORIZATION_TOKEN " +
			"(file://path names a file holding it), as the agent reads it: mw and the agent must see the same one"
	case noToken && os.Getenv("AWS_SESSION_TOKEN") == "":
		return "AWS_SESSION_TOKEN is empty in this environment, and the extension requires it as X-Aws-Parameters-Secrets-Token: " +
			"Lambda sets it; outside Lambda, set it to the token the extension was started with"
	}
	return "the extension refused the session token (bad session token or header key): X-Aws-Parameters-Secrets-Token must equal " +
		"the function's AWS_SESSION_TOKEN; a SnapStart snapshot or a process that kept an old token sends a stale one"
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
	if it.Kind == KindParameter && !strings.HasPrefix(it.Name, referencePrefix) {
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

// awsCode returns the AWS error code of an agent-style JSON body, such as
// {"__type":"ResourceNotFoundException","message":"..."}, or "".
func awsCode(body []byte) string {
	var aws struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &aws) != nil || aws.Type == "" {
		return ""
	}
	// AWS JSON protocol codes may carry a namespace prefix:
	// "com.amazonaws.secretsmanager#ResourceNotFoundException".
	return cleanCode(aws.Type[strings.LastIndexByte(aws.Type, '#')+1:])
}

// cleanCode keeps an error code to the characters AWS codes use, and to 64
// bytes, so that a body cannot forge log lines through it.
func cleanCode(code string) string {
	b := make([]byte, 0, min(len(code), 64))
	for i := 0; i < len(code) && len(b) < 64; i++ {
		if c := code[i]; unreserved(c) {
			b = append(b, c)
		}
	}
	return string(b)
}

// classifyCode reads the AWS error codes the agent passes through.
func classifyCode(e *SourceError, x *extension, it Item) {
	switch e.Code {
	case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound":
		e.Class, e.Hint = ClassNotFound, "check the name: no such item (or version) exists in this account and region (wrong name or region?)"
	case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation":
		e.Class, e.Hint = ClassAccessDenied, "allow "+readAction(it)+" on its ARN in the role the "+x.product()+" uses"
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

// queryEscape is url.QueryEscape except that a space becomes %20, which every
// query parser reads the same way.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
