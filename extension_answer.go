package mw

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/safejson"
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

// readAnswer reads a 200 answer for it: the value and its type, once the
// answer proves to be for it. A binary secret is returned as its raw
// bytes. Errors say what is wrong with the answer, never what it holds.
func readAnswer(it Item, body []byte) Result {
	v, typ, err := readBody(it, body)
	if err != nil {
		return Result{Err: err}
	}
	return Result{Value: v, Type: typ}
}

func readBody(it Item, body []byte) (value, typ string, err error) {
	if !utf8.Valid(body) {
		return "", "", malformed(http.StatusOK, "the answer is not valid UTF-8 (a SecretString must be text: store bytes as SecretBinary)")
	}
	if problem := safejson.Check(body); problem != "" {
		return "", "", malformed(http.StatusOK, problem)
	}
	switch it.Kind {
	case KindParameter:
		return readParameter(it, body)
	case KindSecret:
		return readSecret(it, body)
	}
	return "", "", malformed(http.StatusOK, "an answer for an unknown kind of item")
}

func readParameter(it Item, body []byte) (value, typ string, err error) {
	var p parameterBody
	if err := json.Unmarshal(body, &p); err != nil {
		return "", "", malformed(http.StatusOK, safejson.Describe(err))
	}
	if p.Parameter == nil {
		return "", "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	if !awsname.AnswersParameter(it.Name, p.Parameter.Name, p.Parameter.ARN) {
		return "", "", mismatch(it, "parameter")
	}
	if want := pinnedVersion(it); want != 0 && p.Parameter.Version != nil && *p.Parameter.Version != want {
		return "", "", mismatch(it, "version of the parameter")
	}
	v, problem := safejson.Text(p.Parameter.Value)
	switch {
	case problem != "":
		return "", "", malformed(http.StatusOK, problem)
	case v == nil && p.Parameter.SourceResult != nil && strings.HasPrefix(it.Name, awsname.ReferencePrefix):
		v, err := referencedBinary(it, *p.Parameter.SourceResult)
		return v, "SecretBinary", err
	case v == nil:
		return "", "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	return *v, p.Parameter.Type, nil
}

// pinnedVersion is the version number a parameter is pinned to: by
// ParameterVersion, or by the name's own :version selector (a label
// cannot begin with a digit, so a number is a version); 0 when none is.
func pinnedVersion(it Item) int64 {
	_, sel, ok := awsname.CutSelector(it.Name)
	if it.Version != 0 || !ok {
		return it.Version
	}
	n, err := strconv.ParseInt(sel, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

func readSecret(it Item, body []byte) (value, typ string, err error) {
	var s secretBody
	if err := json.Unmarshal(body, &s); err != nil {
		return "", "", malformed(http.StatusOK, safejson.Describe(err))
	}
	if !awsname.AnswersSecret(it.Name, s.Name, s.ARN) {
		return "", "", mismatch(it, "secret")
	}
	if it.VersionID != "" && s.VersionID != nil && *s.VersionID != it.VersionID ||
		it.VersionStage != "" && s.VersionStages != nil && !slices.Contains(s.VersionStages, it.VersionStage) {
		return "", "", mismatch(it, "version of the secret")
	}
	str, problem := safejson.Text(s.SecretString)
	switch {
	case problem != "":
		return "", "", malformed(http.StatusOK, problem)
	case str != nil:
		return *str, "SecretString", nil
	case s.SecretBinary != nil:
		b, err := base64.StdEncoding.DecodeString(*s.SecretBinary)
		if err != nil {
			return "", "", malformed(http.StatusOK, "SecretBinary is not base64")
		}
		return string(b), "SecretBinary", nil
	}
	return "", "", malformed(http.StatusOK, "the answer has neither SecretString nor SecretBinary")
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

// A secret read through Parameter Store, as
// /aws/reference/secretsmanager/<id>, comes back from the managed extension
// as a SecureString parameter whose SourceResult is the secret's
// GetSecretValue result, as a JSON string. For a binary secret, Value is
// null and the bytes are only there, serialized by the extension itself
// (Java, with Gson's defaults): Java's field names, and secretBinary the
// java.nio.ByteBuffer that holds the bytes, each a signed Java byte:
//
//	"SourceResult": "{\"ARN\":\"arn:aws:secretsmanager:…:secret:k-yTDWrV\",\"name\":\"k\",
//	  \"versionId\":\"…\",\"secretBinary\":{\"hb\":[97,32,115,…],\"offset\":0,
//	  \"isReadOnly\":false,\"bigEndian\":true,\"nativeByteOrder\":false,\"mark\":-1,
//	  \"position\":0,\"limit\":43,\"capacity\":43,\"address\":16},
//	  \"versionStages\":[\"AWSPREVIOUS\"],\"createdDate\":\"Nov 16, 2022, 8:24:07 AM\"}",
//	"Type": "SecureString", "Value": null
//
// (public captures of the real extension's answers:
// github.com/fedonev/lambda-params-secrets, data/test-responses.json). AWS
// documents none of it. mw reads the bytes as Java lays them out, and
// nothing else: an answer of another form is said to be a binary secret,
// with how to read it.

// referencedSecret is the part of SourceResult mw reads.
type referencedSecret struct {
	ARN           *string         `json:"ARN"`
	Name          *string         `json:"name"`
	VersionStages []string        `json:"versionStages"`
	SecretBinary  json.RawMessage `json:"secretBinary"`
}

// byteBuffer is the part of a java.nio.ByteBuffer that says which bytes
// it holds: those of its backing array hb from offset+position to
// offset+limit.
type byteBuffer struct {
	HB       []int8 `json:"hb"`
	Offset   *int   `json:"offset"`
	Position *int   `json:"position"`
	Limit    *int   `json:"limit"`
	Capacity *int   `json:"capacity"`
}

// referencedBinary reads the bytes of the binary secret that it names
// (/aws/reference/secretsmanager/<id>), from src, the SourceResult of an
// answer whose Value is null.
func referencedBinary(it Item, src string) (string, error) {
	id, _, _ := awsname.CutSelector(strings.TrimPrefix(it.Name, awsname.ReferencePrefix))
	var s referencedSecret
	if !utf8.ValidString(src) || safejson.Check([]byte(src)) != "" || json.Unmarshal([]byte(src), &s) != nil {
		return "", unreadableBinary(awsname.ParameterRequest(it.Name, it.Version, it.Label))
	}
	if len(s.SecretBinary) == 0 || string(s.SecretBinary) == "null" {
		return "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	if !awsname.AnswersSecret(id, s.Name, s.ARN) {
		return "", mismatch(it, "secret")
	}
	if it.Label != "" && s.VersionStages != nil && !slices.Contains(s.VersionStages, it.Label) {
		return "", mismatch(it, "version of the secret")
	}
	b, ok := bufferBytes(s.SecretBinary)
	if !ok {
		return "", unreadableBinary(awsname.ParameterRequest(it.Name, it.Version, it.Label))
	}
	return string(b), nil
}

// bufferBytes reads raw as the extension writes a ByteBuffer, or as the
// Secrets Manager API writes a blob (base64): the bytes, and whether raw
// held them in one of those forms, consistently.
func bufferBytes(raw json.RawMessage) ([]byte, bool) {
	var b64 string
	if json.Unmarshal(raw, &b64) == nil {
		b, err := base64.StdEncoding.DecodeString(b64)
		return b, err == nil
	}
	var buf byteBuffer
	if json.Unmarshal(raw, &buf) != nil || buf.HB == nil || buf.Offset == nil || buf.Position == nil || buf.Limit == nil || buf.Capacity == nil {
		return nil, false
	}
	off, pos, lim, capacity := *buf.Offset, *buf.Position, *buf.Limit, *buf.Capacity
	if off < 0 || pos < 0 || pos > lim || lim > capacity || capacity > len(buf.HB)-off {
		return nil, false
	}
	b := make([]byte, lim-pos)
	for i, v := range buf.HB[off+pos : off+lim] {
		b[i] = byte(v)
	}
	return b, true
}

// unreadableBinary is the error for a binary secret whose bytes came in a
// form mw does not read: it says so, and how to read the secret instead.
func unreadableBinary(ref string) error {
	return &SourceError{Class: ClassMalformed, Status: http.StatusOK,
		Err: errors.New("the answer is for a binary secret, whose bytes the extension sent in a form mw does not read (Value is null)"),
		Hint: awsname.BinaryReferenceFix(ref) + ": the extension sends a binary secret's bytes as SecretBinary, " +
			"in base64, when asked for the secret"}
}
