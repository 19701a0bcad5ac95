package cloudext_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/internal/busy"
)

// stock stores one item on each route, valued canary+"v".
func stock(f *cloudexttest.Server) []mw.Item {
	f.PutSecret("app/db", canary+"v")
	f.PutParameter("/app/url", cloudexttest.TypeSecureString, canary+"v")
	f.PutConfiguration("app", "prod", "settings", "application/json", []byte(canary+"v"))
	return []mw.Item{secret("app/db"), param("/app/url"), profile("app", "prod", "settings")}
}

// Every route accepts a request signed as the profile requires, and the
// runtime credentials' session token goes with it (the fake refuses a
// signature without it).
func TestSignedRequestsServed(t *testing.T) {
	for _, mode := range []cloudexttest.AuthMode{cloudexttest.AuthRuntimeCredentials, cloudexttest.AuthExtensionKey, cloudexttest.AuthNone} {
		f, src, _ := start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: mode}})
		for _, it := range stock(f) {
			if r := fetch(t, src, it)[0]; r.Err != nil || r.Value != canary+"v" {
				t.Errorf("mode %d, %v: %q, %v", mode, it, r.Value, r.Err)
			}
		}
		st := f.Stats()
		if st.AuthRefused != 0 || mode != cloudexttest.AuthNone && st.Unsigned != 0 || mode == cloudexttest.AuthNone && st.Unsigned != 3 {
			t.Errorf("mode %d: %+v", mode, st)
		}
	}
}

// authCase is a refused authentication, and the answer of each route in
// its own page's style.
type authCase struct {
	name     string
	settings cloudexttest.Settings
	opts     []cloudext.Option
	sm, ps   want // the Secrets Manager and Parameter Store routes'
	ac       want // the AppConfig route's
}

func TestAuthenticationRefused(t *testing.T) {
	badKey := cloudext.WithExtensionKey(cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, "wrong-secret-key-0123"))
	cases := []authCase{
		{
			name: "unsigned", opts: []cloudext.Option{cloudext.WithoutAuthentication()},
			sm: want{class: mw.ClassBadToken, status: 401, code: "MissingAuthenticationToken", hint: []string{"requires signed requests"}},
			ps: want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"requires signed requests"}},
			ac: want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"requires signed requests"}},
		},
		{
			name: "wrong secret key", settings: cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}}, opts: []cloudext.Option{badKey},
			sm: want{class: mw.ClassBadToken, status: 403, code: "SignatureDoesNotMatch", hint: []string{"secret key", "for Region us-east-1", "cloudext.WithRegion"}},
			ps: want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"secret key"}},
			ac: want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"secret key", "WithAppConfigSigningName"}},
		},
		{
			name: "clock 6s ahead", settings: cloudexttest.Settings{Now: func() time.Time { return time.Now().Add(6 * time.Second) }},
			sm: want{class: mw.ClassBadToken, status: 403, code: "SignatureDoesNotMatch", hint: []string{"5 seconds"}},
			ps: want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"5 seconds"}},
			ac: want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"5 seconds"}},
		},
		{
			name: "IAM credentials where the key is required", settings: cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}},
			opts: []cloudext.Option{cloudext.WithExtensionKey(nil)}, // dropped below: sign with the runtime credentials
			sm:   want{class: mw.ClassBadToken, status: 403, code: "InvalidClientTokenId"},
			ps:   want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"requires its extension key"}},
			ac:   want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"requires its extension key"}},
		},
		{
			name: "an unknown extension key", settings: cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}},
			opts: []cloudext.Option{cloudext.WithExtensionKey(cloudext.ExtensionKey("CXEKAAAAAAAAAAAAAAAA", cloudexttest.ExtensionSecretKey))},
			sm:   want{class: mw.ClassBadToken, status: 403, code: "InvalidClientTokenId", hint: []string{"current key"}},
			ps:   want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"current key"}},
			ac:   want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"current key"}},
		},
		{
			// A profile without a key has no current key to give: the fix
			// may be to sign with the function's credentials instead.
			name: "an extension key where the profile takes runtime credentials", settings: cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthRuntimeCredentials}},
			opts: []cloudext.Option{cloudext.WithExtensionKey(cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey))},
			sm:   want{class: mw.ClassBadToken, status: 403, code: "InvalidClientTokenId", hint: []string{"current key", "runtimeCredentials", "drop cloudext.WithExtensionKey"}},
			ps:   want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"current key", "runtimeCredentials", "drop cloudext.WithExtensionKey"}},
			ac:   want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"current key", "runtimeCredentials", "drop cloudext.WithExtensionKey"}},
		},
		{
			name: "another Region", settings: cloudexttest.Settings{Region: "us-east-1"}, opts: []cloudext.Option{cloudext.WithRegion("eu-west-1")},
			sm: want{class: mw.ClassBadToken, status: 403, code: "SignatureDoesNotMatch", hint: []string{"for Region eu-west-1", "cloudext.WithRegion"}},
			ps: want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException", hint: []string{"for Region eu-west-1", "cloudext.WithRegion"}},
			ac: want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"for Region eu-west-1", "cloudext.WithRegion"}},
		},
		{
			name: "another AppConfig signing name", settings: cloudexttest.Settings{AppConfigSigningName: "appconfigcloudextension"},
			opts: []cloudext.Option{cloudext.WithAppConfigSigningName("appconfig")},
			ac:   want{class: mw.ClassBadToken, status: 403, code: "AccessDeniedException", hint: []string{"WithAppConfigSigningName", "appconfig was used"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, srv := cloudexttest.Start(t, c.settings)
			items := stock(f)
			opts := c.opts
			if c.name == "IAM credentials where the key is required" {
				src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL))
				check(t, src, items, c)
				return
			}
			check(t, f.NewSource(srv.URL, opts...), items, c)
			if f.Stats().AuthRefused == 0 {
				t.Error("the fake refused nothing")
			}
		})
	}
}

