package awssdk_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
	"github.com/lambda-mw/mw/internal/busy"
)

// Roles of two other accounts: moto keeps each account's state apart, so
// a value read as one of them can only have come through its credentials.
const (
	roleA = "arn:aws:iam::111111111111:role/reader-a"
	roleB = "arn:aws:iam::222222222222:role/reader-b"
)

func asRole(it mw.Item, role string) mw.Item {
	it.RoleARN = role
	return it
}

// An item with a RoleARN is read as that role: with the credentials
// AssumeRole gives for it, in its account, never with the aws.Config's
// own. (Before the Source served RoleARN it read every item with its own
// credentials, and this test got the function's own value.)
func TestRoleARNReadsAsTheRole(t *testing.T) {
	b := newBackend(t)
	b.PutSecret("shared/db", "own")
	b.PutRoleSecret(roleA, "shared/db", "as-a")
	src := awssdk.New(b.Config())
	items := []mw.Item{asRole(secret("shared/db"), roleA)}
	wantValues(t, items, fetch(t, src, "BatchGetSecretValue", items...), []string{"as-a"})
	if own, as := b.CallsAs("BatchGetSecretValue", ""), b.CallsAs("BatchGetSecretValue", roleA); own != 0 || as != 1 {
		t.Errorf("BatchGetSecretValue: %d calls with the aws.Config's credentials, %d as the role; want 0 and 1", own, as)
	}
}

// The same secret and parameter, and a path, read as two roles and as the
// aws.Config's own credentials in one Fetch each: each identity's value,
// each from calls signed as that identity only, and each role assumed
// once.
func TestRolesInOneFetch(t *testing.T) {
	b := newBackend(t)
	b.PutSecret("shared/db", "own")
	b.PutParameter("/shared/url", "SecureString", "own-url")
	for _, r := range []string{roleA, roleB} {
		b.PutRoleSecret(r, "shared/db", "as-"+r)
		b.PutRoleParameter(r, "/shared/url", "SecureString", "url-as-"+r)
		b.PutRoleParameter(r, "/shared/tree/leaf", "String", "leaf-as-"+r)
	}
	src := awssdk.New(b.Config())
	for _, tc := range []struct {
		op    string
		item  mw.Item
		value func(role string) string
	}{
		{"BatchGetSecretValue", secret("shared/db"), func(r string) string { return "as-" + r }},
		{"GetSecretValue", mw.Item{Kind: mw.KindSecret, Name: "shared/db", VersionStage: "AWSCURRENT"}, func(r string) string { return "as-" + r }},
		{"GetParameters", param("/shared/url"), func(r string) string { return "url-as-" + r }},
	} {
		items := []mw.Item{tc.item, asRole(tc.item, roleA), asRole(tc.item, roleB)}
		res := fetch(t, src, tc.op, items...)
		own := "own"
		if tc.op == "GetParameters" {
			own = "own-url"
		}
		wantValues(t, items, res, []string{own, tc.value(roleA), tc.value(roleB)})
		for _, r := range []string{"", roleA, roleB} {
			if got := b.CallsAs(tc.op, r); got != 1 {
				t.Errorf("%s: %d calls as %q, want 1", tc.op, got, r)
			}
		}
	}
	res := fetch(t, src, "GetParametersByPath", asRole(path("/shared/tree"), roleA), asRole(path("/shared/tree"), roleB), path("/shared/tree"))
	for i, want := range []map[string]string{{"/shared/tree/leaf": "leaf-as-" + roleA}, {"/shared/tree/leaf": "leaf-as-" + roleB}, {}} {
		if res[i].Err != nil || !maps.Equal(res[i].Values, want) {
			t.Errorf("path %d: %v, %v; want %v", i, res[i].Values, res[i].Err, want)
		}
	}
	if got := b.Calls("AssumeRole"); got != 2 {
		t.Errorf("AssumeRole: %d calls, want 2 (each role once, its credentials cached)", got)
	}
}

// Credentials about to expire are renewed: with a session as long as the
// cache's expiry window, every fetch meets expired credentials, and
// assumes the role again, rather than sign with them.
func TestRoleCredentialsAreRenewed(t *testing.T) {
	b := newBackend(t)
	b.PutRoleSecret(roleA, "shared/db", "as-a")
	// moto accepts a session shorter than AWS's 15 minutes.
	src := awssdk.New(b.Config(), awssdk.WithAssumeRoleOptions(func(o *stscreds.AssumeRoleOptions) { o.Duration = time.Minute }))
	items := []mw.Item{asRole(secret("shared/db"), roleA)}
	for range 3 {
		wantValues(t, items, fetch(t, src, "BatchGetSecretValue", items...), []string{"as-a"})
	}
	if got := b.Calls("AssumeRole"); got != 3 {
		t.Errorf("AssumeRole: %d calls, want 3", got)
	}
	if got := b.CallsAs("BatchGetSecretValue", roleA); got != 3 {
		t.Errorf("BatchGetSecretValue: %d calls as the role, want 3", got)
	}
}

