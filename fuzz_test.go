package mw

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/loopback"
	"github.com/lambda-mw/mw/internal/safejson"
)

// Fuzz targets for the code that reads what the extension sends back, and
// for the escaping of names in request URLs. Their seeds run as unit tests
// under plain go test; to fuzz one, for example:
//
//	go test -run '^$' -fuzz '^FuzzDecodeValue$' -fuzztime 30s .

// fuzzMarker is the value of every string in the seed bodies: no 6-byte run
// of it may appear in an error.
const fuzzMarker = "CANARYxyz"

// fuzzBodies are the success bodies the managed extension and the agent
// send, with every value replaced by fuzzMarker (or its base64, or its
// bytes).
var fuzzBodies = []struct {
	kind Kind
	body string
}{
	{KindParameter, `{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/CANARYxyz","DataType":"text","LastModifiedDate":"2022-11-16T08:22:40.362Z","Name":"/CANARYxyz","Selector":null,"SourceResult":null,"Type":"String","Value":"CANARYxyz","Version":1},"ResultMetadata":{}}`},
	{KindParameter, `{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/list","DataType":"text","LastModifiedDate":"2022-11-16T08:22:40.362Z","Name":"/list","Selector":":1","SourceResult":null,"Type":"StringList","Value":"CANARYxyz,CANARYxyz,CANARYxyz","Version":1},"ResultMetadata":{}}`},
	{KindParameter, `{"Parameter":{"Name":"/s","Type":"SecureString","Value":"CANARYxyz \"quoted\" \\ \u00e9\n","Version":3}}`},
	{KindSecret, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","CreatedDate":"2022-11-16T08:22:40.499Z","Name":"x","SecretBinary":null,"SecretString":"CANARYxyz","VersionId":"01234567-89ab-cdef-0123-456789abcdef","VersionStages":["AWSCURRENT"],"ResultMetadata":{}}`},
	{KindSecret, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","CreatedDate":"2022-11-16T08:22:40.499Z","Name":"x","SecretBinary":"` + base64.StdEncoding.EncodeToString([]byte(fuzzMarker+"\x00\xff")) + `","SecretString":null,"VersionId":"01234567-89ab-cdef-0123-456789abcdef","VersionStages":["AWSCURRENT"],"ResultMetadata":{}}`},
	// A binary secret read through Parameter Store: Value null, its bytes
	// (CANARYxyz and two bytes past 0x7f) in SourceResult, a Java ByteBuffer.
	{KindParameter, `{"Parameter":{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","DataType":null,"LastModifiedDate":"2022-11-16T08:24:07.032Z","Name":"/aws/reference/secretsmanager/x","Selector":null,"SourceResult":"{\"ARN\":\"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf\",\"name\":\"x\",\"versionId\":\"fdfc9fe2-e172-498e-b306-ad660c887b7a\",\"secretBinary\":{\"hb\":[67,65,78,65,82,89,120,121,122,-128,-1],\"offset\":0,\"isReadOnly\":false,\"bigEndian\":true,\"nativeByteOrder\":false,\"mark\":-1,\"position\":0,\"limit\":11,\"capacity\":11,\"address\":16},\"versionStages\":[\"AWSCURRENT\"],\"createdDate\":\"Nov 16, 2022, 8:24:07 AM\"}","Type":"SecureString","Value":null,"Version":0},"ResultMetadata":{}}`},
	// The agent's shape: no ResultMetadata, CreatedDate in epoch seconds.
	{KindSecret, `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf","Name":"x","VersionId":"01234567-89ab-cdef-0123-456789abcdef","SecretString":"CANARYxyz","VersionStages":["AWSCURRENT","AWSPREVIOUS"],"CreatedDate":"1569534789.046"}`},
}

// fuzzGarbage are malformed bodies that hold fuzzMarker where a value would
// be, of both kinds.
var fuzzGarbage = []string{
	``,
	`null`,
	`[]`,
	`"CANARYxyz"`,
	`CANARYxyz`,
	`{`,
	`{}`,
	`{"SecretString":CANARYxyz}`,
	`{"SecretString":"CANARYxyz"` + "\x01",
	`{"SecretString":"CANARYxyz",}`,
	`{"SecretString":"CANARYxyz"}}`,
	`{"SecretString":"CANARYxyz"} {"SecretString":"CANARYxyz"}`,
	`{"SecretString":["CANARYxyz"]}`,
	`{"SecretString":{"CANARYxyz":"CANARYxyz"}}`,
	`{"SecretString":null,"SecretBinary":"CANARYxyz!"}`,
	`{"SecretString":null,"SecretBinary":"CANARYxyz"}`,
	`{"SecretString":null,"SecretBinary":7}`,
	`{"SecretString":"CANARYxyz","SecretBinary":7}`,
	`{"secretstring":"CANARYxyz"}`,
	`{"SecretString":"CANARYxyz","SecretString":null}`,
	`{"SecretString":"\uDEADCANARYxyz\u00"}`,
	`{"Parameter":"CANARYxyz"}`,
	`{"Parameter":{"Value":CANARYxyz}}`,
	`{"Parameter":{"Value":["CANARYxyz"]}}`,
	`{"Parameter":{"Type":"CANARYxyz"}}`,
	`{"Parameter":{"Type":{"CANARYxyz":1},"Value":"CANARYxyz"}}`,
	`{"Parameter":{"Value":"CANARYxyz"},"Parameter":{"Type":"String"}}`,
	`{"Parameter":{"Value":"CANARYxyz"},"Parameter":null}`,
	`{"Parameter":null}`,
	`{"Parameter":{"Value":null}}`,
	`{"Parameter":{"Value":"CANARYxyz"` + "\xff\xfe",
	"\xef\xbb\xbf" + `{"SecretString":"CANARYxyz"}`,
	strings.Repeat("[", 10001) + `"CANARYxyz"` + strings.Repeat("]", 10001),
	`{"SecretString":"` + strings.Repeat("CANARYxyz", 400) + `"`,
	`an unexpected error occurred while executing request`,
}

func FuzzDecodeValue(f *testing.F) {
	for _, b := range fuzzBodies {
		k := fuzzKindByte(b.kind)
		f.Add(k, []byte(b.body))
		f.Add(k^1, []byte(b.body)) // the other kind's body
		// Truncated: at every 9th byte, and just before the end.
		for n := 0; n < len(b.body); n += 9 {
			f.Add(k, []byte(b.body[:n]))
		}
		f.Add(k, []byte(b.body[:len(b.body)-1]))
	}
	for _, g := range fuzzGarbage {
		f.Add(byte(0), []byte(g))
		f.Add(byte(1), []byte(g))
	}
	allow := fuzzAllowlist()
	f.Fuzz(func(t *testing.T, kind byte, body []byte) {
		k := KindParameter
		if kind&1 == 1 {
			k = KindSecret
		}
		// Ask for the item the body names, so that success bodies pass
		// the check that an answer is for the item asked for.
		it := Item{Kind: k, Name: fuzzAnsweredName(k, body)}
		in := bytes.Clone(body)
		v, _, err := readBody(it, body)
		if !bytes.Equal(in, body) {
			t.Fatal("readAnswer modified its input")
		}
		if err != nil {
			if v != "" {
				t.Fatalf("readAnswer returned a value with its error %v", err)
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				// An error may name the item asked for.
				if leak := fuzzLeak(text, body, allow+"\n"+fuzzDigits(it.Name)); leak != "" {
					t.Fatalf("the error quotes the body (%q): %s", leak, text)
				}
			}
			return
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("readAnswer accepted invalid JSON or UTF-8 and returned %q", v)
		}
		want, ok := fuzzOracle(k, body)
		if !ok {
			t.Fatalf("readAnswer returned %q where encoding/json reads no %s value", v, k)
		}
		if v != want {
			t.Fatalf("readAnswer returned %q; encoding/json reads %q", v, want)
		}
	})
}

// fuzzAnsweredName is the name a body gives its item, or "x".
func fuzzAnsweredName(k Kind, body []byte) string {
	var b struct {
		Name      *string
		Parameter *struct{ Name *string }
	}
	_ = json.Unmarshal(body, &b)
	switch {
	case k == KindParameter && b.Parameter != nil && b.Parameter.Name != nil && *b.Parameter.Name != "":
		return *b.Parameter.Name
	case k == KindSecret && b.Name != nil && *b.Name != "":
		return *b.Name
	}
	return "x"
}

func fuzzKindByte(k Kind) byte {
	if k == KindSecret {
		return 1
	}
	return 0
}

// fuzzOracle is encoding/json's own reading of the value in a success body:
// Parameter.Value, else the bytes of a secret read through Parameter Store
// in its SourceResult; or SecretString, else SecretBinary decoded from
// base64 by encoding/json itself (into a []byte).
func fuzzOracle(k Kind, body []byte) (string, bool) {
	switch k {
	case KindParameter:
		var p struct {
			Parameter *struct {
				Name, Value, SourceResult *string
			}
		}
		if json.Unmarshal(body, &p) != nil || p.Parameter == nil {
			return "", false
		}
		if p.Parameter.Value != nil {
			return *p.Parameter.Value, true
		}
		if p.Parameter.Name == nil || !strings.HasPrefix(*p.Parameter.Name, awsname.ReferencePrefix) || p.Parameter.SourceResult == nil {
			return "", false
		}
		return fuzzSourceResult([]byte(*p.Parameter.SourceResult))
	case KindSecret:
		var s struct{ SecretString *string }
		if json.Unmarshal(body, &s) == nil && s.SecretString != nil {
			return *s.SecretString, true
		}
		var b struct{ SecretBinary []byte }
		if json.Unmarshal(body, &b) == nil && b.SecretBinary != nil {
			return string(b.SecretBinary), true
		}
	}
	return "", false
}

// fuzzSourceResult reads the bytes of a binary secret from a SourceResult:
// its secretBinary's backing array from offset+position to offset+limit, or
// a blob in base64, decoded by encoding/json itself.
func fuzzSourceResult(src []byte) (string, bool) {
	var blob struct{ SecretBinary []byte }
	if json.Unmarshal(src, &blob) == nil && blob.SecretBinary != nil {
		return string(blob.SecretBinary), true
	}
	var buf struct {
		SecretBinary *struct {
			HB                                []int8
			Offset, Position, Limit, Capacity *int
		}
	}
	if json.Unmarshal(src, &buf) != nil || buf.SecretBinary == nil {
		return "", false
	}
	b := buf.SecretBinary
	if b.HB == nil || b.Offset == nil || b.Position == nil || b.Limit == nil || b.Capacity == nil {
		return "", false
	}
	lo, hi := *b.Offset+*b.Position, *b.Offset+*b.Limit
	if *b.Offset < 0 || *b.Position < 0 || lo > hi || *b.Limit > *b.Capacity || *b.Offset+*b.Capacity > len(b.HB) {
		return "", false
	}
	out := make([]byte, 0, hi-lo)
	for _, v := range b.HB[lo:hi] {
		out = append(out, byte(v))
	}
	return string(out), true
}

// fuzzFieldNames are the JSON field names of the documented bodies; an
// error may name them.
var fuzzFieldNames = []string{
	"Parameter", "ARN", "DataType", "LastModifiedDate", "Name", "Selector", "SourceResult",
	"Type", "Value", "Version", "ResultMetadata", "Parameter.Type", "Parameter.Value",
	"CreatedDate", "SecretBinary", "SecretString", "VersionId", "VersionStages",
	"secretBinary", "secretString", "versionId", "versionStages", "createdDate", "hb", "offset", "position", "limit", "capacity",
}

// fuzzAllowlist is the text an error may contain whatever the body: the
// field names, and readAnswer's own messages for bodies that hold no value
// (so the list follows the messages if they change).
func fuzzAllowlist() string {
	var b strings.Builder
	for _, n := range fuzzFieldNames {
		b.WriteString(n + "\n")
	}
	shapes := []string{``, `{`, `{"`, `[`, `x`, `{}`, `null`, `1`, `""`, `[]`, `{"Parameter":{}}`, `{"SecretBinary":"!"}`,
		"{\xff}", `{"a":1,"A":2}`, `{"Name":"other","SecretString":"x"}`, `{"Parameter":{"Name":"other","Value":"x"}}`,
		`{"SecretString":"\ud800"}`}
	for _, field := range []string{"Parameter", "SecretString", "SecretBinary"} {
		for _, v := range []string{`1`, `true`, `""`, `[]`, `{}`, `null`} {
			shapes = append(shapes, `{"`+field+`":`+v+`}`)
		}
	}
	for _, field := range []string{"Type", "Value"} {
		for _, v := range []string{`1`, `true`, `[]`, `{}`, `null`} {
			shapes = append(shapes, `{"Parameter":{"`+field+`":`+v+`}}`)
		}
	}
	for _, s := range shapes {
		for _, k := range []Kind{KindParameter, KindSecret, 0} {
			if _, _, err := readBody(Item{Kind: k, Name: "x"}, []byte(s)); err != nil {
				b.WriteString(err.Error() + "\n")
				fmt.Fprintf(&b, "%+v\n%#v\n", err, err)
			}
		}
	}
	return fuzzDigits(b.String())
}

// fuzzLeak returns a 6-byte run of a string (or bare token) of body that
// text contains and the allowlist does not, or "". Runs of digits count as
// one character: byte offsets in messages are not quotes; nor are the
// pointers %#v prints, which are dropped.
func fuzzLeak(text string, body []byte, allow string) string {
	text = fuzzDigits(fuzzPointer.ReplaceAllString(text, "(pointer)"))
	if bytes.Contains(body, []byte(fuzzMarker[:6])) && strings.Contains(text, fuzzMarker[:6]) {
		return fuzzMarker[:6]
	}
	for _, s := range fuzzStrings(body) {
		s = fuzzDigits(s)
		for i := 0; i+6 <= len(s); i++ {
			w := s[i : i+6]
			if strings.Contains(text, w) && !strings.Contains(allow, w) {
				return w
			}
		}
	}
	return ""
}

// fuzzPointer is a pointer as %#v prints it: (*T)(0xc000123456).
var fuzzPointer = regexp.MustCompile(`\(0x[0-9a-f]+\)`)

// fuzzStrings scans body leniently, as if it were JSON, and returns the raw
// bytes of every string (an unterminated one runs to the end) and every bare
// token between JSON punctuation.
func fuzzStrings(body []byte) []string {
	var out []string
	for i := 0; i < len(body); {
		switch c := body[i]; {
		case c == '"':
			j := i + 1
			for j < len(body) && body[j] != '"' {
				if body[j] == '\\' {
					j++
				}
				j++
			}
			out = append(out, string(body[i+1:min(j, len(body))]))
			i = j + 1
		case strings.IndexByte("{}[],: \t\r\n", c) >= 0:
			i++
		default:
			j := i
			for j < len(body) && strings.IndexByte("{}[],:\" \t\r\n", body[j]) < 0 {
				j++
			}
			out = append(out, string(body[i:j]))
			i = j
		}
	}
	return out
}

// fuzzDigits replaces every run of ASCII digits with one '#'.
func fuzzDigits(s string) string {
	var b strings.Builder
	digit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if '0' <= c && c <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteByte(c)
	}
	return b.String()
}

// fuzzClasses are the declared classes.
var fuzzClasses = []Class{
	ClassRejected, ClassNotFound, ClassAccessDenied, ClassDecrypt, ClassBadToken, ClassThrottled,
	ClassServerError, ClassUnavailable, ClassTimeout, ClassCanceled, ClassMalformed, ClassConfig, ClassPanic, ClassOther,
}

// FuzzClassify: whatever status and body an endpoint sends, in either
// dialect, the answer gets a declared class; permanent AWS codes are never
// retried, 429 and 5xx otherwise are; the managed extension's bare 400 may
// mean "not ready", nothing else does; and the error quotes nothing of the
// body but its AWS code and the texts the extension and the agent are
// known to send.
func FuzzClassify(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		// The agent (its README and sources).
		{400, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`},
		{400, `{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: secretsmanager:GetSecretValue on resource: x"}`},
		{400, `{"__type":"DecryptionFailure","message":"Secrets Manager can't decrypt the protected secret text using the provided KMS key."}`},
		{400, `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`},
		{400, `{"__type":"ValidationException","Message":"Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"}`},
		{429, `{"__type":"ThrottlingException","message":"Rate exceeded"}`},
		{429, `Too Many Requests`},
		{429, `Connection limit exceeded`},
		{500, `{"__type":"InternalFailure"}`},
		{500, `{"__type":"InternalFailure","message":""}`},
		{502, `{"__type":"InternalFailure"}`},
		{504, `{"__type":"TimeoutError"}`},
		{503, `Serving not enabled. Hit the /start_serving endpoint to enable serving requests.`},
		{403, `Bad Token`},
		{401, `bad session token or header key`},
		{405, ``},
		{404, `Not Found`},
		{302, ``},
		{307, `<a href="http://elsewhere/">Temporary Redirect</a>`},
		{400, `X-Forwarded-For header is not allowed`},
		// The managed extension (AWS's documentation, and captures of its answers).
		{400, `an unexpected error occurred while executing request`},
		{500, `an unexpected error occurred while executing request`},
		{429, `an unexpected error occurred while executing request`},
		// Odd ones.
		{400, ``},
		{400, `{}`},
		{400, `{"__type":""}`},
		{400, `{"__type":"#"}`},
		{400, `{"__type":"a#b#AccessDeniedException"}`},
		{400, `{"__type":1}`},
		{400, `{"__type":"ResourceNotFoundException"` /* truncated */},
		{500, `{"__type":"ResourceNotFoundException"}`},
		{429, `{"__type":"KMSDisabledException"}`},
		{200, `{"__type":"ThrottlingException"}`},
		{0, ``},
		{-1, `x`},
		{999, `{"message":"m"}`},
		{400, strings.Repeat("x", 300)},
		{400, `{"__type":"ServiceUnavailable","message":"` + strings.Repeat("m", 300) + `"}`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body), false)
		f.Add(s.status, []byte(s.body), true)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, agent bool) {
		x := newExtension(extensionConfig{agent: agent})
		resp := &http.Response{StatusCode: status, Header: http.Header{}}
		d := x.dialect()
		d.tokenHint = x.tokenHint(false)
		err := statusError(Item{Kind: KindSecret, Name: "x"}, resp, body, d)
		var e *SourceError
		if !errors.As(err, &e) {
			t.Fatalf("statusError returned %T", err)
		}
		if !fuzzDeclared(e.Class) {
			t.Fatalf("class %q is not a declared Class", e.Class)
		}
		switch e.Class {
		case ClassMalformed, ClassTimeout, ClassCanceled, ClassUnavailable, ClassConfig, ClassPanic:
			t.Fatalf("an HTTP answer classified as %s", e.Class)
		}
		permanent := fuzzCheckCode(t, e, body)
		if permanent && e.Retry {
			t.Fatalf("HTTP %d with permanent code %s is retried", status, e.Code)
		}
		if (status == http.StatusTooManyRequests || 500 <= status && status <= 599) && !permanent && !e.Retry {
			t.Fatalf("HTTP %d with code %q (%s) is not retried", status, e.Code, e.Class)
		}
		bare400 := status == http.StatusBadRequest && e.Code == ""
		if e.NotReady != (bare400 && !agent) || e.NotReady && (e.Class != ClassRejected || e.Retry) {
			t.Fatalf("HTTP %d %q (agent %v): %s, NotReady %v, Retry %v; only the managed extension's bare 400 may be not ready, as rejected",
				status, e.Code, agent, e.Class, e.NotReady, e.Retry)
		}
		if (status == http.StatusForbidden || status == http.StatusUnauthorized) && e.Code == "" && (e.Class != ClassBadToken || e.Retry) {
			t.Fatalf("bare %d classified %s, retry %v; want bad_token, no retry", status, e.Class, e.Retry)
		}
		fuzzCheckMessage(t, e, status, body)
	})
}