func check(t *testing.T, src *cloudext.Source, items []mw.Item, c authCase) {
	t.Helper()
	for i, w := range []want{c.sm, c.ps, c.ac} {
		r := fetch(t, src, items[i])[0]
		if w.class == "" {
			if r.Err != nil {
				t.Errorf("%v: %v", items[i], r.Err)
			}
			continue
		}
		if r.Value != "" {
			t.Errorf("%v: a value", items[i])
		}
		wantFailure(t, items[i].String(), r.Err, w)
	}
}

// Where the documentation is silent the fake can answer every route in
// any page's style: the client reads each the same.
func TestAuthenticationStylesTolerated(t *testing.T) {
	for _, style := range []cloudexttest.AuthStyle{cloudexttest.AuthStyleSecretsManager, cloudexttest.AuthStyleParameterStore, cloudexttest.AuthStyleAppConfig} {
		for _, key := range []string{"Message", "message"} {
			f, srv := cloudexttest.Start(t, cloudexttest.Settings{SecretsManagerAuth: style, ParameterStoreAuth: style, AppConfigAuth: style, RuntimeMessageKey: key})
			src := f.NewSource(srv.URL, cloudext.WithoutAuthentication())
			for _, it := range stock(f) {
				r := fetch(t, src, it)[0]
				se, _ := r.Err.(*mw.SourceError)
				if se == nil || se.Class != mw.ClassBadToken || se.Retry || !strings.Contains(se.Hint, "requires signed requests") {
					t.Errorf("style %d, %s, %v: %v", style, key, it, r.Err)
				}
			}
		}
	}
}

// The SSRF token goes only to the Secrets Manager extension, only when one
// is configured; no route ever gets X-Forwarded-For.
func TestSSRFToken(t *testing.T) {
	f, src, url := start(t, cloudexttest.Settings{SSRFToken: ssrfToken})
	items := stock(f)
	for _, it := range items {
		if r := fetch(t, src, it)[0]; r.Err != nil {
			t.Errorf("%v: %v", it, r.Err)
		}
	}
	if st := f.Stats(); st.SSRFSent != 1 || st.SSRFRefused != 0 || st.ForwardedFor != 0 {
		t.Errorf("with a token: %+v; want the token on the one Secrets Manager request, and no X-Forwarded-For", st)
	}

	wrong := cloudext.New(f.Config(), cloudext.WithEndpoint(url), cloudext.WithSSRFToken("not-"+ssrfToken))
	wantFailure(t, "a wrong token", fetch(t, wrong, items[0])[0].Err,
		want{class: mw.ClassBadToken, status: 403, code: "InvalidSsrfTokenException", hint: []string{"WithSSRFToken"}})
	none := cloudext.New(f.Config(), cloudext.WithEndpoint(url))
	wantFailure(t, "no token", fetch(t, none, items[0])[0].Err,
		want{class: mw.ClassBadToken, status: 403, code: "InvalidSsrfTokenException"})
	header := cloudext.New(f.Config(), cloudext.WithEndpoint(url), cloudext.WithSSRFToken(ssrfToken), cloudext.WithSSRFHeader("X-Other-Token"))
	wantFailure(t, "another header", fetch(t, header, items[0])[0].Err,
		want{class: mw.ClassBadToken, status: 403, code: "InvalidSsrfTokenException"})
	if st := f.Stats(); st.SSRFRefused != 3 || st.ForwardedFor != 0 {
		t.Errorf("%+v", st)
	}

	// Without a configured token, no token header is sent, even with
	// AWS_SESSION_TOKEN set.
	t.Setenv("AWS_SESSION_TOKEN", "cx-session-token-from-env")
	g, src2, _ := start(t, cloudexttest.Settings{})
	for _, it := range stock(g) {
		fetch(t, src2, it)
	}
	if st := g.Stats(); st.SSRFSent != 0 {
		t.Errorf("a token header was sent with no token configured: %+v", st)
	}
}

