package mw_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Roles of two other accounts, whose values differ from the function's own.
const (
	roleA = "arn:aws:iam::111111111111:role/reader-a"
	roleB = "arn:aws:iam::222222222222:role/reader-b"
)

// The same secret read as two roles, through the Secrets Manager Agent,
// and with the function's own role: three fetches, each with its roleArn,
// three values, each cached apart.
func TestAgentReadsAsEachRole(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("shared/db", "own")
	w.ext.PutRoleSecret(roleA, "shared/db", "as-a")
	w.ext.PutRoleSecret(roleB, "shared/db", "as-b")
	h := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(),
		mw.WithSecrets("shared/db"),
		mw.WithSecret("shared/db", mw.RoleARN(roleA), mw.Alias("a")),
		mw.WithSecret("shared/db", mw.RoleARN(roleB), mw.Alias("b")))...)
	keys := []string{"secret:shared/db", "secret:a", "secret:b"}
	for range 2 { // the second invoke is served from the cache
		got, err := h(invokeCtx(t, 5*time.Second), keys)
		if err != nil || got["secret:shared/db"] != "own" || got["secret:a"] != "as-a" || got["secret:b"] != "as-b" {
			t.Fatalf("got %v, %v", got, err)
		}
	}
	if st := w.ext.Stats(); st.Fetches != 3 || st.WithRole != 2 || w.ext.Served("shared/db") != 3 {
		t.Errorf("%d fetches, %d with a role, %d served; want 3, 2, 3", st.Fetches, st.WithRole, w.ext.Served("shared/db"))
	}
}

// A role the agent cannot take on fails the item as access denied, and
// the fix names sts:AssumeRole and the role's trust policy: the agent
// answers 403 when it cannot assume the role, and passes Secrets
// Manager's refusal of the role on as 400.
func TestAgentRoleItCannotTakeOn(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("shared/db", "own")
	h := mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithStartupWindow(0),
		mw.WithSecret("shared/db", mw.RoleARN(roleA)))...)
	_, err := h(invokeCtx(t, 5*time.Second), []string{"secret:shared/db"})
	var fe *mw.FetchError
	if !errors.As(err, &fe) || fe.Class != mw.ClassAccessDenied || fe.Status != 403 || fe.Code != "AccessDeniedException" {
		t.Fatalf("err = %v; want access denied, 403 AccessDeniedException", err)
	}
	for _, want := range []string{"could not take on the role " + roleA, "sts:AssumeRole on it", roleA + "'s trust policy"} {
		if !strings.Contains(fe.Error(), want) {
			t.Errorf("%v\ndoes not say %q", fe, want)
		}
	}
	if strings.Contains(fe.Error(), "own") {
		t.Errorf("the error says a value: %v", fe)
	}
}

// One name declared as two roles without an alias is refused at Wrap, and
// the message says what differs: the role.
func TestOneNameAsTwoRolesNeedsAnAlias(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	err := mustPanic(t, func() {
		mw.Wrap(echo, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecrets("shared/db"), mw.WithSecret("shared/db", mw.RoleARN(roleA)))...)
	})
	want := `secret "shared/db" is declared twice, at different versions (AWSCURRENT and AWSCURRENT as role ` + roleA + `): give one of them an Alias`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("panic %q\nwant it to contain %q", err, want)
	}
}

// A role the agent took on but that may not read the secret: Secrets
// Manager's refusal, passed on as 400, names the action and the role
// whose policy must allow it.
func TestAgentRoleThatMayNotRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("roleArn") != roleA {
			t.Errorf("request %s has no roleArn %s", r.URL, roleA)
		}
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"AccessDeniedException", "message":"User: arn:aws:sts::111111111111:assumed-role/reader-a/x is not authorized to perform: secretsmanager:GetSecretValue"}`)
	}))
	defer srv.Close()
	src := mw.NewExtensionSource(srv.URL, true, "token")
	res := src.Fetch(invokeCtx(t, 5*time.Second), "GET /secretsmanager/get", []mw.Item{{Kind: mw.KindSecret, Name: "shared/db", RoleARN: roleA}})
	var se *mw.SourceError
	if !errors.As(res[0].Err, &se) || se.Class != mw.ClassAccessDenied {
		t.Fatalf("err = %v; want access denied", res[0].Err)
	}
	if want := "allow secretsmanager:GetSecretValue on its ARN in " + roleA + "'s policy"; !strings.Contains(se.Hint, want) {
		t.Errorf("hint %q\ndoes not say %q", se.Hint, want)
	}
}

// The Parameters and Secrets extension takes on no role: a parameter or a
// secret read as one is refused at Wrap, naming the sources that serve
// that kind as a role, and no other: a parameter only through the SDK
// source (the agent reads no parameter, Cloud Extensions takes a role for
// secrets only). No source reads a profile as a role: the AppConfig
// extension's refusal names its own setting and no other source.
func TestRoleRefusalsNameTheSourcesThatServeTheKind(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	for _, c := range []struct {
		opt          mw.Option
		says, sayNot []string
	}{
		{mw.WithSecret("shared/db", mw.RoleARN(roleA)),
			[]string{"as role " + roleA, "cannot take on another", "AWS SDK source", "Secrets Manager Agent", "Cloud Extensions"}, nil},
		{mw.WithParameter("/app/url", mw.RoleARN(roleA)),
			[]string{"as role " + roleA, "cannot take on another", "AWS SDK source"}, []string{"Agent", "Cloud Extensions"}},
		{mw.WithAppConfig("app", "prod", "settings", mw.RoleARN(roleA)),
			[]string{"AWS_APPCONFIG_EXTENSION_ROLE_ARN"}, []string{"Cloud Extensions", "SDK"}},
	} {
		err := mustPanic(t, func() { mw.Wrap(echo, w.opts(c.opt)...) })
		for _, want := range c.says {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("panic %q\ndoes not say %q", err, want)
			}
		}
		for _, not := range c.sayNot {
			if strings.Contains(err.Error(), not) {
				t.Errorf("panic %q\nnames %q, which refuses it too", err, not)
			}
		}
	}
}
