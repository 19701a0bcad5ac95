package mwtest_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

const (
	roleA = "arn:aws:iam::111111111111:role/reader-a"
	roleB = "arn:aws:iam::222222222222:role/reader-b"
)

// The agent dialect's roleArn: each role reads what was stored for it,
// on both routes, and none of the function's own; a role the fake was given
// nothing for is answered as the agent answers an AssumeRole that failed
// (403 AccessDeniedException); a roleArn of another shape is a 400, after
// the query's other checks.
func TestAgentRoleArn(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Agent)
	ext.PutSecret("shared/db", "own")
	vA := ext.PutRoleSecret(roleA, "shared/db", "as-a")
	ext.PutRoleSecret(roleB, "shared/db", "as-b")
	ext.PutRoleSecret(roleA, "only-a", "a-only")
	role := func(r string) string { return "&roleArn=" + url.QueryEscape(r) }

	for path, want := range map[string]string{
		secretPath("shared/db"):                                "own",
		secretPath("shared/db", role(roleA)):                   "as-a",
		secretPath("shared/db", role(roleB)):                   "as-b",
		"/v1/shared/db?roleArn=" + url.QueryEscape(roleB):      "as-b",
		secretPath("shared/db", role(roleA), "&versionId="+vA): "as-a",
	} {
		if b := decode[secretBody](t, get(t, srv, path, withToken)); b.SecretString == nil || *b.SecretString != want {
			t.Errorf("%s: %v; want %q", path, b.SecretString, want)
		}
	}
	wantStatusBody(t, get(t, srv, secretPath("only-a"), withToken), http.StatusBadRequest,
		`{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret."}`)
	wantStatusBody(t, get(t, srv, secretPath("only-a", role(roleB)), withToken), http.StatusBadRequest,
		`{"__type":"ResourceNotFoundException", "message":"Secrets Manager can't find the specified secret."}`)

	unknown := "arn:aws:iam::333333333333:role/stranger"
	wantStatusBody(t, get(t, srv, secretPath("shared/db", role(unknown)), withToken), http.StatusForbidden,
		`{"__type":"AccessDeniedException", "message":"Failed to create caching client from role: `+unknown+`"}`)
	for _, bad := range []string{"arn:aws:iam::123456789012:user/bob", "arn:aws:iam::12345:role/r", "arn:aws:iam::123456789012:role/", "r"} {
		wantStatusBody(t, get(t, srv, secretPath("shared/db", role(bad)), withToken), http.StatusBadRequest,
			"invalid roleArn format, expected arn:<partition>:iam::<account>:role/<name>")
	}
	wantStatusBody(t, get(t, srv, "/secretsmanager/get?roleArn="+url.QueryEscape("bad"), withToken), http.StatusBadRequest,
		"missing parameter secretId")

	st := ext.Stats()
	if st.WithRole != 6 || st.ByError["AccessDeniedException"] != 1 || st.ByStatus[http.StatusForbidden] != 1 {
		t.Errorf("with a role %d, AccessDeniedException %d, 403 %d; want 6, 1, 1", st.WithRole, st.ByError["AccessDeniedException"], st.ByStatus[http.StatusForbidden])
	}
}

// Role values are stored apart from the function's own, and a role ARN of
// another shape is a mistake of the test.
func TestPutRoleSecretPanicsOnAnotherARN(t *testing.T) {
	ext := mwtest.New(mwtest.Agent)
	defer func() {
		if recover() == nil {
			t.Error("PutRoleSecret of a user's ARN did not panic")
		}
	}()
	ext.PutRoleSecret("arn:aws:iam::123456789012:user/bob", "s", "v")
}

// What the fake was given for a role keeps keys of its own in the per-name
// counters, as the function's own items do, however many other names came
// first: its id, and its ARN.
func TestRoleNamesKeepTheirKeys(t *testing.T) {
	ext, srv := mwtest.Start(t, mwtest.Agent)
	ext.PutRoleSecret(roleA, "partner-key", "theirs")
	for i := range 150 {
		get(t, srv, secretPath("missing-"+strconv.Itoa(i)), withToken)
	}
	role := "&roleArn=" + url.QueryEscape(roleA)
	for _, id := range []string{"partner-key", mwtest.SecretARN("partner-key")} {
		get(t, srv, secretPath(id, role), withToken)
	}
	st := ext.Stats()
	for _, id := range []string{"partner-key", mwtest.SecretARN("partner-key")} {
		if st.ByName[id] != 1 || st.Served[id] != 1 {
			t.Errorf("%s: ByName %d, Served %d; want 1, 1 (a key of its own)", id, st.ByName[id], st.Served[id])
		}
	}
	if st.ByName[mwtest.OtherNames] == 0 {
		t.Error("no name counted under OtherNames: the test did not pass the bound")
	}
}