// WithAssumeRoleOptions sets what AssumeRole sends, role by role.
func TestAssumeRoleOptions(t *testing.T) {
	b := newBackend(t)
	b.PutRoleSecret(roleA, "shared/db", "as-a")
	var seen []string
	var mu sync.Mutex
	src := awssdk.New(b.Config(), awssdk.WithAssumeRoleOptions(func(o *stscreds.AssumeRoleOptions) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, o.RoleARN+" "+o.RoleSessionName)
		o.ExternalID = aws.String("tenant-7")
	}))
	items := []mw.Item{asRole(secret("shared/db"), roleA)}
	wantValues(t, items, fetch(t, src, "BatchGetSecretValue", items...), []string{"as-a"})
	if want := []string{roleA + " mw"}; !slices.Equal(seen, want) {
		t.Errorf("the option saw %q, want %q", seen, want)
	}
	if got := b.Fetches("tenant-7"); got != 0 {
		t.Errorf("the external id counted as a name %d times", got)
	}
}

// A role the function may not assume fails its items, as access denied,
// with STS's code and the fix: sts:AssumeRole and the role's trust policy.
// Nothing is called as the role.
func TestRoleThatCannotBeAssumed(t *testing.T) {
	b := newBackend(t)
	b.PutSecret("shared/db", "own")
	src := awssdk.New(b.Config())
	items := []mw.Item{asRole(secret("shared/db"), roleA), asRole(param("/shared/url"), roleA)}
	for i, op := range []string{"BatchGetSecretValue", "GetParameters"} {
		res := fetch(t, src, op, items[i])
		wantFailure(t, op, res[0].Err, failure{class: mw.ClassAccessDenied, status: 403, code: "AccessDenied",
			hint: []string{"allow sts:AssumeRole on " + roleA, "trust policy"}}, "own")
		if !strings.Contains(res[0].Err.Error(), "sts:AssumeRole "+roleA) {
			t.Errorf("%s: %v does not say which role", op, res[0].Err)
		}
		if got := b.CallsAs(op, roleA) + b.CallsAs(op, ""); got != 0 {
			t.Errorf("%s: %d calls made", op, got)
		}
	}
}

// STS's own failures are classified as any AWS answer: throttling and
// server errors are retried by mw, and the next fetch assumes the role.
func TestAssumeRoleFaults(t *testing.T) {
	b := newBackend(t)
	b.PutRoleSecret(roleA, "shared/db", "as-a")
	items := []mw.Item{asRole(secret("shared/db"), roleA)}
	for _, tc := range []struct {
		fault moto.Fault
		want  failure
	}{
		{moto.Throttling(), failure{class: mw.ClassThrottled, retry: true, status: 400, code: "ThrottlingException", hint: []string{"STS throttled AssumeRole"}}},
		{moto.ServerError("InternalFailure"), failure{class: mw.ClassServerError, retry: true, status: 500, code: "InternalFailure", hint: []string{"STS failed inside"}}},
		{moto.Fault{Status: 400, Code: "RegionDisabledException", Message: "STS is not activated in this region"},
			failure{class: mw.ClassOther, status: 400, code: "RegionDisabledException", hint: []string{"awssdk.WithSTSOptions"}}},
	} {
		tc.fault.Times = 1
		b.Fail("AssumeRole", roleA, tc.fault)
		src := awssdk.New(b.Config()) // no credentials cached
		wantFailure(t, tc.want.code, fetch(t, src, "BatchGetSecretValue", items...)[0].Err, tc.want)
		wantValues(t, items, fetch(t, src, "BatchGetSecretValue", items...), []string{"as-a"})
	}
}

// Concurrent fetches as several roles, beside busy goroutines, each get
// their role's value, and each role is assumed once (run with -race).
func TestRolesConcurrently(t *testing.T) {
	busy.Goroutines(t, 0)
	b := newBackend(t)
	roles := []string{roleA, roleB, "arn:aws:iam::333333333333:role/reader-c"}
	for _, r := range roles {
		b.PutRoleSecret(r, "shared/db", "as-"+r)
	}
	src := awssdk.New(b.Config())
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Go(func() {
			r := roles[w%len(roles)]
			items := []mw.Item{asRole(secret("shared/db"), r), asRole(secret("shared/db"), roles[(w+1)%len(roles)])}
			res := src.Fetch(context.Background(), "BatchGetSecretValue", items)
			for i, want := range []string{"as-" + r, "as-" + roles[(w+1)%len(roles)]} {
				if res[i].Err != nil || res[i].Value != want {
					t.Errorf("worker %d item %d: %q, %v; want %q", w, i, res[i].Value, res[i].Err, want)
				}
			}
		})
	}
	wg.Wait()
	if got := b.Calls("AssumeRole"); got != int64(len(roles)) {
		t.Errorf("AssumeRole: %d calls, want %d", got, len(roles))
	}
}
