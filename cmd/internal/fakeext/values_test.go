package fakeext

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

// get asks the fake over HTTP, as a function would.
func get(t *testing.T, e *mwtest.Extension, path string, q url.Values) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path+"?"+q.Encode(), nil)
	req.Header.Set(mwtest.TokenHeader, mwtest.DefaultToken)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func secretAt(t *testing.T, e *mwtest.Extension, q url.Values) (value string, stages []string) {
	t.Helper()
	code, body := get(t, e, "/secretsmanager/get", q)
	if code != http.StatusOK {
		t.Fatalf("secret %v: %d %s", q, code, body)
	}
	var out struct {
		SecretString  *string
		SecretBinary  []byte
		VersionStages []string
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if out.SecretString != nil {
		return *out.SecretString, out.VersionStages
	}
	return "bin:" + base64.StdEncoding.EncodeToString(out.SecretBinary), out.VersionStages
}

func paramAt(t *testing.T, e *mwtest.Extension, q url.Values) (value, typ string, version int64) {
	t.Helper()
	q.Set("withDecryption", "true")
	code, body := get(t, e, "/systemsmanager/parameters/get", q)
	if code != http.StatusOK {
		t.Fatalf("parameter %v: %d %s", q, code, body)
	}
	var out struct {
		Parameter struct {
			Value, Type string
			Version     int64
		}
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.Parameter.Value, out.Parameter.Type, out.Parameter.Version
}

func TestExampleValuesFile(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	lines, err := LoadValuesFile("../../mw-extension/testdata/values.json", e)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		for _, v := range []string{"local-pass", "old-pass", "next-pass", "local-db-password", "beta"} {
			if strings.Contains(line, v) {
				t.Errorf("startup line %q shows a value", line)
			}
		}
	}

	if v, typ, n := paramAt(t, e, url.Values{"name": {"/app/flags"}}); v != "beta,dark-mode,new-checkout" || typ != "StringList" || n != 2 {
		t.Errorf("/app/flags latest = %q %s v%d", v, typ, n)
	}
	if v, _, n := paramAt(t, e, url.Values{"name": {"/app/flags"}, "label": {"previous"}}); v != "beta,dark-mode" || n != 1 {
		t.Errorf("/app/flags:previous = %q v%d", v, n)
	}
	if v, typ, _ := paramAt(t, e, url.Values{"name": {"/app/db/password"}}); v != "local-db-password" || typ != "SecureString" {
		t.Errorf("/app/db/password = %q %s", v, typ)
	}
	if code, _ := get(t, e, "/systemsmanager/parameters/get", url.Values{"name": {"/app/forbidden"}}); code != http.StatusBadRequest {
		t.Errorf("denied parameter answered %d, want 400", code)
	}
	if code, _ := get(t, e, "/secretsmanager/get", url.Values{"secretId": {"prod/kms-locked"}}); code != http.StatusBadRequest {
		t.Errorf("decrypt-denied secret answered %d, want 400", code)
	}

	for stage, want := range map[string]string{
		"AWSCURRENT":  `{"username":"app","password":"local-pass"}`,
		"AWSPREVIOUS": `{"username":"app","password":"old-pass"}`,
		"AWSPENDING":  `{"username":"app","password":"next-pass"}`,
	} {
		v, stages := secretAt(t, e, url.Values{"secretId": {"prod/db"}, "versionStage": {stage}})
		if v != want || len(stages) != 1 || stages[0] != stage {
			t.Errorf("prod/db %s = %q %v", stage, v, stages)
		}
	}
	if v, _ := secretAt(t, e, url.Values{"secretId": {"prod/tls-key"}}); v != "bin:AAECAwQF" {
		t.Errorf("prod/tls-key = %q", v)
	}
}

func TestSecretStagesDefault(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	_, err := LoadValues("v.json", []byte(`{"secrets":{"s":{"versions":[{"string":"a"},{"string":"b"}]}}}`), e)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := secretAt(t, e, url.Values{"secretId": {"s"}}); v != "b" {
		t.Errorf("AWSCURRENT = %q, want the last version", v)
	}
	if v, _ := secretAt(t, e, url.Values{"secretId": {"s"}, "versionStage": {"AWSPREVIOUS"}}); v != "a" {
		t.Errorf("AWSPREVIOUS = %q, want the one before", v)
	}
}

func TestValuesErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"syntax", "{\n  \"parameters\": {\n    \"/a\": {\"value\": \"x\",}\n  }\n}", "v.json:3:25: invalid character '}'"},
		{"truncated", "{\n  \"parameters\": {", "v.json:2:18: unexpected end of file"},
		// The path is encoding/json's: Go 1.27 names the map key in it
		// (parameters.~1a.value), Go 1.26 does not (parameters.value).
		{"type mismatch", "{\"parameters\": {\"/a\": {\"value\": 3}}}", "v.json:1:33: parameters.…value: want string, got JSON number"},
		{"unknown field", "{\n \"parameters\": {\"/a\": {\"valeu\": \"x\"}}}", `v.json:2:24: unknown field "valeu"`},
		{"trailing data", "{}\n{}", "v.json:2:1: unexpected data after the top-level object"},
		{"unknown type", `{"parameters": {"/a": {"type": "Strin", "value": "x"}}}`, `v.json: parameters["/a"].type: unknown type "Strin"`},
		{"missing value", `{"parameters": {"/a": {"versions": [{"value": "x"}, {"labels": ["l"]}]}}}`, `v.json: parameters["/a"].versions[1].value: missing`},
		{"value and versions", `{"parameters": {"/a": {"value": "x", "versions": [{"value": "y"}]}}}`, `v.json: parameters["/a"]: give "value"/"labels" or "versions", not both`},
		{"label twice", `{"parameters": {"/a": {"versions": [{"value": "x", "labels": ["prod"]}, {"value": "y", "labels": ["prod"]}]}}}`, `v.json: parameters["/a"].versions[1].labels: label "prod" is already on version 1`},
		{"numeric label", `{"parameters": {"/a": {"value": "x", "labels": ["1st"]}}}`, `label "1st" starts with a digit`},
		{"two AWSCURRENT", `{"secrets": {"s": {"versions": [{"string": "a", "stages": ["AWSCURRENT"]}, {"string": "b", "stages": ["AWSCURRENT"]}]}}}`, `v.json: secrets["s"].versions[1].stages: stage "AWSCURRENT" is already on version 1`},
		{"no AWSCURRENT", `{"secrets": {"s": {"versions": [{"string": "a", "stages": ["AWSPENDING"]}]}}}`, `v.json: secrets["s"]: no version is AWSCURRENT`},
		{"string and binary", `{"secrets": {"s": {"string": "a", "binary": "AA=="}}}`, `v.json: secrets["s"]: give "string" or "binary", not both`},
		{"no value", `{"secrets": {"s": {"stages": ["AWSCURRENT"]}}}`, `v.json: secrets["s"]: want "string" or "binary"`},
		{"bad base64", `{"secrets": {"s": {"binary": "%%%"}}}`, `v.json: secrets["s"].binary: not base64`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mwtest.New(mwtest.Managed)
			_, err := LoadValues("v.json", []byte(tc.file), e)
			if err == nil || !containsInOrder(err.Error(), strings.Split(tc.want, "…")) {
				t.Fatalf("error = %v, want it to contain %q (… standing for any text)", err, tc.want)
			}
			if strings.Contains(err.Error(), `"x"`) || strings.Contains(err.Error(), `"y"`) {
				t.Errorf("error %q shows a value", err)
			}
			if code, _ := get(t, e, "/systemsmanager/parameters/get", url.Values{"name": {"/a"}}); code != http.StatusBadRequest {
				t.Errorf("a bad file stored values: parameter answered %d", code)
			}
		})
	}
}

