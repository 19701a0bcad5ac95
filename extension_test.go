package mw_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of mw's own source for the Parameters and Secrets Lambda
// extension and the Secrets Manager Agent, against mwtest's fake of both:
// the requests (extension.go), the session token, the answers
// (extension_answer.go) and the statuses other than 200
// (extension_status.go).

func TestRequestsFollowTheProtocol(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/a b+c=d@e/f", "SecureString", "plain")
	w.ext.PutSecret("s+1=2@3/4", "sv")
	var mu sync.Mutex
	var seen []*http.Request
	spy := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.ext.ServeHTTP(rw, r)
	})
	w = serveWorld(t, w.ext, spy)
	h := mw.Wrap(echo, w.opts(mw.WithParameters("/a b+c=d@e/f"), mw.WithSecrets("s+1=2@3/4"))...)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("%d requests; want 2", len(seen))
	}
	for _, r := range seen {
		if got := r.Header.Get("X-Aws-Parameters-Secrets-Token"); got != testToken {
			t.Errorf("token header = %q; want AWS_SESSION_TOKEN", got)
		}
		for _, kv := range strings.Split(r.URL.RawQuery, "&") {
			_, raw, _ := strings.Cut(kv, "=")
			if strings.ContainsAny(raw, "+=@/ ") {
				t.Errorf("query value %q is not fully escaped", raw)
			}
		}
		q := r.URL.Query()
		switch r.URL.Path {
		case "/systemsmanager/parameters/get":
			if q.Get("name") != "/a b+c=d@e/f" || q.Get("withDecryption") != "true" {
				t.Errorf("parameter query = %v", q)
			}
		case "/secretsmanager/get":
			if q.Get("secretId") != "s+1=2@3/4" {
				t.Errorf("secret query = %v", q)
			}
		default:
			t.Errorf("unexpected path %s", r.URL.Path)
		}
	}
}

func TestPortAndTokenAreReadFromTheEnvironmentWhenFetching(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	u, _ := url.Parse(w.srv.URL)
	_, port, _ := net.SplitHostPort(u.Host)
	t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "1") // wrong at Wrap time
	t.Setenv("AWS_SESSION_TOKEN", "stale")
	h := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithTTL(0))
	t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port)
	t.Setenv("AWS_SESSION_TOKEN", testToken)
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	// Credentials rotate: the next fetch must send the new token.
	w.ext.SetToken("rotated")
	t.Setenv("AWS_SESSION_TOKEN", "rotated")
	if _, err := h(invokeCtx(t, 5*time.Second), nil); err != nil {
		t.Fatal(err)
	}
	if n := w.ext.Fetches("s"); n != 2 {
		t.Fatalf("%d fetches; want 2 (TTL 0)", n)
	}
}

// The agent has no Parameter Store route: declaring a parameter with it in
// code is a code mistake, refused at Wrap, and the message names the
// source that serves parameters; with MW_AGENT from the environment it is
// the operator's, and every invoke fails saying so, with no request made.
func TestTheAgentServesNoParameters(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutParameter("/app/flags", "String", "on")
	err := mustPanic(t, func() { mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithParameters("/app/flags"))...) })
	if !strings.Contains(err.Error(), "serves secrets only, not parameters") || !strings.Contains(err.Error(), "awssdk") {
		t.Fatalf("panic %v", err)
	}
	t.Setenv("MW_AGENT", "true")
	_, err = mw.Wrap(echo, w.opts(mw.WithParameters("/app/flags"))...)(invokeCtx(t, 5*time.Second), nil)
	if err == nil || !strings.Contains(err.Error(), "serves secrets only, not parameters") || w.ext.Requests() != 0 {
		t.Fatalf("got %v after %d requests", err, w.ext.Requests())
	}
}

