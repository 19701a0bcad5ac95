package awssdk_test

// End to end: mw.Wrap with the SDK source against moto, as a function uses
// it. The calls are counted at the proxy in front of moto, not by the code
// that makes them. The spans and metrics of these paths are checked in
// ./test, a module of its own that requires the OTel SDK.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
	"github.com/lambda-mw/mw/internal/busy"
)

// wrap returns h wrapped by mw with the SDK source on b and opts, the
// environment ignored.
func wrap(b *moto.Backend, h func(context.Context) error, opts ...mw.Option) func(context.Context) error {
	return mw.WrapFunc(h, append([]mw.Option{mw.WithSource(awssdk.New(b.Config())), mw.WithoutEnvironment()}, opts...)...)
}

// invoke calls h as Lambda would, with a deadline d away.
func invoke(h func(context.Context) error, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return h(ctx)
}

// fetchErrors returns the items a *mw.PrefetchError says failed, by name.
func fetchErrors(t *testing.T, err error) map[string]*mw.FetchError {
	t.Helper()
	var pe *mw.PrefetchError
	if !errors.As(err, &pe) {
		t.Fatalf("invoke: %v (%T), want a *mw.PrefetchError", err, err)
	}
	out := map[string]*mw.FetchError{}
	for _, fe := range pe.Failed {
		out[fe.Name] = fe
	}
	return out
}

// wantFetchError checks a *mw.FetchError of the SDK source: its class,
// code, and the words of its hint.
func wantFetchError(t *testing.T, fe *mw.FetchError, class mw.Class, code string, hint ...string) {
	t.Helper()
	if fe == nil {
		t.Errorf("no FetchError, want %s %s", class, code)
		return
	}
	if fe.Class != class || fe.Code != code || fe.Source != "awssdk" {
		t.Errorf("%v: class %s, code %q, source %q; want %s, %q, awssdk", fe, fe.Class, fe.Code, fe.Source, class, code)
	}
	for _, h := range hint {
		if !strings.Contains(fe.Hint(), h) {
			t.Errorf("%v: the hint does not say %q", fe, h)
		}
	}
}