func TestExtensionKeyFromEnv(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	items := stock(f)
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL),
		cloudext.WithExtensionKey(cloudext.ExtensionKeyFromEnv("CX_TEST_KEY_ID", "CX_TEST_SECRET_KEY")))
	t.Setenv("CX_TEST_KEY_ID", cloudexttest.ExtensionAccessKeyID)
	t.Setenv("CX_TEST_SECRET_KEY", "")
	wantFailure(t, "an unset variable", fetch(t, src, items[0])[0].Err,
		want{class: mw.ClassConfig, hint: []string{"CX_TEST_KEY_ID and CX_TEST_SECRET_KEY"}})
	t.Setenv("CX_TEST_SECRET_KEY", cloudexttest.ExtensionSecretKey+"\n")
	wantFailure(t, "a newline", fetch(t, src, items[0])[0].Err, want{class: mw.ClassConfig, hint: []string{"no spaces"}})
	t.Setenv("CX_TEST_KEY_ID", cloudexttest.RuntimeAccessKeyID)
	t.Setenv("CX_TEST_SECRET_KEY", cloudexttest.ExtensionSecretKey)
	wantFailure(t, "an IAM key", fetch(t, src, items[0])[0].Err, want{class: mw.ClassConfig, hint: []string{"IAM access key"}})
	t.Setenv("CX_TEST_KEY_ID", cloudexttest.ExtensionAccessKeyID)
	for _, it := range items {
		if r := fetch(t, src, it)[0]; r.Err != nil {
			t.Errorf("%v: %v", it, r.Err)
		}
	}
	if n := f.Requests(); n != 3 {
		t.Errorf("%d requests reached the fake; want 3: a key that cannot be one sends nothing", n)
	}
}

// secretsManager stands in for AWS Secrets Manager's GetSecretValue, with
// the secret key of an extension key as the SecretString of one secret.
type secretsManager struct {
	mu    sync.Mutex
	key   string
	calls atomic.Int64
	hold  chan struct{} // non-nil: requests wait for it
	deny  bool
}

func (m *secretsManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.calls.Add(1)
	if m.hold != nil {
		select {
		case <-m.hold:
		case <-r.Context().Done():
			return
		}
	}
	m.mu.Lock()
	key, deny := m.key, m.deny
	m.mu.Unlock()
	var in struct{ SecretId string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue":
		w.WriteHeader(400)
	case deny:
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"AccessDeniedException","message":"not authorized"}`)
	case in.SecretId != "cx/extension-key":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"no such secret"}`)
	default:
		b, _ := json.Marshal(map[string]any{"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:cx/extension-key-abcdef",
			"Name": "cx/extension-key", "SecretString": key, "VersionId": "v1"})
		w.Write(b)
	}
}

func smConfig(f *cloudexttest.Server, url string) aws.Config {
	cfg := f.Config()
	cfg.BaseEndpoint = aws.String(url)
	return cfg
}