func TestSecretsThroughParameterStore(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "old")
	w.ext.PutSecret("prod/db", "new")
	ref := "/aws/reference/secretsmanager/prod/db"
	h := mw.Wrap(echo, w.opts(
		mw.WithParameters(ref),
		mw.WithParameter(ref, mw.Label("AWSPREVIOUS"), mw.Alias("db-previous")), // the label is a version stage
	)...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:" + ref, "parameter:db-previous"})
	if err != nil || got["parameter:"+ref] != "new" || got["parameter:db-previous"] != "old" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// A secret read through Parameter Store by its ARN: the ARN's fields are no
// :selector, whether or not the secret's name holds a '/', and a version
// stage after the ARN is one.
func TestSecretsThroughParameterStoreByARN(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	for _, name := range []string{"db", "prod/db"} {
		w.ext.PutSecret(name, "old "+name)
		w.ext.PutSecret(name, "new "+name)
	}
	byName := "/aws/reference/secretsmanager/" + mwtest.SecretARN("db")
	byPath := "/aws/reference/secretsmanager/" + mwtest.SecretARN("prod/db")
	h := mw.Wrap(echo, w.opts(
		mw.WithParameters(byName, byPath),
		mw.WithParameter(byName, mw.Label("AWSPREVIOUS"), mw.Alias("db-previous")),
	)...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:" + byName, "parameter:" + byPath, "parameter:db-previous"})
	if err != nil || got["parameter:"+byName] != "new db" || got["parameter:"+byPath] != "new prod/db" || got["parameter:db-previous"] != "old db" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// The managed extension takes AWS_SESSION_TOKEN only, even when AWS_TOKEN
// is set (it is the agent's variable).
func TestManagedExtensionIgnoresAgentTokens(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	t.Setenv("AWS_TOKEN", "agent-token")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestAgentTokenFromAFile(t *testing.T) {
	for _, env := range []string{"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		t.Run(env, func(t *testing.T) {
			w := newWorld(t, mwtest.Agent)
			w.ext.PutSecret("s", "v")
			t.Setenv("AWS_SESSION_TOKEN", "") // newWorld set it; only env is set here
			path := filepath.Join(t.TempDir(), "token")
			t.Setenv(env, "file://"+path)
			h := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("s"), mw.WithStartupWindow(0), mw.WithTTL(0))...)

			// Unreadable: a bad_token failure naming the variable, in one attempt.
			_, err := h(invokeCtx(t, 5*time.Second), nil)
			var fe *mw.FetchError
			if !errors.As(err, &fe) || fe.Class != mw.ClassBadToken || fe.Attempts != 1 || !strings.Contains(err.Error(), "the token file that "+env+" names") {
				t.Fatalf("unreadable token file: %v", err)
			}
			// Written, with the newline editors leave: read on each fetch.
			w.ext.SetToken("from-file")
			if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
				t.Fatalf("token file: %v, %v", got, err)
			}
			// Rotated, as EKS rotates it: the next fetch sends the new one.
			w.ext.SetToken("rotated")
			if err := os.WriteFile(path, []byte("rotated"), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil {
				t.Fatalf("rotated token file: %v", err)
			}
		})
	}
}

// The agent's token file is read a few KiB at most, within the deadline:
// a device or a pipe cannot hold the invoke, and nothing is sent.
func TestTheTokenFileIsReadBoundedWithinTheDeadline(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A writer that holds the pipe open and never writes: reading blocks.
	writer, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { writer.Close() })
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("s", "v")
	for _, file := range []string{"/dev/zero", big, fifo, empty} {
		t.Setenv("AWS_TOKEN", "file://"+file)
		start := time.Now()
		_, err := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("s"))...)(invokeCtx(t, 500*time.Millisecond), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassBadToken || !strings.Contains(err.Error(), "AWS_TOKEN") || !strings.Contains(err.Error(), "nothing was sent") {
			t.Errorf("%s: %v", file, err)
		}
		// Not a speed measurement: a bound that proves the deadline (500 ms)
		// ended the read of the pipe, which never ends by itself.
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("%s: took %v", file, el)
		}
	}
	if n := w.ext.Requests(); n != 0 {
		t.Errorf("%d requests sent without a token", n)
	}
}