// fuzzCheckCode checks the AWS code taken from body, and reports whether
// it is one that no retry can mend.
func fuzzCheckCode(t *testing.T, e *SourceError, body []byte) (permanent bool) {
	t.Helper()
	if strings.Contains(e.Code, "#") {
		t.Fatalf("code %q keeps its namespace", e.Code)
	}
	if e.Code == "" {
		return false
	}
	for i := 0; i < len(e.Code); i++ {
		if !loopback.Unreserved(e.Code[i]) {
			t.Fatalf("code %q has a byte outside [A-Za-z0-9._~-]", e.Code)
		}
	}
	var aws struct {
		Type string `json:"__type"`
	}
	if e.Status != http.StatusUnauthorized && (json.Unmarshal(body, &aws) != nil || e.Code != safejson.CleanCode(aws.Type[strings.LastIndexByte(aws.Type, '#')+1:])) {
		t.Fatalf("code %q is not the body's __type, cleaned", e.Code)
	}
	return e.Class == ClassNotFound || e.Class == ClassAccessDenied || e.Class == ClassDecrypt
}

// fuzzCheckMessage checks that the error starts with its status, is one
// short line of UTF-8, and quotes nothing of the body but its code and the
// known texts.
func fuzzCheckMessage(t *testing.T, e *SourceError, status int, body []byte) {
	t.Helper()
	msg := e.Error()
	switch {
	case status > 0 && !strings.HasPrefix(msg, fmt.Sprintf("HTTP %d", status)):
		t.Fatalf("error %q does not start with its status", msg)
	case !utf8.ValidString(msg) || strings.ContainsAny(msg, "\r\n"):
		t.Fatalf("error %q is not one line of UTF-8", msg)
	case len(msg) > 200+len(e.Code):
		t.Fatalf("error is %d bytes (code %d bytes); want at most 200 + the code: %q", len(msg), len(e.Code), msg)
	}
	rest := strings.ReplaceAll(msg, e.Code, "")
	allowed := strings.Join(knownTexts, "\n") + "\nthe endpoint answered a redirect, which mw does not follow; nothing more was sent"
	for _, s := range fuzzStrings(body) {
		for i := 0; i+6 <= len(s); i++ {
			if w := s[i : i+6]; strings.Contains(rest, w) && !strings.Contains(allowed, w) && !strings.Contains(fmt.Sprintf("HTTP %d", status), w) {
				t.Fatalf("error %q quotes %q of the body", msg, w)
			}
		}
	}
}

