package safejson

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// canary stands for a value, or a key taken from a value: nothing may
// quote it.
const canary = "CANARY-safejson"

type db struct {
	Credentials struct {
		Port int `json:"port"`
	} `json:"credentials"`
	Hosts map[string]struct {
		Port int `json:"port"`
	} `json:"hosts"`
	Weights  map[string]int `json:"weights"`
	Replicas []struct {
		Port int
	} `json:"replicas"`
	Name string `json:"name"`
}

// problem decodes raw into a T as mw does, and describes the failure.
func problem[T any](t *testing.T, raw string) string {
	t.Helper()
	var v T
	err := json.Unmarshal([]byte(raw), &v)
	if err == nil {
		t.Fatalf("%s decoded", raw)
	}
	return Problem(reflect.TypeFor[T](), raw, err)
}

// Problem says where and what, by the names the type declares: a map's key
// as "*", an element as "[]", never a key or a value of the JSON.
func TestProblemNamesThePathNeverAKeyOrValue(t *testing.T) {
	for raw, want := range map[string]string{
		`{"credentials":{"port":"` + canary + `"}}`:              "at credentials.port, a JSON string where an int is expected",
		`{"hosts":{"` + canary + `":{"port":"` + canary + `"}}}`: "at hosts.*.port, a JSON string where an int is expected",
		`{"replicas":[{"Port":true}]}`:                           "at replicas.[].Port, a JSON bool where an int is expected",
		`{"name":5}`:                                             "at name, a JSON number where a string is expected",
		`{"credentials":"` + canary + `"}`:                       "a JSON string where a struct is expected",
		`{"name":"` + canary:                                     "invalid JSON at byte", // the offset differs under encoding/json v2
		`{"name":` + canary + `}`:                                "invalid JSON at byte",
		"\ufeff{}":                                               "byte order mark",
	} {
		got := problem[db](t, raw)
		if !strings.Contains(got, want) || strings.Contains(got, canary) {
			t.Errorf("%s: %q; want %q", raw, got, want)
		}
	}
	// A map's value whose key encoding/json (v1) leaves out of the path,
	// and v2 puts in: both read the same, quoting no key.
	got := problem[db](t, `{"weights":{"`+canary+`":"heavy"}}`)
	if !strings.Contains(got, "a JSON string where an int is expected") || strings.Contains(got, canary) {
		t.Errorf("weights: %q", got)
	}
	if got := Problem(nil, canary, io.ErrUnexpectedEOF); got != "truncated JSON" {
		t.Errorf("a truncated stream: %q", got)
	}
	if got := Problem(nil, "x", json.Unmarshal([]byte("[1]"), new(string))); strings.Contains(got, "[1]") || !strings.Contains(got, "where a string is expected") {
		t.Errorf("with no type: %q", got)
	}
}

// Check refuses an object that holds one key twice, in any case (the last
// would win, without a word), at any depth; keys of sibling objects, and
// values that equal keys, are no duplicates.
func TestCheckRefusesDuplicateKeys(t *testing.T) {
	for body, dup := range map[string]bool{
		`{"SecretString":"a","SECRETSTRING":"b"}`: true,
		`{"a":1,"a":2}`: true,
		`{"x":{"a":1,"b":{"c":[{"d":1,"d":2}]}}}`:         true,
		`{"a":{"k":1},"b":{"k":1}}`:                       false,
		`[{"k":1},{"k":1}]`:                               false,
		`{"a":"a","b":"a","c":["a","a"]}`:                 false,
		`{"a":{"b":1},"b":2}`:                             false,
		`{"Name":"s","SecretString":"v","VersionId":"1"}`: false,
	} {
		got := Check([]byte(body))
		if dup != (got != "") {
			t.Errorf("Check(%s) = %q; want a duplicate key refused: %v", body, got, dup)
		}
		if dup && !strings.Contains(got, "one key twice") {
			t.Errorf("Check(%s) = %q", body, got)
		}
	}
	if got := Check([]byte(`{"a":` + canary + `}`)); got == "" || strings.Contains(got, canary) {
		t.Errorf("invalid JSON: %q", got)
	}
}

// Text reads a JSON string exactly, and refuses one that encoding/json
// would change without a word: an escaped lone UTF-16 surrogate.
func TestTextRefusesLoneSurrogates(t *testing.T) {
	for raw, want := range map[string]string{
		`"plain"`:                 "plain",
		`"\ud83d\ude00"`:          "\U0001F600",
		`"\\ud800"`:               `\ud800`, // an escaped backslash, then text
		`"a\ufffdb"`:              "a\uFFFDb",
		`"\u00e9\ud83d\ude00\n"`:  "é\U0001F600\n",
		`"\\\ud83d\ude00\\u0041"`: "\\\U0001F600\\u0041",
	} {
		v, bad := Text(json.RawMessage(raw))
		if bad != "" || v == nil || *v != want {
			t.Errorf("Text(%s) = %v, %q; want %q", raw, v, bad, want)
		}
	}
	for _, raw := range []string{`"\ud800"`, `"\udc00"`, `"x\ud800\u0041"`, `"\ud800\ud800"`, `"\udbff"`, `"\ude00\ud83d"`, `"` + canary + `\ud800"`} {
		v, bad := Text(json.RawMessage(raw))
		if v != nil || !strings.Contains(bad, "lone UTF-16 surrogate") || strings.Contains(bad, canary) {
			t.Errorf("Text(%s) = %v, %q; want it refused", raw, v, bad)
		}
	}
	for _, raw := range []string{"", "null"} {
		if v, bad := Text(json.RawMessage(raw)); v != nil || bad != "" {
			t.Errorf("Text(%q) = %v, %q; want none", raw, v, bad)
		}
	}
	if v, bad := Text(json.RawMessage(`{"` + canary + `":1}`)); v != nil || bad != "JSON of the wrong shape" {
		t.Errorf("an object: %v, %q", v, bad)
	}
}