// A missing token file is said as it is: the file could not be read,
// nothing was sent, and the variable named is the one in use.
func TestAMissingTokenFileIsSaidAsItIs(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	t.Setenv("AWS_TOKEN", "file:///nonexistent/token")
	_, err := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("s"))...)(invokeCtx(t, 5*time.Second), nil)
	msg := err.Error()
	if !strings.Contains(msg, "reading the token file that AWS_TOKEN names") || !strings.Contains(msg, "nothing was sent") ||
		strings.Contains(msg, "rejected the session token") || strings.Contains(msg, "AWS_SESSION_TOKEN") {
		t.Errorf("%v", err)
	}
}

// A token that no header can carry is a token problem, said at once, with
// the variable that holds it, and never quoted.
func TestAnUnsendableTokenIsATokenProblem(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	t.Setenv("AWS_SESSION_TOKEN", canary+"\r\nX-Injected: 1")
	_, err := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)(invokeCtx(t, 5*time.Second), nil)
	fe := asFetchError(t, err)
	if fe.Class != mw.ClassBadToken || fe.Attempts != 1 || !strings.Contains(err.Error(), "AWS_SESSION_TOKEN") ||
		strings.Contains(err.Error(), "layer attached") || strings.Contains(err.Error(), canary) || w.ext.Requests() != 0 {
		t.Errorf("%d requests; %v", w.ext.Requests(), err)
	}
}

func TestDecodesEveryDocumentedShape(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/list", "StringList", "a,b,c")
	w.ext.PutParameter("/plain", "String", "p")
	w.ext.PutParameter("/secure", "SecureString", "s3cr3t")
	w.ext.PutSecret("str", `{"user":"u","password":"p"}`)
	w.ext.PutSecretBinary("bin", []byte{0, 1, 2, 0xff})
	h := mw.Wrap(echo, w.opts(mw.WithParameters("/list", "/plain", "/secure"), mw.WithSecrets("str", "bin"))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:/list", "parameter:/plain", "parameter:/secure", "secret:str", "secret:bin"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"parameter:/list": "a,b,c", "parameter:/plain": "p", "parameter:/secure": "s3cr3t",
		"secret:str": `{"user":"u","password":"p"}`, "secret:bin": "\x00\x01\x02\xff",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q; want %q", k, got[k], v)
		}
	}
}