func fuzzDeclared(c Class) bool {
	for _, d := range fuzzClasses {
		if c == d {
			return true
		}
	}
	return false
}

func FuzzQueryEscape(f *testing.F) {
	for _, s := range []string{
		"", "prod/db", "/app/flags", "team+a=b@c/d", "a b&c?d#e%f", "%41", "+", "~-._",
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf",
		"arn:aws:ssm:us-east-1:123456789012:parameter/app/db:3",
		"/aws/reference/secretsmanager/prod/db", "ünï/código", "\x00\x7f\x80\xff", "a\r\nb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := loopback.QueryEscape(s)
		got, err := url.QueryUnescape(esc)
		if err != nil || got != s {
			t.Fatalf("QueryUnescape(loopback.QueryEscape(%q)) = %q, %v", s, got, err)
		}
		q, err := url.ParseQuery("name=" + esc + "&withDecryption=true")
		if err != nil || len(q) != 2 || q.Get("name") != s {
			t.Fatalf("ParseQuery(name=%s&withDecryption=true) = %v, %v; want name %q", esc, q, err, s)
		}
		for i := 0; i < len(esc); i++ {
			c := esc[i]
			if c == '%' {
				if i+2 >= len(esc) || !fuzzUpperHex(esc[i+1]) || !fuzzUpperHex(esc[i+2]) {
					t.Fatalf("loopback.QueryEscape(%q) = %q: %% at %d is not an escape", s, esc, i)
				}
				i += 2
				continue
			}
			if strings.IndexByte("+=@/ &?#:;,$!*'()[]", c) >= 0 || !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
				t.Fatalf("loopback.QueryEscape(%q) = %q: byte %q at %d is not escaped", s, esc, c, i)
			}
		}
	})
}

func fuzzUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// FuzzParseDeclarations: whatever an operator writes in MW_SECRETS, parsing
// never panics; every item it yields has a name, and an alias only if the
// entry had one, neither holding a space; and an error quotes an entry of
// the input, on one line.
func FuzzParseDeclarations(f *testing.F) {
	for _, s := range []string{
		"", "prod/db", "db=prod/db", " db = prod/db , api-key ", "a,,b", "=x", "x=", "a=b=c",
		"db=arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf,/app/flags:3",
		"my flags", "a\tb", "\n", ",", "ü=ß", `"quoted"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		items, err := parseDeclarations("MW_SECRETS", list, KindSecret)
		for _, it := range items {
			if it.Name == "" || strings.ContainsFunc(it.Name+it.alias, unicode.IsSpace) {
				t.Fatalf("item %+v from %q", it, list)
			}
			if it.alias != "" && !strings.Contains(list, it.alias) {
				t.Fatalf("alias %q not in %q", it.alias, list)
			}
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "mw: MW_SECRETS entry ") || !err.fromEnv {
				t.Fatalf("error %q", msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error spans lines: %q", msg) // entries are quoted with %q
			}
		}
	})
}

// FuzzAnswerIntegrity: an answer is served only for the item it names.
// Whatever the names, asked for by name or by ARN, an answer whose Name or
// ARN, each when present, is another item's is refused (a right Name does
// not excuse a wrong ARN, nor a missing Name one), and one for the item
// asked for is served. A value holding an escaped lone surrogate is
// refused whatever else the answer holds (U+FFFD in a name or in another
// field), and one holding U+FFFD of its own is served.
//
// flags: 1 a secret (else a parameter); 2 asked by ARN; 4 no Name; 8 no
// ARN; 16 the Name is the one asked for; 32 the ARN is the one asked for;
// 64 the value holds \ud800, beside a "\ufffd" elsewhere; 128 the value
// holds \ufffd.
func FuzzAnswerIntegrity(f *testing.F) {
	for _, s := range []struct {
		asked, answered string
	}{
		{"prod/db", "prod/db"}, {"prod/db", "prod/dbb"}, {"prod/db", "prod/db-AbCdEf"}, {"/app/x", "/app/x"},
		{"/app/x", "app/x"}, {"/app/x", "/app/y"}, {"a", "A"}, {"db", "db-"}, {"x", ""}, {"é", "e"},
		{"s\uFFFD", "s\uFFFD"}, {"db", "d\uFFFD"},
	} {
		for flags := range 256 {
			f.Add(s.asked, s.answered, byte(flags))
		}
	}
	f.Fuzz(func(t *testing.T, asked, answered string, flags byte) {
		if asked == "" || answered == "" || strings.Contains(asked+answered, ":") || !utf8.ValidString(asked+answered) {
			return // plain names only: ARNs are built below, selectors are not names
		}
		k, ask := KindParameter, asked
		if flags&1 == 1 {
			k = KindSecret
		}
		if flags&2 == 2 { // ask by ARN
			ask = fuzzARN(k, asked)
		}
		nameOf, arnOf := answered, answered
		if flags&16 != 0 {
			nameOf = asked
		}
		if flags&32 != 0 {
			arnOf = asked
		}
		var fields []string
		if flags&4 == 0 {
			name, _ := json.Marshal(nameOf)
			fields = append(fields, `"Name":`+string(name))
		}
		if flags&8 == 0 {
			arn, _ := json.Marshal(fuzzARN(k, arnOf))
			fields = append(fields, `"ARN":`+string(arn))
		}
		value, want := `"v"`, "v"
		switch {
		case flags&64 != 0:
			value = `"v\ud800"`
			fields = append(fields, `"Note":"\ufffd"`)
		case flags&128 != 0:
			value, want = `"v\ufffd"`, "v\uFFFD"
		}
		body := "{" + strings.Join(append(fields, `"SecretString":`+value), ",") + "}"
		if k == KindParameter {
			body = `{"Parameter":{` + strings.Join(append(fields, `"Type":"String"`, `"Value":`+value), ",") + "}}"
		}
		// same: what may be served for the item asked for.
		same := func(answered string) bool {
			return asked == answered || k == KindParameter && strings.TrimPrefix(asked, "/") == strings.TrimPrefix(answered, "/") ||
				// The full ARN of X is also the partial ARN of a secret named
				// X-AbCdEf, as Secrets Manager warns: it may answer with that one.
				k == KindSecret && flags&2 == 2 && answered == asked+"-AbCdEf"
		}
		named := flags&4 == 0
		arned := flags&8 == 0
		mayServe := (!named || same(nameOf)) && (!arned || same(arnOf)) && flags&64 == 0
		mustServe := (!named || nameOf == asked) && (!arned || arnOf == asked) && flags&64 == 0
		v, _, err := readBody(Item{Kind: k, Name: ask}, []byte(body))
		switch {
		case err == nil && !mayServe:
			t.Fatalf("asked for %s %q, served %s", k, ask, body)
		case err != nil && mustServe:
			t.Fatalf("asked for %s %q, refused its own answer %s: %v", k, ask, body, err)
		case err == nil && v != want:
			t.Fatalf("asked for %s %q, served %q from %s; want %q", k, ask, v, body, want)
		}
	})
}

// fuzzARN is the ARN of the item name in the account and region of the
// fuzz bodies.
func fuzzARN(k Kind, name string) string {
	if k == KindSecret {
		return "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name + "-AbCdEf"
	}
	return "arn:aws:ssm:us-east-1:123456789012:parameter/" + strings.TrimPrefix(name, "/")
}