// Code reads an AWS error code, without its namespace or suffix, when it
// has the shape of one: a body cannot forge a log line through it, nor
// pass a token the request carried off as a code.
func TestCodeAndCleanCode(t *testing.T) {
	for body, want := range map[string]string{
		`{"__type":"ResourceNotFoundException","message":"` + canary + `"}`: "ResourceNotFoundException",
		`{"__type":"com.amazonaws.secretsmanager#DecryptionFailure"}`:       "DecryptionFailure",
		`{"__type":"Bad\nInjected: 1\r\n"}`:                                 "",
		`{"message":"` + canary + `"}`:                                      "",
		`not JSON ` + canary:                                                "",
		`{"__type":""}`:                                                     "",
	} {
		if got := Code([]byte(body)); got != want {
			t.Errorf("Code(%q) = %q; want %q", body, got, want)
		}
	}
	const token = "IQoJb3JpZ2luX2VjEHYaCXVzLWVhc3QtMSJHMEUCIQ+/AbCdEf=="
	for _, c := range []struct {
		code string
		sent []string
		want string
	}{
		{"UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/", nil, "UnrecognizedClientException"},
		{" ThrottlingException ", nil, "ThrottlingException"},
		{strings.Repeat("A", 64), nil, strings.Repeat("A", 64)},
		{strings.Repeat("A", 65), nil, ""}, // not cut to a prefix
		{"Throttling Exception", nil, ""},  // not stripped to a code
		{"Access-Denied", nil, ""},
		{"accessDenied", nil, ""},
		{"ThrottlingException\x00", nil, ""},
		{token, []string{token}, ""},
		{"IQoJb3JpZ2luX2VjEHYaCXVz", []string{"", token}, ""}, // a run of it
		{"SsrfTokenCanary0123456789", []string{"SsrfTokenCanary0123456789"}, ""},
		{"Secret7", []string{"Secret7"}, ""},             // a token shorter than a run
		{"BadSecret7Exception", []string{"Secret7"}, ""}, // the whole of it, inside
		{"ResourceNotFoundException", []string{"token"}, "ResourceNotFoundException"},
		{"ResourceNotFoundException", []string{token, "ssrf-token"}, "ResourceNotFoundException"},
	} {
		if got := CleanCode(c.code, c.sent...); got != c.want {
			t.Errorf("CleanCode(%q) = %q; want %q", c.code, got, c.want)
		}
	}
}

// Describe says what is wrong with JSON by offset or shape, never quoting
// it.
func TestDescribeQuotesNothing(t *testing.T) {
	for raw, want := range map[string]string{
		`{"a":` + canary + `}`: "invalid JSON at byte ",
		`{"a":"` + canary:      "invalid JSON at byte ",
		`"` + canary + `"`:     "JSON of the wrong shape",
	} {
		var v map[string]int
		if got := Describe(json.Unmarshal([]byte(raw), &v)); !strings.HasPrefix(got, want) || strings.Contains(got, canary) {
			t.Errorf("%s: %q; want %q", raw, got, want)
		}
	}
	if got := Describe(io.ErrUnexpectedEOF); got != "truncated JSON" {
		t.Errorf("a truncated stream: %q", got)
	}
}

// Strict refuses what encoding/json would read otherwise than a person
// does, anywhere in an answer, and says so without quoting it.
func TestStrict(t *testing.T) {
	for body, want := range map[string]string{
		`{"Name":"s","SecretString":"v"}`: "",
		`{"a":{"b":"\ud83d\ude00"}}`:      "",
		`{"Name":"s","NAME":"t"}`:         "one key twice",
		`{"a":{"b":1,"b":2}}`:             "one key twice",
		"{\"a\":\"\xff\"}":                "not valid UTF-8",
		`{"a":["\ud800"]}`:                "lone UTF-16 surrogate",
		`{"a":"\udc00\ud800"}`:            "lone UTF-16 surrogate",
		`{"a":"secret-value`:              "truncated JSON",
		`{"a":"secret-value"} x`:          "invalid JSON",
	} {
		got := Strict([]byte(body))
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("Strict(%q) = %q; want %q", body, got, want)
		}
		if strings.Contains(got, "secret-value") {
			t.Errorf("Strict quoted the answer: %q", got)
		}
	}
}