// TestWrapReadsEveryKind: values of every kind, the typed accessors, a
// pinned version of each, and a parameter tree, through mw.Wrap.
func TestWrapReadsEveryKind(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/e2e/greeting", "String", "hello")
	b.PutParameter("/e2e/config", "String", `{"region":"eu-west-1","retries":3}`)
	b.PutParameter("/e2e/hosts", "StringList", "a.example,b.example")
	b.PutParameter("/e2e/token", "SecureString", "param-token")
	b.PutParameter("/e2e/stage", "String", "one")
	b.PutParameter("/e2e/stage", "String", "two")
	b.PutSecret("e2e/db", `{"username":"app","password":"db-password"}`)
	binary := []byte{0, 1, 0xfe, 0xff}
	b.PutSecretBinary("e2e/cert", binary)
	b.PutSecret("e2e/rotating", "old")
	b.PutSecret("e2e/rotating", "new")
	tree := map[string]string{
		"/app/prod/db/host":      "db.internal",
		"/app/prod/db/port":      "5432",
		"/app/prod/flags":        "beta,dark-mode",
		"/app/prod/api/deep/key": "api-key",
	}
	for name, v := range tree {
		typ := "SecureString"
		if name == "/app/prod/flags" {
			typ = "StringList"
		}
		b.PutParameter(name, typ, v)
	}
	b.PutParameter("/app/production/x", "String", "not under /app/prod")
	b.PutParameter("/app/staging/db/host", "String", "staging")

	type config struct {
		Region  string `json:"region"`
		Retries int    `json:"retries"`
	}
	type db struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	h := wrap(b, func(ctx context.Context) error {
		var errs []error
		want := func(what string, got any, err error, want any) {
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				errs = append(errs, fmt.Errorf("%s = %v, %v; want %v", what, got, err, want))
			}
		}
		v, err := mw.Parameter(ctx, "/e2e/greeting")
		want("Parameter", v, err, "hello")
		cfg, err := mw.ParameterJSON[config](ctx, "/e2e/config")
		want("ParameterJSON", cfg, err, config{"eu-west-1", 3})
		hosts, err := mw.ParameterList(ctx, "/e2e/hosts")
		want("ParameterList", hosts, err, []string{"a.example", "b.example"})
		v, err = mw.Parameter(ctx, "/e2e/token")
		want("SecureString", v, err, "param-token")
		v, err = mw.Parameter(ctx, "stage-v1")
		want("version 1", v, err, "one")
		creds, err := mw.SecretJSON[db](ctx, "e2e/db")
		want("SecretJSON", creds, err, db{"app", "db-password"})
		bin, err := mw.SecretBinary(ctx, "e2e/cert")
		want("SecretBinary", bin, err, binary)
		v, err = mw.Secret(ctx, "e2e/rotating")
		want("AWSCURRENT", v, err, "new")
		v, err = mw.Secret(ctx, "rotating-previous")
		want("AWSPREVIOUS", v, err, "old")
		v, err = mw.Parameter(ctx, "/app/prod/db/host")
		want("a parameter under the path", v, err, "db.internal")
		flags, err := mw.ParameterList(ctx, "/app/prod/flags")
		want("ParameterList under the path", flags, err, []string{"beta", "dark-mode"})
		all, err := mw.ParametersByPath(ctx, "/app/prod")
		want("ParametersByPath", sortedMap(all), err, sortedMap(tree))
		if _, err := mw.Parameter(ctx, "/app/production/x"); !errors.Is(err, mw.ErrNotDeclared) {
			errs = append(errs, fmt.Errorf("/app/production/x is not under /app/prod: %v", err))
		}
		return errors.Join(errs...)
	},
		mw.WithParameters("/e2e/greeting", "/e2e/config", "/e2e/hosts", "/e2e/token"),
		mw.WithParameter("/e2e/stage", mw.ParameterVersion(1), mw.Alias("stage-v1")),
		mw.WithSecrets("e2e/db", "e2e/cert", "e2e/rotating"),
		mw.WithSecret("e2e/rotating", mw.VersionStage("AWSPREVIOUS"), mw.Alias("rotating-previous")),
		mw.WithParametersByPath("/app/prod"),
	)
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// 5 parameters: one GetParameters; 3 current secrets: one
	// BatchGetSecretValue; the pinned one: one GetSecretValue; 4 under the
	// path: one page.
	wantCalls(t, b, "cold", map[string]int64{
		"GetParameters": 1, "BatchGetSecretValue": 1, "GetSecretValue": 1, "GetParametersByPath": 1,
	})
	b.Reset()
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, b, "warm", nil)
}

// sortedMap prints m in key order.
func sortedMap(m map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "%s=%s;", k, m[k])
	}
	return b.String()
}

// wantCalls checks the requests the proxy saw, by operation: want, and no
// other.
func wantCalls(t *testing.T, b *moto.Backend, when string, want map[string]int64) {
	t.Helper()
	var total int64
	for _, op := range []string{"GetParameters", "GetParametersByPath", "BatchGetSecretValue", "GetSecretValue"} {
		if got := b.Calls(op); got != want[op] {
			t.Errorf("%s: %d %s calls, want %d", when, got, op, want[op])
		}
		total += want[op]
	}
	if got := b.Requests(); got != total {
		t.Errorf("%s: %d requests in all, want %d", when, got, total)
	}
}

