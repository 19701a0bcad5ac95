package cloudexttest_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// curl signs with its own SigV4 implementation (--aws-sigv4, as AWS's
// curl examples call the extensions): the fake accepts its signature, as
// the runtime would, and refuses it made with a wrong secret key. Skipped
// where curl is not installed.
func TestCurlSignature(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	f.PutParameter("/my-app/db-host", cloudexttest.TypeString, "db.internal")
	f.PutSecret("prod/db", "pw")
	key := cloudexttest.ExtensionAccessKeyID + ":" + cloudexttest.ExtensionSecretKey
	run := func(user, service string, args ...string) (string, string) {
		t.Helper()
		var out, stderr bytes.Buffer
		cmd := exec.Command(curl, append([]string{"-sS", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-west-2:" + service, "--user", user}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("curl: %v: %s", err, stderr.String())
		}
		s := out.String()
		i := strings.LastIndexByte(s, '\n')
		return strings.TrimSpace(s[:max(i, 0)]), strings.TrimSpace(s[i+1:])
	}

	// AWS's Parameter Store example, verbatim but for the endpoint.
	body, code := run(key, "ssm", srv.URL+"/parameterstore",
		"-H", "X-Amz-Target: AmazonSSM.GetParameters", "-H", "Content-Type: application/x-amz-json-1.1",
		"-d", `{"Names": ["/my-app/db-host", "/my-app/api-url"]}`)
	var out struct {
		Parameters        []struct{ Name, Value string }
		InvalidParameters []string
	}
	if code != "200" || json.Unmarshal([]byte(body), &out) != nil || len(out.Parameters) != 1 || out.Parameters[0].Value != "db.internal" ||
		len(out.InvalidParameters) != 1 {
		t.Errorf("GetParameters: %s %s", code, body)
	}
	// The Secrets Manager query route, a GET with a query to sign.
	if body, code := run(key, "secretsmanager", srv.URL+"/secretsmanager/get?secretId=prod%2Fdb&versionStage=AWSCURRENT"); code != "200" || !strings.Contains(body, `"SecretString":"pw"`) {
		t.Errorf("GetSecretValue: %s %s", code, body)
	}
	// A wrong secret key, and a signature for the wrong service.
	if _, code := run(cloudexttest.ExtensionAccessKeyID+":wrong-secret-key-00000", "ssm", srv.URL+"/parameterstore",
		"-H", "X-Amz-Target: AmazonSSM.GetParameters", "-H", "Content-Type: application/x-amz-json-1.1", "-d", `{"Names": ["/my-app/db-host"]}`); code != "400" {
		t.Errorf("a wrong key: %s; want 400 AccessDeniedException", code)
	}
	if _, code := run(key, "ssm", srv.URL+"/secretsmanager/get?secretId=prod%2Fdb"); code != "403" {
		t.Errorf("signed for ssm on the Secrets Manager route: %s; want 403", code)
	}
	if st := f.Stats(); st.AuthRefused != 2 {
		t.Errorf("%+v", st)
	}
}
