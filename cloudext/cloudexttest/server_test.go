package cloudexttest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

func get(t *testing.T, url string, header http.Header) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// The loading window answers PROFILE_LOADING before the authentication is
// checked, EXTENSION_LOADING after it, then serves; an unsigned request
// is refused once the profile is known.
func TestLoadingWindow(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Now: clock})
	f.SetLoadingWindow(time.Second, time.Second)
	url := srv.URL + cloudexttest.RouteSecretsManager + "?secretId=x"
	if resp, body := get(t, url, nil); resp.StatusCode != 503 || resp.Header.Get("X-Amzn-Errortype") != "ServiceUnavailableException" ||
		body["reason"] != "PROFILE_LOADING" || body["Message"] == nil {
		t.Errorf("loading the profile: %d %v", resp.StatusCode, body)
	}
	now = now.Add(1500 * time.Millisecond)
	if resp, _ := get(t, url, nil); resp.StatusCode != 401 {
		t.Errorf("an unsigned request while the extension loads: %d; want 401", resp.StatusCode)
	}
	f.SetAuth(cloudexttest.Auth{Mode: cloudexttest.AuthNone})
	if resp, body := get(t, url, nil); resp.StatusCode != 503 || body["reason"] != "EXTENSION_LOADING" || body["extension"] != "aws:secretsmanager" {
		t.Errorf("loading the extension: %d %v", resp.StatusCode, body)
	}
	now = now.Add(time.Second)
	if resp, _ := get(t, url, nil); resp.StatusCode != 400 {
		t.Errorf("serving, a missing secret: %d; want 400", resp.StatusCode)
	}
	if at, ok := f.ReadyAt(); !ok || !at.Equal(time.Unix(1_800_000_002, 0)) {
		t.Errorf("ReadyAt %v %v", at, ok)
	}
	if st := f.Stats(); st.NotReady != 2 {
		t.Errorf("%+v", st)
	}
}

// X-Forwarded-For is refused on the Secrets Manager route, whatever the
// SSRF token check says; the SSRF token is checked there alone.
func TestForwardedForAndSSRF(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthNone}, SSRFToken: "tok-0123456789abcdef"})
	f.PutSecret("s", "v")
	url := srv.URL + cloudexttest.RouteSecretsManager + "?secretId=s"
	ok := http.Header{"X-Aws-Parameters-Secrets-Token": {"tok-0123456789abcdef"}}
	if resp, _ := get(t, url, ok); resp.StatusCode != 200 {
		t.Errorf("with the token: %d", resp.StatusCode)
	}
	fwd := http.Header{"X-Aws-Parameters-Secrets-Token": {"tok-0123456789abcdef"}, "X-Forwarded-For": {"10.0.0.1"}}
	if resp, _ := get(t, url, fwd); resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "BadRequestException" {
		t.Errorf("X-Forwarded-For: %d", resp.StatusCode)
	}
	if resp, _ := get(t, url, nil); resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "InvalidSsrfTokenException" {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	if st := f.Stats(); st.ForwardedFor != 1 || st.SSRFRefused != 1 {
		t.Errorf("%+v", st)
	}
}

func post(t *testing.T, url, target, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// A secret read through Parameter Store answers as AWS documents it: a
// SecureString whose Name is the reference and ARN the secret's, the
// stage asked for as Selector; only decrypted; a missing secret or stage
// fails the request with ParameterNotFound.
func TestParameterStoreReadsSecretsByReference(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthNone}})
	f.PutSecret("prod/db", "v1")
	f.PutSecret("prod/db", "v2")
	url := srv.URL + cloudexttest.RouteParameterStore
	const ref = "/aws/reference/secretsmanager/prod/db"
	resp, out := post(t, url, "AmazonSSM.GetParameters", `{"Names":["`+ref+`","`+ref+`:AWSPREVIOUS"],"WithDecryption":true}`)
	ps, _ := out["Parameters"].([]any)
	if resp.StatusCode != 200 || len(ps) != 2 {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
	for i, want := range []map[string]any{{"Value": "v2"}, {"Value": "v1", "Selector": ":AWSPREVIOUS"}} {
		p, _ := ps[i].(map[string]any)
		arn, _ := p["ARN"].(string)
		if p["Name"] != ref || p["Type"] != "SecureString" || p["Version"] != 0.0 || p["Value"] != want["Value"] || p["Selector"] != want["Selector"] ||
			!strings.HasPrefix(arn, "arn:aws:secretsmanager:") || !strings.Contains(arn, ":secret:prod/db-") || p["SourceResult"] == nil {
			t.Errorf("entry %d: %v", i, p)
		}
	}
	byARN := "/aws/reference/secretsmanager/" + ps[0].(map[string]any)["ARN"].(string)
	if resp, out := post(t, url, "AmazonSSM.GetParameter", `{"Name":"`+byARN+`:AWSCURRENT","WithDecryption":true}`); resp.StatusCode != 200 ||
		out["Parameter"].(map[string]any)["Value"] != "v2" {
		t.Errorf("by ARN, stage AWSCURRENT: %d %v", resp.StatusCode, out)
	}
	for name, body := range map[string]string{
		"a missing secret": `{"Names":["/app/x","/aws/reference/secretsmanager/nope"],"WithDecryption":true}`,
		"a missing stage":  `{"Names":["` + ref + `:AWSPENDING"],"WithDecryption":true}`,
	} {
		if resp, _ := post(t, url, "AmazonSSM.GetParameters", body); resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "ParameterNotFound" {
			t.Errorf("%s: %d %s; want 400 ParameterNotFound", name, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	}
	for name, body := range map[string]string{
		"not decrypted":    `{"Names":["` + ref + `"]}`,
		"a version number": `{"Names":["` + ref + `:2"],"WithDecryption":true}`,
	} {
		if resp, _ := post(t, url, "AmazonSSM.GetParameters", body); resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "ValidationException" {
			t.Errorf("%s: %d %s; want 400 ValidationException", name, resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	}
}