// TestWrapColdStartCalls measures at the proxy what a cold start of N
// parameters, M secrets, P pinned secrets and a path of K parameters costs:
// ⌈N/10⌉ GetParameters, ⌈M/20⌉ BatchGetSecretValue, P GetSecretValue and
// the path's pages of up to 10; warm invokes cost none. moto answers a full
// last page with a NextToken, and the empty page after it is one more call:
// ⌊K/10⌋+1 pages. (AWS may also answer short or empty pages: its pages are
// at least ⌈K/10⌉.)
func TestWrapColdStartCalls(t *testing.T) {
	for _, c := range []struct{ n, m, p, k int }{
		{1, 0, 0, 0},
		{0, 1, 0, 0},
		{10, 20, 0, 0},
		{11, 21, 0, 0},
		{50, 40, 0, 0},
		{23, 41, 2, 25},
		{0, 0, 0, 20},
	} {
		t.Run(fmt.Sprintf("N=%d,M=%d,P=%d,K=%d", c.n, c.m, c.p, c.k), func(t *testing.T) {
			b := newBackend(t)
			var opts []mw.Option
			for i := range c.n {
				name := fmt.Sprintf("/calls/p%02d", i)
				b.PutParameter(name, "String", name)
				opts = append(opts, mw.WithParameters(name))
			}
			for i := range c.m {
				id := fmt.Sprintf("calls/s%02d", i)
				b.PutSecret(id, id)
				opts = append(opts, mw.WithSecrets(id))
			}
			for i := range c.p {
				id := fmt.Sprintf("calls/pinned%02d", i)
				b.PutSecret(id, "old")
				b.PutSecret(id, "new")
				opts = append(opts, mw.WithSecret(id, mw.VersionStage("AWSPREVIOUS")))
			}
			if c.k > 0 {
				for i := range c.k {
					b.PutParameter(fmt.Sprintf("/calls/tree/%d/p%02d", i%3, i), "String", "v")
				}
				opts = append(opts, mw.WithParametersByPath("/calls/tree"))
			}
			h := wrap(b, func(context.Context) error { return nil }, opts...)
			b.Reset()
			if err := invoke(h, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{
				"GetParameters":       int64(ceil(c.n, 10)),
				"BatchGetSecretValue": int64(ceil(c.m, 20)),
				"GetSecretValue":      int64(c.p),
			}
			if c.k > 0 {
				want["GetParametersByPath"] = int64(c.k/10 + 1)
			}
			wantCalls(t, b, "cold", want)
			b.Reset()
			for range 3 {
				if err := invoke(h, 30*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			wantCalls(t, b, "3 warm invokes", nil)
		})
	}
}

func ceil(n, d int) int { return (n + d - 1) / d }

// TestWrapRetriesOnce: one layer of retries. A throttled GetParameters is
// retried by mw, with backoff, and the proxy sees exactly the attempts mw
// counts, even with the user's aws.Config asking the SDK for more.
func TestWrapRetriesOnce(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/retry/a", "String", "a")
	b.PutParameter("/retry/b", "String", "b")
	b.PutSecret("retry/s", "s")
	cfg := b.Config()
	cfg.RetryMaxAttempts = 9
	cfg.Retryer = func() aws.Retryer { return retry.AddWithMaxAttempts(retry.NewStandard(), 9) }
	opts := []mw.Option{mw.WithParameters("/retry/a", "/retry/b"), mw.WithSecrets("retry/s")}
	read := func(ctx context.Context) error {
		_, err := mw.Parameter(ctx, "/retry/b")
		return err
	}

	t.Run("throttled twice", func(t *testing.T) {
		h := mw.WrapFunc(read, append(opts, mw.WithSource(awssdk.New(cfg)), mw.WithoutEnvironment())...)
		b.Reset()
		b.Fail("GetParameters", "", moto.Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded", Times: 2})
		if err := invoke(h, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		wantCalls(t, b, "throttled twice", map[string]int64{"GetParameters": 3, "BatchGetSecretValue": 1})
	})

	t.Run("throttled until the deadline", func(t *testing.T) {
		h := mw.WrapFunc(read, append(opts, mw.WithSource(awssdk.New(cfg)), mw.WithoutEnvironment())...)
		b.Reset()
		b.Fail("GetParameters", "", moto.Throttling())
		failed := fetchErrors(t, invoke(h, 1500*time.Millisecond))
		if len(failed) != 2 {
			t.Fatalf("%d items failed, want the 2 parameters: %v", len(failed), failed)
		}
		for _, fe := range failed {
			wantFetchError(t, fe, mw.ClassThrottled, "ThrottlingException", "ssm:GetParameters", "mw.WithTTL")
			if fe.Attempts < 2 || int64(fe.Attempts) != b.Calls("GetParameters") {
				t.Errorf("%s: %d attempts; the proxy saw %d GetParameters", fe.Name, fe.Attempts, b.Calls("GetParameters"))
			}
		}
		if got := b.Calls("BatchGetSecretValue"); got != 1 {
			t.Errorf("%d BatchGetSecretValue calls, want 1: the secret was not throttled", got)
		}
	})
}

// TestWrapFailsOnlyTheFailedItem: an item an answer refuses fails alone,
// with a *mw.FetchError that names the item, the AWS code and the fix; the
// other items of its call are served. A denial of a whole call fails the
// items of that call, with the IAM action it needs.
func TestWrapFailsOnlyTheFailedItem(t *testing.T) {
	b := newBackend(t)
	for _, n := range []string{"/err/a", "/err/b", "/err/tree/x"} {
		b.PutParameter(n, "SecureString", canary)
	}
	for _, id := range []string{"err/s1", "err/s2", "err/denied", "err/cmk"} {
		b.PutSecret(id, canary)
	}
	b.Deny("err/denied")
	b.DenyDecrypt("err/cmk")
	b.PutParameter("/err/other/p", "String", canary)
	b.PutParameter("/err/other/q", "String", canary)

	required := []mw.Option{
		mw.WithParameters("/err/a", "/err/missing", "/err/b"),
		mw.WithSecrets("err/s1", "err/denied", "err/missing", "err/cmk", "err/s2"),
		mw.WithSecret("err/s1", mw.VersionStage("NOSUCHSTAGE"), mw.Alias("s1-nostage")),
	}
	err := invoke(wrap(b, func(context.Context) error { return nil }, required...), 10*time.Second)
	noCanary(t, "PrefetchError", err)
	failed := fetchErrors(t, err)
	if got := slices.Sorted(maps.Keys(failed)); !slices.Equal(got, []string{"/err/missing", "err/cmk", "err/denied", "err/missing", "err/s1"}) {
		t.Errorf("failed items %q, want exactly the missing, denied and undecryptable ones", got)
	}
	wantFetchError(t, failed["/err/missing"], mw.ClassNotFound, "ParameterNotFound", "no such parameter", "region us-east-1")
	wantFetchError(t, failed["err/missing"], mw.ClassNotFound, "ResourceNotFoundException", "no such secret")
	wantFetchError(t, failed["err/denied"], mw.ClassAccessDenied, "AccessDeniedException", "secretsmanager:GetSecretValue on the secret")
	wantFetchError(t, failed["err/cmk"], mw.ClassDecrypt, "DecryptionFailure", "kms:Decrypt")
	wantFetchError(t, failed["err/s1"], mw.ClassNotFound, "ResourceNotFoundException", "version id or stage")
	for name, fe := range failed {
		if fe.Attempts != 1 {
			t.Errorf("%s: %d attempts, want 1: a refusal is not retried", name, fe.Attempts)
		}
	}
	wantCalls(t, b, "cold", map[string]int64{"GetParameters": 1, "BatchGetSecretValue": 1, "GetSecretValue": 1})

	t.Run("optional", func(t *testing.T) {
		b.Reset()
		h := wrap(b, func(ctx context.Context) error {
			var errs []error
			for _, n := range []string{"/err/a", "/err/b"} {
				if v, err := mw.Parameter(ctx, n); err != nil || v != canary {
					errs = append(errs, fmt.Errorf("%s: %v", n, err))
				}
			}
			if v, err := mw.Secret(ctx, "err/s1"); err != nil || v != canary {
				errs = append(errs, fmt.Errorf("err/s1: %v", err))
			}
			for _, c := range []struct {
				kind  mw.Kind
				name  string
				class mw.Class
			}{
				{mw.KindParameter, "/err/missing", mw.ClassNotFound},
				{mw.KindSecret, "err/denied", mw.ClassAccessDenied},
			} {
				var err error
				if c.kind == mw.KindParameter {
					_, err = mw.Parameter(ctx, c.name)
				} else {
					_, err = mw.Secret(ctx, c.name)
				}
				var le *mw.LookupError
				if !errors.As(err, &le) || !errors.Is(err, mw.ErrNotFound) || le.Fetch == nil || le.Fetch.Class != c.class {
					errs = append(errs, fmt.Errorf("%s: %v, want a *LookupError wrapping ErrNotFound and a %s FetchError", c.name, err, c.class))
				}
				noCanary(t, c.name, err)
			}
			return errors.Join(errs...)
		},
			mw.WithParameters("/err/a", "/err/b"),
			mw.WithParameter("/err/missing", mw.Optional()),
			mw.WithSecrets("err/s1"),
			mw.WithSecret("err/denied", mw.Optional()),
		)
		if err := invoke(h, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		wantCalls(t, b, "optional", map[string]int64{"GetParameters": 1, "BatchGetSecretValue": 1})
	})

	t.Run("a denied call", func(t *testing.T) {
		b.Deny("/err/b")
		b.Deny("/err/tree")
		b.Reset()
		h := wrap(b, func(context.Context) error { return nil },
			mw.WithParameters("/err/a", "/err/b"),
			mw.WithParametersByPath("/err/tree"),
			mw.WithParametersByPath("/err/other"),
		)
		err := invoke(h, 10*time.Second)
		noCanary(t, "PrefetchError", err)
		failed := fetchErrors(t, err)
		if len(failed) != 3 {
			t.Errorf("%d failed items, want /err/a and /err/b (one GetParameters) and the path /err/tree", len(failed))
		}
		for _, n := range []string{"/err/a", "/err/b"} {
			wantFetchError(t, failed[n], mw.ClassAccessDenied, "AccessDeniedException", "allow ssm:GetParameters on each parameter of the call")
		}
		wantFetchError(t, failed["/err/tree"], mw.ClassAccessDenied, "AccessDeniedException", "allow ssm:GetParametersByPath on the path")
	})
}

// noCanary fails the test if err says the canary value.
func noCanary(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil && strings.Contains(fmt.Sprintf("%v|%+v|%#v", err, err, err), canary) {
		t.Errorf("%s: the error says the value: %v", what, err)
	}
}

// TestWrapServesStaleOnError: when a refresh fails, the last good values
// are served (WithMaxStale), parameters, secrets and a path alike.
func TestWrapServesStaleOnError(t *testing.T) {
	b := newBackend(t)
	b.PutParameter("/stale/p", "String", "p1")
	b.PutParameter("/stale/tree/x", "String", "x1")
	b.PutSecret("stale/s", "s1")
	var got []string
	h := wrap(b, func(ctx context.Context) error {
		p, err1 := mw.Parameter(ctx, "/stale/p")
		x, err2 := mw.Parameter(ctx, "/stale/tree/x")
		s, err3 := mw.Secret(ctx, "stale/s")
		got = []string{p, x, s}
		return errors.Join(err1, err2, err3)
	},
		mw.WithTTL(0), // every invoke refreshes
		mw.WithParameters("/stale/p"),
		mw.WithParametersByPath("/stale/tree"),
		mw.WithSecrets("stale/s"),
	)
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	b.PutParameter("/stale/p", "String", "p2")
	b.PutParameter("/stale/tree/x", "String", "x2")
	b.PutSecret("stale/s", "s2")
	b.Reset()
	b.Fail("", "", moto.AccessDenied("ssm:GetParameters"))
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatalf("with every call refused: %v", err)
	}
	if want := []string{"p1", "x1", "s1"}; !slices.Equal(got, want) {
		t.Errorf("with every call refused: %q, want the last good values %q", got, want)
	}
	// A refusal is final at once: one call each, no retry.
	wantCalls(t, b, "refused", map[string]int64{"GetParameters": 1, "GetParametersByPath": 1, "BatchGetSecretValue": 1})
}

// TestWrapRefresh: RefreshSecret and RefreshParameter fetch again at once,
// with one call, and the new value is served from then on.
func TestWrapRefresh(t *testing.T) {
	b := newBackend(t)
	b.PutSecret("refresh/db", "old-password")
	b.PutParameter("/refresh/tree/flag", "String", "off")
	b.PutParameter("/refresh/p", "String", "p")
	var step func(ctx context.Context) error
	h := wrap(b, func(ctx context.Context) error { return step(ctx) },
		mw.WithSecrets("refresh/db"),
		mw.WithParameters("/refresh/p"),
		mw.WithParametersByPath("/refresh/tree"),
	)
	step = func(context.Context) error { return nil }
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	b.PutSecret("refresh/db", "rotated-password")
	b.PutParameter("/refresh/tree/flag", "String", "on")
	b.Reset()
	step = func(ctx context.Context) error {
		if v, err := mw.Secret(ctx, "refresh/db"); err != nil || v != "old-password" {
			return fmt.Errorf("before the refresh: %q, %v", v, err)
		}
		if v, err := mw.RefreshSecret(ctx, "refresh/db"); err != nil || v != "rotated-password" {
			return fmt.Errorf("RefreshSecret: %q, %v", v, err)
		}
		if v, err := mw.Secret(ctx, "refresh/db"); err != nil || v != "rotated-password" {
			return fmt.Errorf("Secret after the refresh: %q, %v", v, err)
		}
		if v, err := mw.RefreshParameter(ctx, "/refresh/tree/flag"); err != nil || v != "on" {
			return fmt.Errorf("RefreshParameter of a parameter under the path: %q, %v", v, err)
		}
		return nil
	}
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, b, "the refreshes", map[string]int64{"BatchGetSecretValue": 1, "GetParametersByPath": 1})
	b.Reset()
	step = func(ctx context.Context) error {
		if v, err := mw.Secret(ctx, "refresh/db"); err != nil || v != "rotated-password" {
			return fmt.Errorf("the next invoke: %q, %v", v, err)
		}
		if all, err := mw.ParametersByPath(ctx, "/refresh/tree"); err != nil || all["/refresh/tree/flag"] != "on" {
			return fmt.Errorf("the next invoke: %v, %v", all, err)
		}
		return nil
	}
	if err := invoke(h, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	wantCalls(t, b, "the next invoke", nil)
}

// TestWrapConcurrentColdInvokes: concurrent first invokes, as Lambda
// Managed Instances make them, share one cold start's calls.
func TestWrapConcurrentColdInvokes(t *testing.T) {
	busy.Goroutines(t, 0)
	b := newBackend(t)
	var opts []mw.Option
	for i := range 15 {
		name := fmt.Sprintf("/lmi/p%02d", i)
		b.PutParameter(name, "String", name)
		opts = append(opts, mw.WithParameters(name))
		id := fmt.Sprintf("lmi/s%02d", i)
		b.PutSecret(id, id)
		opts = append(opts, mw.WithSecrets(id))
	}
	h := wrap(b, func(ctx context.Context) error {
		v, err := mw.Secret(ctx, "lmi/s07")
		if err == nil && v != "lmi/s07" {
			err = fmt.Errorf("lmi/s07 = %q", v)
		}
		return err
	}, append(opts, mw.WithParametersByPath("/lmi"))...)
	b.Reset()
	const invokes = 16
	errs := make(chan error, invokes)
	for range invokes {
		go func() { errs <- invoke(h, 10*time.Second) }()
	}
	for range invokes {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	wantCalls(t, b, "16 concurrent cold invokes", map[string]int64{
		"GetParameters": 2, "BatchGetSecretValue": 1, "GetParametersByPath": 2, // 15 under /lmi: two pages
	})
}