// The secret key is read from the secret once for every request that
// needs it, concurrent ones included; a failed read is not kept; a key the
// runtime refuses (rotated) is read again by the next request.
func TestExtensionKeyFromSecret(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	items := stock(f)
	sm := &secretsManager{key: cloudexttest.ExtensionSecretKey, deny: true}
	smSrv := httptest.NewServer(sm)
	t.Cleanup(smSrv.Close)
	key := cloudext.ExtensionKeyFromSecret(smConfig(f, smSrv.URL), cloudexttest.ExtensionAccessKeyID, "cx/extension-key")
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(key))

	wantFailure(t, "denied", fetch(t, src, items[0])[0].Err, want{class: mw.ClassAccessDenied, code: "AccessDeniedException",
		hint: []string{"secretsmanager:GetSecretValue on the secret that holds the extension key"}})
	sm.mu.Lock()
	sm.deny = false
	sm.mu.Unlock()

	busy.Goroutines(t, 0)
	var wg sync.WaitGroup
	for range 8 {
		for _, it := range items {
			wg.Go(func() {
				if r := fetch(t, src, it)[0]; r.Err != nil {
					t.Errorf("%v: %v", it, r.Err)
				}
			})
		}
	}
	wg.Wait()
	if n := sm.calls.Load(); n != 2 {
		t.Errorf("%d reads of the secret; want 2 (the denied one, and one for 24 requests)", n)
	}

	// The profile's key is rotated: the first request is refused with the
	// old key, which makes the next read the new one.
	const rotated = "cloudexttest-rotated-key-2"
	f.SetAuth(cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey, AccessKeyID: cloudexttest.ExtensionAccessKeyID, SecretKey: rotated})
	sm.mu.Lock()
	sm.key = rotated
	sm.mu.Unlock()
	wantFailure(t, "rotated", fetch(t, src, items[1])[0].Err, want{class: mw.ClassBadToken, status: 400, code: "AccessDeniedException"})
	if r := fetch(t, src, items[1])[0]; r.Err != nil {
		t.Errorf("after the rotation: %v", r.Err)
	}
	if n := sm.calls.Load(); n != 3 {
		t.Errorf("%d reads of the secret; want 3", n)
	}
	if s := fmt.Sprintf("%v %+v %#v %s %d", key, key, key, src, src); strings.Contains(s, rotated) || strings.Contains(s, cloudexttest.ExtensionSecretKey) {
		t.Errorf("a key is printed: %s", s)
	}
}

// A read of the key's secret that does not answer is bounded by the
// request's context.
func TestExtensionKeyFromSecretBoundedByContext(t *testing.T) {
	f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey}})
	items := stock(f)
	sm := &secretsManager{key: cloudexttest.ExtensionSecretKey, hold: make(chan struct{})}
	smSrv := httptest.NewServer(sm)
	t.Cleanup(func() { close(sm.hold); smSrv.Close() })
	key := cloudext.ExtensionKeyFromSecret(smConfig(f, smSrv.URL), cloudexttest.ExtensionAccessKeyID, "cx/extension-key")
	src := cloudext.New(f.Config(), cloudext.WithEndpoint(srv.URL), cloudext.WithExtensionKey(key))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range 3 { // one reads, two wait for its turn: all end with ctx
		wg.Go(func() {
			r := src.Fetch(ctx, "GET /secretsmanager/get", items[:1])[0]
			if r.Err == nil || ctx.Err() == nil {
				t.Errorf("Fetch returned %v before its context ended", r.Err)
			}
		})
	}
	wg.Wait()
	if f.Requests() != 0 {
		t.Error("a request reached the runtime without the key")
	}
}

// heldKey is a provider of the user's, which prints its fields as any
// struct does.
type heldKey struct{ creds aws.Credentials }

func (k heldKey) Retrieve(context.Context) (aws.Credentials, error) { return k.creds, nil }

// Neither a Source nor a key provider prints a secret key or a token.
func TestPrintedFormsHoldNoKey(t *testing.T) {
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: cloudexttest.RuntimeAccessKeyID, SecretAccessKey: cloudexttest.RuntimeSecretKey}, nil
	})}
	for _, v := range []any{
		cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey),
		cloudext.New(cfg, cloudext.WithExtensionKey(cloudext.ExtensionKey(cloudexttest.ExtensionAccessKeyID, cloudexttest.ExtensionSecretKey)), cloudext.WithSSRFToken(ssrfToken)),
		cloudext.New(cfg, cloudext.WithSSRFToken(ssrfToken)),
		// A password in the endpoint's URL is masked, as a hint masks it.
		cloudext.New(cfg, cloudext.WithEndpoint("http://user:"+ssrfToken+"@localhost:5333")),
		cloudext.New(cfg, cloudext.WithExtensionKey(heldKey{aws.Credentials{AccessKeyID: cloudexttest.ExtensionAccessKeyID, SecretAccessKey: cloudexttest.ExtensionSecretKey}})),
		cloudexttest.Auth{Mode: cloudexttest.AuthExtensionKey, AccessKeyID: cloudexttest.ExtensionAccessKeyID, SecretKey: cloudexttest.ExtensionSecretKey},
	} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, cloudexttest.ExtensionSecretKey) || strings.Contains(s, ssrfToken) || strings.Contains(s, cloudexttest.RuntimeSecretKey) {
				t.Errorf("%s prints a key or token: %s", verb, s)
			}
		}
	}
}