func TestMalformedAndOversizeBodiesFailClearly(t *testing.T) {
	cases := map[string]string{
		"malformed JSON": `{"SecretString": "abc`,
		"wrong shape":    `{"Parameter":{"Name":"x"}}`,
		"oversize":       `{"SecretString":"` + strings.Repeat("x", mw.MaxBody+10) + `"}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			ext := mwtest.New(mwtest.Managed)
			w := serveWorld(t, ext, http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				_, _ = rw.Write([]byte(body))
			}))
			h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
			_, err := h(invokeCtx(t, 5*time.Second), nil)
			fe := asFetchError(t, err)
			if fe.Class != mw.ClassMalformed || fe.Attempts != 1 || fe.Status != 200 {
				t.Errorf("class %s, %d attempts, HTTP %d; want malformed at once, 200", fe.Class, fe.Attempts, fe.Status)
			}
			if len(err.Error()) > 2000 {
				t.Errorf("error of %d bytes: the body leaked into it", len(err.Error()))
			}
		})
	}
}

// An answer is checked against the question: one for another item, one
// with a key twice, or text that is not UTF-8 is refused, not served.
func TestAnswersAreCheckedAgainstTheQuestion(t *testing.T) {
	for _, c := range []struct {
		name, kind, body, want string
	}{
		{"another secret", "secret", `{"Name":"other","ARN":"arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf","SecretString":"` + canary + `"}`, "another secret"},
		{"another parameter", "parameter", `{"Parameter":{"Name":"/other","Type":"String","Value":"` + canary + `"}}`, "another parameter"},
		{"another version", "parameter", `{"Parameter":{"Name":"/p","Type":"String","Value":"` + canary + `","Version":2}}`, "another version"},
		{"a key twice", "secret", `{"Name":"s","SecretString":"` + canary + `","SECRETSTRING":"x"}`, "one key twice"},
		{"not UTF-8", "secret", "{\"Name\":\"s\",\"SecretString\":\"" + canary + "\xff\"}", "not valid UTF-8"},
		{"a lone surrogate", "secret", `{"Name":"s","SecretString":"` + canary + `\ud800"}`, "surrogate"},
		// Every field that names the item is checked, whichever are there.
		{"another secret, by ARN only", "secret", `{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf","SecretString":"` + canary + `"}`, "another secret"},
		{"the secret's Name, another's ARN", "secret", `{"Name":"s","ARN":"arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf","SecretString":"` + canary + `"}`, "another secret"},
		{"another parameter, by ARN only", "parameter", `{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:1:parameter/other","Type":"String","Value":"` + canary + `","Version":1}}`, "another parameter"},
		{"the parameter's Name, another's ARN", "parameter", `{"Parameter":{"Name":"/p","ARN":"arn:aws:ssm:us-east-1:1:parameter/other","Type":"String","Value":"` + canary + `","Version":1}}`, "another parameter"},
		{"a parameter's Name, a secret's ARN", "parameter", `{"Parameter":{"Name":"/p","ARN":"arn:aws:secretsmanager:us-east-1:1:secret:p-AbCdEf","Type":"String","Value":"` + canary + `","Version":1}}`, "another parameter"},
		// The value itself is checked, whatever the rest of the answer holds.
		{"a lone surrogate, U+FFFD escaped elsewhere", "secret", `{"Name":"s","Note":"\ufffd","SecretString":"` + canary + `\ud800"}`, "surrogate"},
		{"a lone surrogate, U+FFFD elsewhere", "secret", "{\"Name\":\"s\",\"Note\":\"\uFFFD\",\"SecretString\":\"" + canary + `\uDBFF"}`, "surrogate"},
		{"a lone low surrogate", "secret", `{"Name":"s","SecretString":"` + canary + `\udc00\ufffd"}`, "surrogate"},
		{"a high surrogate and no low one", "secret", `{"Name":"s","SecretString":"` + canary + `\ud800\u0041"}`, "surrogate"},
		{"a parameter's lone surrogate", "parameter", `{"Parameter":{"Name":"/p","Type":"String","Value":"` + canary + `\ud800","Note":"\ufffd","Version":1}}`, "surrogate"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, c.body) }))
		opt := mw.WithSecrets("s")
		if c.kind == "parameter" {
			opt = mw.WithParameter("/p", mw.ParameterVersion(1))
		}
		_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), opt)(invokeCtx(t, 5*time.Second), nil)
		srv.Close()
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassMalformed || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), canary) ||
			strings.Contains(err.Error(), "check WithEndpoint and the port") {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// An answer that names the item asked for, by Name, by ARN or by both, is
// served; so is a value that holds U+FFFD of its own, escaped or not, or a
// surrogate pair.
func TestAnswersForTheItemAreServed(t *testing.T) {
	for _, c := range []struct {
		name, kind, body, want string
	}{
		{"a secret by Name and ARN", "secret", `{"Name":"s","ARN":"arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf","SecretString":"v"}`, "v"},
		{"a secret by ARN only", "secret", `{"ARN":"arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf","SecretString":"v"}`, "v"},
		{"a secret by Name only", "secret", `{"Name":"s","SecretString":"v"}`, "v"},
		{"a parameter by Name and ARN", "parameter", `{"Parameter":{"Name":"/p","ARN":"arn:aws:ssm:us-east-1:1:parameter/p","Type":"String","Value":"v","Version":1}}`, "v"},
		{"a parameter by ARN only", "parameter", `{"Parameter":{"ARN":"arn:aws:ssm:us-east-1:1:parameter/p","Type":"String","Value":"v","Version":1}}`, "v"},
		{"U+FFFD escaped", "secret", `{"Name":"s","SecretString":"a\ufffdb\uFFFD"}`, "a\uFFFDb\uFFFD"},
		{"U+FFFD", "secret", "{\"Name\":\"s\",\"SecretString\":\"a\uFFFDb\"}", "a\uFFFDb"},
		{"a surrogate pair", "secret", `{"Name":"s","SecretString":"\ud83d\ude00\\ud800"}`, "\U0001F600\\ud800"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, c.body) }))
		opt, key := mw.WithSecrets("s"), "secret:s"
		if c.kind == "parameter" {
			opt, key = mw.WithParameter("/p", mw.ParameterVersion(1)), "parameter:/p"
		}
		got, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), opt)(invokeCtx(t, 5*time.Second), []string{key})
		srv.Close()
		if err != nil || got[key] != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got[key], err, c.want)
		}
	}
}

