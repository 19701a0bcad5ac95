package cloudext_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

const (
	roleA = "arn:aws:iam::111111111111:role/reader-a"
	roleB = "arn:aws:iam::222222222222:role/reader-b"
)

// The same secret read as two roles and as the function's own, through a
// wrapped handler: three fetches, each with its roleArn, three values,
// each cached apart (a second invoke fetches nothing).
func TestWrapReadsAsEachRole(t *testing.T) {
	f, src, _ := start(t, cloudexttest.Settings{})
	f.PutSecret("shared/db", canary+"own")
	f.PutRoleSecret(roleA, "shared/db", canary+"a")
	f.PutRoleSecret(roleB, "shared/db", canary+"b")
	h := mw.Wrap(func(ctx context.Context, _ event) (string, error) {
		var out []string
		for _, ref := range []string{"shared/db", "a", "b"} {
			v, err := mw.Secret(ctx, ref)
			if err != nil {
				return "", err
			}
			out = append(out, v)
		}
		return strings.Join(out, " "), nil
	}, mw.WithoutEnvironment(), mw.WithSource(src),
		mw.WithSecrets("shared/db"),
		mw.WithSecret("shared/db", mw.RoleARN(roleA), mw.Alias("a")),
		mw.WithSecret("shared/db", mw.RoleARN(roleB), mw.Alias("b")))
	for range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		got, err := h(ctx, event{})
		cancel()
		if want := canary + "own " + canary + "a " + canary + "b"; err != nil || got != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if st := f.Stats(); st.Operations["GetSecretValue"] != 3 || st.WithRole != 2 {
		t.Errorf("%d GetSecretValue, %d with a role; want 3, 2", st.Operations["GetSecretValue"], st.WithRole)
	}
}

// Cloud Extensions takes a roleArn on its Secrets Manager extension only:
// a parameter or an AppConfig profile read as a role is refused at Wrap,
// with what to do instead.
func TestWrapRefusesRolesItCannotTakeOn(t *testing.T) {
	_, src, _ := start(t, cloudexttest.Settings{})
	for _, tc := range []struct {
		name      string
		opt       mw.Option
		want, not string // not: what names a source that refuses it too
	}{
		{"parameter", mw.WithParameter("/app/url", mw.RoleARN(roleA)), "not for its Parameter Store extension", ""},
		{"profile", mw.WithAppConfig("app", "prod", "settings", mw.RoleARN(roleA)), "not for its AppConfig extension", "source"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := panicOf(t, func() {
				mw.Wrap(func(context.Context, event) (string, error) { return "", nil }, mw.WithoutEnvironment(), mw.WithSource(src), tc.opt)
			})
			for _, w := range []string{tc.want, "as role " + roleA, "execution role"} {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q\ndoes not say %q", msg, w)
				}
			}
			if tc.not != "" && strings.Contains(msg, tc.not) {
				t.Errorf("panic %q\nsends the user to another source, which no source of mw is", msg)
			}
			if tc.name == "parameter" && !strings.Contains(msg, "AWS SDK source") {
				t.Errorf("panic %q\ndoes not name the AWS SDK source, which serves it", msg)
			}
		})
	}
}

func panicOf(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("no panic")
		}
		msg = fmt.Sprint(r)
	}()
	f()
	return ""
}
