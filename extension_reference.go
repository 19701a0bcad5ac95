package mw

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

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
	id := strings.TrimPrefix(it.Name, referencePrefix)
	if hasSelector(id) {
		id = id[:strings.LastIndexByte(id, ':')]
	}
	var s referencedSecret
	if checkJSON([]byte(src)) != nil || json.Unmarshal([]byte(src), &s) != nil {
		return "", unreadableBinary(id)
	}
	if len(s.SecretBinary) == 0 || string(s.SecretBinary) == "null" {
		return "", malformed(http.StatusOK, "the answer has no Parameter.Value")
	}
	if !answersSecret(id, s.Name, s.ARN) {
		return "", mismatch(it, "secret")
	}
	if it.Label != "" && s.VersionStages != nil && !slices.Contains(s.VersionStages, it.Label) {
		return "", mismatch(it, "version of the secret")
	}
	b, ok := bufferBytes(s.SecretBinary)
	if !ok {
		return "", unreadableBinary(id)
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
func unreadableBinary(id string) error {
	return &SourceError{Class: ClassMalformed, Status: http.StatusOK,
		Err: errors.New("the answer is for a binary secret, whose bytes the extension sent in a form mw does not read (Value is null)"),
		Hint: fmt.Sprintf("declare the secret itself, WithSecrets(%q), and read it with SecretBinary: "+
			"the extension sends a binary secret's bytes as SecretBinary, in base64, when asked for the secret", id)}
}
