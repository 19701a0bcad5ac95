package mw_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// The design card's line, exactly: Wrap with no options prefetches what the
// environment declares.
func TestTheEnvironmentDeclaresItems(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutSecret("api-key", "k")
	w.ext.PutParameter("/app/flags", "StringList", "a,b")
	t.Setenv("MW_ENDPOINT", w.srv.URL)
	t.Setenv("MW_SECRETS", " db="+mwtest.SecretARN("prod/db")+" , api-key")
	t.Setenv("MW_PARAMETERS", "flags = /app/flags")

	h := mw.Wrap(echo)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db", "secret:api-key", "parameter:flags"})
	if err != nil {
		t.Fatal(err)
	}
	if got["secret:db"] != "pw" || got["secret:api-key"] != "k" || got["parameter:flags"] != "a,b" {
		t.Errorf("got %v", got)
	}
	if n := w.ext.Requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestTheEnvironmentMergesWithCode(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", "pw")
	w.ext.PutSecret("extra", "x")
	clk := newClock()
	// The environment repeats prod/db, under its name and under an alias,
	// and adds extra. Code's TTL stands for prod/db, which is fetched once.
	t.Setenv("MW_SECRETS", "prod/db,db=prod/db,extra")
	h := mw.Wrap(echo, w.opts(mw.WithSecret("prod/db", mw.TTL(time.Hour)), mw.WithTTL(time.Minute), withClock(clk))...)
	keys := []string{"secret:prod/db", "secret:db", "secret:extra"}
	if _, err := h(invokeCtx(t, 5*time.Second), keys); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute) // extra expires; prod/db does not
	if _, err := h(invokeCtx(t, 5*time.Second), keys); err != nil {
		t.Fatal(err)
	}
	if a, b := w.ext.Fetches("prod/db"), w.ext.Fetches("extra"); a != 1 || b != 2 {
		t.Errorf("fetches: prod/db %d (want 1), extra %d (want 2)", a, b)
	}
}

// An operator's mistake fails every invoke with a *DeclarationError
// quoting the entry; Wrap does not panic, and the handler does not run.
func TestMalformedEnvironmentFailsInvokesQuotingTheEntry(t *testing.T) {
	for _, tc := range []struct {
		env, value, want string
	}{
		{"MW_SECRETS", "db=prod/db,,x", `MW_SECRETS entry 2 of 3, "", is empty`},
		{"MW_SECRETS", "a, =prod/db", `MW_SECRETS entry 2 of 2, "=prod/db", has no alias before "="`},
		{"MW_PARAMETERS", "flags=", `MW_PARAMETERS entry 1 of 1, "flags=", has no name after "="`},
		{"MW_SECRETS", "db=", `mw: MW_SECRETS entry 1 of 1, "db=", has no name after "=": write alias=name, or the name alone`},
		{"MW_PARAMETERS", "/app/my flags", `MW_PARAMETERS entry 1 of 1, "/app/my flags", has a space inside`},
		{"MW_SECRETS", "db=a,db=b", `MW_SECRETS entry 1 of 2, "db=a" and MW_SECRETS entry 2 of 2, "db=b": secret alias "db" is declared twice`},
		{"MW_SECRETS", "code=other", `MW_SECRETS entry 1 of 1, "code=other": secret alias "code" is declared twice: for "prod/db" and for "other"`},
		{"MW_ENDPOINT", "localhost:2773", `MW_ENDPOINT="localhost:2773": want an http:// or https:// base URL`},
		{"MW_AGENT", "yes", `MW_AGENT="yes": want true or false`},
	} {
		t.Run(tc.env+"="+tc.value, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "1") // were a fetch made, nothing would answer
			ran := false
			h := mw.Wrap(func(context.Context, int) (int, error) { ran = true; return 0, nil }, mw.WithSecret("prod/db", mw.Alias("code")))
			for range 2 {
				_, err := h(invokeCtx(t, time.Second), 0)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v\nwant it to contain %s", err, tc.want)
				}
				// Lambda reports an error by the name of its type (of what
				// a pointer points to): an exported one, a user can look up.
				if _, ok := errors.AsType[*mw.DeclarationError](err); !ok || reflect.TypeOf(err).Elem().Name() != "DeclarationError" {
					t.Errorf("error of type %T; want a *mw.DeclarationError", err)
				}
			}
			if ran {
				t.Error("the handler ran")
			}
		})
	}
}

// The same handler code runs next to the Secrets Manager Agent on ECS, EKS
// or EC2: the environment names the endpoint and the dialect, and the
// token comes from the agent's variables.
func TestTheAgentOutsideLambda(t *testing.T) {
	const agentToken = "agent-token"
	w := newWorld(t, mwtest.Agent)
	w.ext.SetToken(agentToken)
	w.ext.PutSecret("prod/db", "pw")
	t.Setenv("MW_ENDPOINT", w.srv.URL)
	t.Setenv("MW_AGENT", "true")
	t.Setenv("MW_SECRETS", "db=prod/db")
	t.Setenv("AWS_SESSION_TOKEN", "not-the-agent-token") // AWS_TOKEN comes first
	t.Setenv("AWS_TOKEN", agentToken)

	h := mw.Wrap(echo)
	got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:db"})
	if err != nil || got["secret:db"] != "pw" {
		t.Fatalf("AWS_TOKEN: %v, %v", got, err)
	}

	// refreshNow=true reaches the agent: the dialect came from MW_AGENT.
	ctx := invokeCtx(t, 5*time.Second)
	if _, err := mw.Wrap(func(ctx context.Context, _ int) (string, error) { return mw.RefreshSecret(ctx, "db") })(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := w.ext.Stats().RefreshNow; n != 1 {
		t.Errorf("%d refreshNow requests, want 1", n)
	}
}

func TestCodeEndpointWinsOverTheEnvironment(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	t.Setenv("MW_ENDPOINT", "http://127.0.0.1:1") // nothing listens there
	h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
	if _, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil {
		t.Fatal(err)
	}
}

// A handler's unit test is hermetic: with the fake's options, it reads no
// AWS_SESSION_TOKEN and none of the developer's MW_* variables.
func TestTheFakesOptionsIgnoreTheShell(t *testing.T) {
	t.Setenv("MW_SECRETS", "=bad entry")
	t.Setenv("MW_ENDPOINT", "http://192.0.2.1:1")
	t.Setenv("AWS_SESSION_TOKEN", "not the fake's")
	for _, d := range dialects {
		ext, srv := mwtest.Start(t, d)
		ext.SetToken("the fake's own")
		ext.PutSecret("s", "v")
		h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("s"))...)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Errorf("%s: %v, %v", d, got, err)
		}
	}
}