// A parameter pinned by Parameter Store's own selector, name:version, is
// checked as one pinned with ParameterVersion is: an answer for another
// version is refused, not served.
func TestAnAnswerForAnotherVersionThanTheSelectorIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"Parameter":{"Name":"/p","Type":"String","Value":"`+canary+`","Version":2,"Selector":":1"}}`)
	}))
	t.Cleanup(srv.Close)
	_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithParameters("/p:1"))(invokeCtx(t, 5*time.Second), nil)
	if err == nil {
		t.Fatal("version 2 was served for /p:1")
	}
	if fe := asFetchError(t, err); fe.Class != mw.ClassMalformed || !strings.Contains(err.Error(), "another version") {
		t.Errorf("%v", err)
	}
}

// A binary secret read through Parameter Store, as
// /aws/reference/secretsmanager/<id>: the extension answers "Value": null,
// and the secret's bytes in SourceResult (mwtest's fake answers as it
// does). mw serves the bytes, of the version the label (a stage) names.
func TestABinarySecretThroughParameterStore(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	previous, current := []byte{0, 1, 0x7f, 0x80, 0xff}, []byte("k\xfe\x00y")
	w.ext.PutSecretBinary("keys/sign", previous)
	w.ext.PutSecretBinary("keys/sign", current)
	ref := "/aws/reference/secretsmanager/keys/sign"
	h := mw.Wrap(echo, w.opts(mw.WithParameters(ref), mw.WithParameter(ref, mw.Label("AWSPREVIOUS"), mw.Alias("previous")))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"parameter:" + ref, "parameter:previous"})
	if err != nil || got["parameter:"+ref] != string(current) || got["parameter:previous"] != string(previous) {
		t.Fatalf("got %q, %v", got, err)
	}
}

// referenceAnswer is the managed extension's answer for
// /aws/reference/secretsmanager/k, a binary secret, whose SourceResult
// holds secretBinary as buffer, a java.nio.ByteBuffer as the extension
// serializes it (the shape of the real layer's answers, as captured in
// public: github.com/fedonev/lambda-params-secrets, data/test-responses.json).
func referenceAnswer(name, buffer string) string {
	src, _ := json.Marshal(`{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:` + name + `-AbCdEf","name":"` + name + `",` +
		`"versionId":"fdfc9fe2-e172-498e-b306-ad660c887b7a","secretBinary":` + buffer + `,"versionStages":["AWSCURRENT"],"createdDate":"Nov 16, 2022, 8:24:07 AM"}`)
	return `{"Parameter":{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:k-AbCdEf","DataType":null,` +
		`"LastModifiedDate":"2022-11-16T08:24:07.032Z","Name":"/aws/reference/secretsmanager/k","Selector":null,` +
		`"SourceResult":` + string(src) + `,"Type":"SecureString","Value":null,"Version":0},"ResultMetadata":{}}`
}

