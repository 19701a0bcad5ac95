package mw_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of declarations (declare.go): what makes an item one item,
// and the mistakes in code that Wrap refuses, naming the fix.

func TestDeclarationMistakesInCodePanicAtWrap(t *testing.T) {
	arn := mwtest.SecretARN("prod/db")
	for _, tc := range []struct {
		name string
		opts []mw.Option
		want string
	}{
		{"same alias for two secrets", []mw.Option{mw.WithSecret(arn, mw.Alias("db")), mw.WithSecret("other", mw.Alias("db"))},
			`secret alias "db" is declared twice: for "` + arn + `" and for "other"`},
		{"same alias for two versions", []mw.Option{mw.WithSecret("s", mw.Alias("db")), mw.WithSecret("s", mw.Alias("db"), mw.VersionStage("AWSPREVIOUS"))},
			`secret alias "db" is declared twice`},
		{"one name at two versions", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.VersionStage("AWSPREVIOUS"))},
			`secret "s" is declared twice, at different versions (AWSCURRENT and stage AWSPREVIOUS): give one of them an Alias`},
		{"one parameter at two versions", []mw.Option{mw.WithParameter("/p", mw.ParameterVersion(1)), mw.WithParameter("/p", mw.Label("live"))},
			`(version 1 and label live)`},
		{"different options", []mw.Option{mw.WithSecrets("s"), mw.WithSecret("s", mw.Optional())}, `secret "s" is declared twice, with different options`},
		{"same item under two refs, different options", []mw.Option{mw.WithSecret("s", mw.Alias("a")), mw.WithSecret("s", mw.Alias("b"), mw.TTL(time.Second))},
			`are the same secret, declared with different options`},
		{"empty name", []mw.Option{mw.WithSecrets("")}, "an empty secret name"},
		{"empty name with alias", []mw.Option{mw.WithParameter("", mw.Alias("p"))}, `parameter alias "p" is declared with an empty name`},
		{"version and label", []mw.Option{mw.WithParameter("/p", mw.ParameterVersion(2), mw.Label("x"))}, "ParameterVersion and Label are exclusive"},
		{"bad endpoint", []mw.Option{mw.WithEndpoint("localhost:2773")}, `WithEndpoint("localhost:2773")`},
		{"role that is not a role ARN", []mw.Option{mw.WithSecret("s", mw.RoleARN("arn:aws:iam::123456789012:user/bob"))},
			`RoleARN("arn:aws:iam::123456789012:user/bob") is not the ARN of an IAM role`},
		{"role through the managed extension", []mw.Option{mw.WithSecret("s", mw.RoleARN("arn:aws:iam::123456789012:role/reader"))},
			`the Parameters and Secrets extension reads with the function's own role and cannot take on another`},
		{"role through the AppConfig extension", []mw.Option{mw.WithAppConfig("a", "e", "p", mw.RoleARN("arn:aws:iam::123456789012:role/reader"))},
			`AWS_APPCONFIG_EXTENSION_ROLE_ARN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustPanic(t, func() { mw.Wrap(echo, tc.opts...) })
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("panic %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestTheSameDeclarationTwiceIsOneItem(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s", "s"), mw.WithSecret("s"), mw.WithSecret("s", mw.Alias("a")), mw.WithSecret("s", mw.Alias("a")))...)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s", "secret:a"})
	if err != nil || got["secret:s"] != "v" || got["secret:a"] != "v" {
		t.Fatalf("got %v, %v", got, err)
	}
	if n := w.ext.Fetches("s"); n != 1 {
		t.Errorf("%d fetches, want 1: one thing under two names is fetched once", n)
	}
}

// Every option that changes what is fetched is part of the item's identity:
// two versions of one secret are two cache entries, never one (the bug
// Powertools for TypeScript shipped).
func TestVersionsAreCachedApart(t *testing.T) {
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent} {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			v1 := w.ext.PutSecret("prod/db", "old-pw")
			w.ext.PutSecret("prod/db", "new-pw") // v2 is AWSCURRENT, v1 AWSPREVIOUS
			h := mw.Wrap(echo, w.opts(
				mw.WithSecrets("prod/db"),
				mw.WithSecret("prod/db", mw.VersionStage("AWSPREVIOUS"), mw.Alias("db-previous")),
				mw.WithSecret("prod/db", mw.VersionID(v1), mw.Alias("db-v1")),
			)...)
			keys := []string{"secret:prod/db", "secret:db-previous", "secret:db-v1"}
			for i := range 3 { // cold, then warm from the cache
				got, err := h(invokeCtx(t, 5*time.Second), keys)
				if err != nil {
					t.Fatal(err)
				}
				if got["secret:prod/db"] != "new-pw" || got["secret:db-previous"] != "old-pw" || got["secret:db-v1"] != "old-pw" {
					t.Fatalf("invoke %d: got %v", i, got)
				}
			}
			if n := w.ext.Fetches("prod/db"); n != 3 {
				t.Errorf("%d fetches, want 3: one per version, then none", n)
			}
		})
	}
}

// What an ARN or a name reveals is a mistake in code: Wrap panics, naming
// the option that fits.
func TestNamesThatRevealAMistakePanicAtWrap(t *testing.T) {
	for _, c := range []struct {
		opt  mw.Option
		want string
	}{
		{mw.WithSecrets("arn:aws:ssm:us-east-1:123456789012:parameter/x"), "declare it with WithParameters"},
		{mw.WithParameters("arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf"), "declare it with WithSecrets, or read it through Parameter Store as /aws/reference/secretsmanager/"},
		{mw.WithSecrets("arn:aws:s3:::bucket"), "an ARN of s3"},
		{mw.WithParameters("arn:aws:kms:us-east-1:123456789012:key/x"), "an ARN of kms"},
		{mw.WithSecrets("/aws/reference/secretsmanager/prod/db"), `declare the secret id "prod/db" with WithSecrets`},
		{mw.WithParameters("/app/prod/"), "WithParametersByPath"},
		{mw.WithParameter("/app/x:3", mw.ParameterVersion(4)), "already selects a version"},
		{mw.WithParametersByPath("app/prod"), "a path begins with '/'"},
		{mw.WithParameter("/aws/reference/secretsmanager/prod/db", mw.ParameterVersion(2)), "pinned by its version stage, given with Label"},
	} {
		if err := mustPanic(t, func() { mw.Wrap(echo, c.opt) }); !strings.Contains(err.Error(), c.want) {
			t.Errorf("panic %q; want %q", err, c.want)
		}
	}
	// From the environment, the same mistake fails every invoke instead.
	t.Setenv("MW_SECRETS", "arn:aws:ssm:us-east-1:123456789012:parameter/x")
	if _, err := mw.Wrap(echo)(invokeCtx(t, time.Second), nil); err == nil || !strings.Contains(err.Error(), "MW_SECRETS entry 1 of 1") {
		t.Errorf("%v", err)
	}
}

// Profiles are read by profile name: the same name in two applications
// needs an Alias; a profile needs an application and an environment; an
// endpoint off loopback is refused unless allowed.
func TestAppConfigDeclarations(t *testing.T) {
	err := mustPanic(t, func() {
		mw.Wrap(echo, mw.WithAppConfig("a", "prod", "flags"), mw.WithAppConfig("b", "prod", "flags"))
	})
	if !strings.Contains(err.Error(), `appconfig "flags" is declared twice`) || !strings.Contains(err.Error(), "Alias") {
		t.Errorf("same profile name twice: %v", err)
	}
	mw.Wrap(echo, mw.WithAppConfig("a", "prod", "flags", mw.Alias("a-flags")), mw.WithAppConfig("b", "prod", "flags", mw.Alias("b-flags")))
	for _, decl := range []mw.Option{mw.WithAppConfig("", "prod", "p"), mw.WithAppConfig("a", "", "p"), mw.WithAppConfig("a", "prod", "")} {
		if err := mustPanic(t, func() { mw.Wrap(echo, decl) }); !strings.Contains(err.Error(), "appconfig") {
			t.Errorf("%v", err)
		}
	}
	mw.Wrap(echo, mw.WithAppConfigEndpoint("http://localhost:2772"))
	err = mustPanic(t, func() { mw.Wrap(echo, mw.WithAppConfigEndpoint("http://192.0.2.1:2772")) })
	if !strings.Contains(err.Error(), "WithAppConfigEndpoint") || !strings.Contains(err.Error(), "not a loopback host") || strings.Contains(err.Error(), "token") {
		t.Errorf("remote endpoint: %v", err)
	}
	mw.Wrap(echo, mw.WithAppConfigEndpoint("http://192.0.2.1:2772"), mw.WithRemoteEndpoint())
	if err := mustPanic(t, func() { mw.Wrap(echo, mw.WithAppConfigEndpoint("ftp://localhost")) }); !strings.Contains(err.Error(), "http://") {
		t.Errorf("ftp: %v", err)
	}
}