func TestLineCol(t *testing.T) {
	data := []byte("ab\ncd\n")
	for off, want := range map[int64][2]int{0: {1, 1}, 1: {1, 2}, 3: {2, 1}, 4: {2, 2}, 6: {3, 1}, 99: {3, 1}} {
		if l, c := lineCol(data, off); l != want[0] || c != want[1] {
			t.Errorf("lineCol(%d) = %d:%d, want %d:%d", off, l, c, want[0], want[1])
		}
	}
}

// A rotation in progress: AWSCURRENT stays on the old version, the new one
// is AWSPENDING. AWSPREVIOUS follows AWSCURRENT's moves, as documented.
func TestSecretStagesPending(t *testing.T) {
	e := mwtest.New(mwtest.Managed)
	_, err := LoadValues("v.json", []byte(`{"secrets":{"s":{"versions":[
		{"string":"old","stages":["AWSCURRENT"]},
		{"string":"new","stages":["AWSPENDING"]}]}}}`), e)
	if err != nil {
		t.Fatal(err)
	}
	for stage, want := range map[string]string{"AWSCURRENT": "old", "AWSPENDING": "new", "AWSPREVIOUS": "new"} {
		if v, _ := secretAt(t, e, url.Values{"secretId": {"s"}, "versionStage": {stage}}); v != want {
			t.Errorf("%s = %q, want %q", stage, v, want)
		}
	}
}

// containsInOrder reports whether s contains each of parts, one after the
// other.
func containsInOrder(s string, parts []string) bool {
	for _, p := range parts {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return true
}