// The buffer is read as Java lays it out: the bytes from its offset and
// position to its limit, each a signed Java byte. One mw cannot read is
// said to be a binary secret, with how to read it, never "is the endpoint
// the extension?"; one that names another secret is not served.
func TestABinarySecretsBufferIsReadAsJavaLaysItOut(t *testing.T) {
	ref := "/aws/reference/secretsmanager/k"
	read := func(body string) (string, error) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
		defer srv.Close()
		got, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithParameters(ref))(invokeCtx(t, 5*time.Second), []string{"parameter:" + ref})
		return got["parameter:"+ref], err
	}
	for name, c := range map[string]struct{ buffer, want string }{
		"the whole array": {`{"hb":[97,-128,-1,0,127],"offset":0,"isReadOnly":false,"bigEndian":true,"nativeByteOrder":false,"mark":-1,"position":0,"limit":5,"capacity":5,"address":16}`, "a\x80\xff\x00\x7f"},
		"a slice of it":   {`{"hb":[9,9,97,98,99,9],"offset":1,"position":1,"limit":4,"capacity":5}`, "abc"},
		"nothing":         {`{"hb":[],"offset":0,"position":0,"limit":0,"capacity":0}`, ""},
		"base64, as the Secrets Manager API writes a blob": {`"YYD/AH8="`, "a\x80\xff\x00\x7f"},
	} {
		if got, err := read(referenceAnswer("k", c.buffer)); err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, c.want)
		}
	}
	for name, buffer := range map[string]string{
		"a byte Java has not":      `{"hb":[97,200],"offset":0,"position":0,"limit":2,"capacity":2}`,
		"a limit past the end":     `{"hb":[97,98],"offset":0,"position":0,"limit":3,"capacity":3}`,
		"an offset past it":        `{"hb":[97,98],"offset":1,"position":0,"limit":2,"capacity":2}`,
		"a position past it":       `{"hb":[97,98],"offset":0,"position":2,"limit":1,"capacity":2}`,
		"a negative offset":        `{"hb":[97,98],"offset":-1,"position":0,"limit":1,"capacity":1}`,
		"no array":                 `{"offset":0,"position":0,"limit":2,"capacity":2}`,
		"no limit":                 `{"hb":[97,98],"offset":0,"position":0,"capacity":2}`,
		"not a buffer":             `[97,98]`,
		"a buffer of another form": `true`,
		"base64 it is not":         `"a!"`,
	} {
		_, err := read(referenceAnswer("k", buffer))
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassMalformed || !strings.Contains(err.Error(), "binary secret") ||
			!strings.Contains(fe.Hint(), `WithSecrets("k")`) || !strings.Contains(fe.Hint(), "SecretBinary") ||
			strings.Contains(err.Error(), "is the endpoint") || strings.Contains(err.Error(), "97") {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := read(referenceAnswer("other", `{"hb":[97],"offset":0,"position":0,"limit":1,"capacity":1}`))
	if fe := asFetchError(t, err); fe.Class != mw.ClassMalformed || !strings.Contains(err.Error(), "another secret") {
		t.Errorf("the SourceResult of another secret: %v", err)
	}
}

func TestAgentErrorCodesFailAtOnce(t *testing.T) {
	cases := []struct {
		setup func(*mwtest.Extension)
		class mw.Class
		code  string
		hint  string
	}{
		{func(*mwtest.Extension) {}, mw.ClassNotFound, "ResourceNotFoundException", "check the name"},
		{func(e *mwtest.Extension) { e.PutSecret("s", "v"); e.Deny("s") }, mw.ClassAccessDenied, "AccessDeniedException", "secretsmanager:GetSecretValue"},
		{func(e *mwtest.Extension) { e.PutSecret("s", "v"); e.DenyDecrypt("s") }, mw.ClassDecrypt, "DecryptionFailure", "kms:Decrypt"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			w := newWorld(t, mwtest.Agent)
			c.setup(w.ext)
			h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
			_, err := h(invokeCtx(t, 5*time.Second), nil)
			fe := asFetchError(t, err)
			if fe.Class != c.class || fe.Code != c.code || fe.Attempts != 1 || fe.Status != 400 {
				t.Errorf("got %s %s after %d attempts, HTTP %d; want %s %s at once, HTTP 400", fe.Class, fe.Code, fe.Attempts, fe.Status, c.class, c.code)
			}
			if !strings.Contains(err.Error(), c.hint) {
				t.Errorf("error %q lacks the hint %q", err, c.hint)
			}
		})
	}
}

func TestBadTokenIsReportedWithItsFix(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("s", "v")
			t.Setenv("AWS_SESSION_TOKEN", "wrong")
			h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"), mw.WithStartupWindow(0))...)
			_, err := h(invokeCtx(t, 5*time.Second), nil)
			fe := asFetchError(t, err)
			// The managed extension answers 401, the agent 403: a token
			// problem in both, said at once.
			if fe.Class != mw.ClassBadToken || fe.Attempts != 1 {
				t.Errorf("class %s after %d attempts; want bad_token at once", fe.Class, fe.Attempts)
			}
			if !strings.Contains(err.Error(), "AWS_SESSION_TOKEN") {
				t.Errorf("error %q does not point at AWS_SESSION_TOKEN", err)
			}
		})
	}
}

// An error body is free text that may hold anything: only the AWS error
// code and the texts the extension and the agent are known to send are
// quoted, in the error and so in the span.
func TestErrorBodiesAreNotQuoted(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"__type":"ResourceNotFoundException","message":"no secret ` + canary + `"}`, "ResourceNotFoundException"},
		{500, canary + " stack trace", "HTTP 500"},
		{429, `{"__type":"ThrottlingException","Message":"` + canary + `"}`, "ThrottlingException"},
		{403, "Bad Token", `"Bad Token"`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			fmt.Fprint(w, c.body)
		}))
		_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithSecretsManagerAgent(), mw.WithSecrets("s"))(invokeCtx(t, 300*time.Millisecond), nil)
		srv.Close()
		if err == nil || strings.Contains(err.Error(), canary) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("HTTP %d %s: %v", c.status, c.body, err)
		}
	}
}

// The managed extension answers a bad or stale token with 401: a token
// problem, not a wrong name; with AWS_SESSION_TOKEN empty, mw says so.
func TestThe401OfTheManagedExtensionIsATokenProblem(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-Errortype", "AccessDeniedException")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "bad session token or header key")
	}))
	t.Cleanup(srv.Close)
	for _, tok := range []string{"stale", ""} {
		t.Setenv("AWS_SESSION_TOKEN", tok)
		_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithSecrets("s"))(invokeCtx(t, 5*time.Second), nil)
		fe := asFetchError(t, err)
		empty := strings.Contains(err.Error(), "AWS_SESSION_TOKEN is empty")
		if fe.Class != mw.ClassBadToken || fe.Attempts != 1 || empty != (tok == "") || strings.Contains(err.Error(), "check the name") {
			t.Errorf("token %q: %v", tok, err)
		}
	}
}

// The agent's own 429 is its connection limit, not AWS throttling.
func TestTheAgentsConnectionLimitIsSaidAsItIs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, "Connection limit exceeded")
	}))
	t.Cleanup(srv.Close)
	_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithSecretsManagerAgent(), mw.WithSecrets("s"))(invokeCtx(t, 300*time.Millisecond), nil)
	if err == nil || !strings.Contains(err.Error(), "max_conn") || strings.Contains(err.Error(), "SECRETS_MANAGER_TTL") {
		t.Errorf("%v", err)
	}
}
