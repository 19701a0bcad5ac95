package mw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of the accessors (secrets.go): the typed ones and their
// decoding, RefreshSecret, Stale, and the values of a test's context
// (mwtest.NewContext) that they answer from as from an invoke's.

type dbCreds struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
}

const dbJSON = `{"engine":"postgres","username":"app","password":"s3cr3t","host":"db.internal","port":5432,"dbname":"app"}`

// typed runs f inside one invoke of a Wrap over w.
func typed[T any](t *testing.T, w *world, f func(ctx context.Context) (T, error), opts ...mw.Option) (T, error) {
	t.Helper()
	return mw.Wrap(func(ctx context.Context, _ int) (T, error) { return f(ctx) }, w.opts(opts...)...)(invokeCtx(t, 5*time.Second), 0)
}

func TestSecretJSONDecodesIntoAStruct(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", dbJSON)
	h := mw.Wrap(func(ctx context.Context, _ int) ([2]dbCreds, error) {
		a, err := mw.SecretJSON[dbCreds](ctx, "prod/db")
		if err != nil {
			return [2]dbCreds{}, err
		}
		a.Password = "changed by the caller" // a copy: the next call must not see it
		b, err := mw.SecretJSON[dbCreds](ctx, "prod/db")
		return [2]dbCreds{a, b}, err
	}, w.opts(mw.WithSecrets("prod/db"))...)
	for range 2 { // the second invoke is served from the memo
		got, err := h(invokeCtx(t, 5*time.Second), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := (dbCreds{"app", "s3cr3t", "db.internal", 5432}); got[1] != want {
			t.Fatalf("got %+v, want %+v", got[1], want)
		}
	}
}

// A type with maps or slices is decoded on every call, so that no two
// callers (concurrent invokes) share its memory.
func TestSecretJSONNeverSharesMemory(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("cfg", `{"hosts":["a","b"],"limits":{"x":1}}`)
	type cfg struct {
		Hosts  []string       `json:"hosts"`
		Limits map[string]int `json:"limits"`
	}
	got, err := typed(t, w, func(ctx context.Context) (cfg, error) {
		a, err := mw.SecretJSON[cfg](ctx, "cfg")
		if err != nil {
			return cfg{}, err
		}
		a.Hosts[0], a.Limits["x"] = "changed", 99
		return mw.SecretJSON[cfg](ctx, "cfg")
	}, mw.WithSecrets("cfg"))
	if err != nil || got.Hosts[0] != "a" || got.Limits["x"] != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	// any and pointer types too.
	got2, err := typed(t, w, func(ctx context.Context) (string, error) {
		m, err := mw.SecretJSON[map[string]any](ctx, "cfg")
		if err != nil {
			return "", err
		}
		m["hosts"] = nil
		p, err := mw.SecretJSON[*cfg](ctx, "cfg")
		if err != nil {
			return "", err
		}
		p.Hosts = nil
		a, err := mw.SecretJSON[any](ctx, "cfg")
		m2, _ := a.(map[string]any)
		return fmt.Sprint(m2["hosts"]), err
	}, mw.WithSecrets("cfg"))
	if err != nil || got2 != "[a b]" {
		t.Fatalf("got %q, %v", got2, err)
	}
}

func TestParameterJSONAndTheRefreshedValue(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("limits", `{"rps":10}`)
	type limits struct{ RPS int }
	got, err := typed(t, w, func(ctx context.Context) ([2]int, error) {
		before, err := mw.SecretJSON[limits](ctx, "limits")
		if err != nil {
			return [2]int{}, err
		}
		w.ext.PutSecret("limits", `{"rps":20}`)
		if _, err := mw.RefreshSecret(ctx, "limits"); err != nil {
			return [2]int{}, err
		}
		after, err := mw.SecretJSON[limits](ctx, "limits") // decoded anew, not from the old memo
		return [2]int{before.RPS, after.RPS}, err
	}, mw.WithSecretsManagerAgent(), mw.WithSecrets("limits"))
	if err != nil || got != [2]int{10, 20} {
		t.Fatalf("got %v, %v", got, err)
	}

	m := newWorld(t, mwtest.Managed)
	m.ext.PutParameter("/app/limits", "String", `{"RPS":5}`)
	lim, err := typed(t, m, func(ctx context.Context) (limits, error) { return mw.ParameterJSON[limits](ctx, "/app/limits") }, mw.WithParameters("/app/limits"))
	if err != nil || lim.RPS != 5 {
		t.Fatalf("ParameterJSON: %+v, %v", lim, err)
	}
}

// A decoding error says where and into what, never what the value holds.
func TestDecodeErrorsNeverQuoteTheValue(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("not-json", canary+" is not JSON")
	w.ext.PutSecret("wrong-shape", `{"port":"`+canary+`"}`)
	w.ext.PutSecret("big-number", `{"port":`+canaryDigits+`}`)
	for id, want := range map[string]string{
		"not-json":    `mw: secret "not-json": cannot decode the value into mw_test.dbCreds: invalid JSON at byte `, // 1; 0 with jsonv2
		"wrong-shape": `mw: secret "wrong-shape": cannot decode the value into mw_test.dbCreds: at port, a JSON string where an int is expected`,
		"big-number":  `mw: secret "big-number": cannot decode the value into mw_test.dbCreds: at port, a JSON number where an int is expected`,
	} {
		_, err := typed(t, w, func(ctx context.Context) (dbCreds, error) { return mw.SecretJSON[dbCreds](ctx, id) }, mw.WithSecrets(id))
		if !errors.Is(err, mw.ErrDecode) || err.Error() != want && !(strings.HasSuffix(want, " ") && strings.HasPrefix(err.Error(), want)) {
			t.Errorf("%s: got %v\nwant %s", id, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), canaryDigits)) {
			t.Errorf("%s: the error leaks the value: %v", id, err)
		}
	}
}

// canaryDigits is a value that only a number can carry.
const canaryDigits = "98765432109876543210987654321"

func TestSecretBinaryReturnsACopy(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	raw := []byte{0, 1, 2, 0xff, 'x'}
	w.ext.PutSecretBinary("key", raw)
	w.ext.PutSecret("text", "abc")
	got, err := typed(t, w, func(ctx context.Context) ([]byte, error) {
		b, err := mw.SecretBinary(ctx, "key")
		if err != nil {
			return nil, err
		}
		b[0] = 'X' // the caller's own copy
		return mw.SecretBinary(ctx, "key")
	}, mw.WithSecrets("key", "text"))
	if err != nil || string(got) != string(raw) {
		t.Fatalf("got %v, %v", got, err)
	}
	// A SecretString is not read as bytes: the source said which it is.
	_, err = typed(t, w, func(ctx context.Context) ([]byte, error) { return mw.SecretBinary(ctx, "text") }, mw.WithSecrets("text"))
	if !errors.Is(err, mw.ErrWrongType) || !strings.Contains(err.Error(), "holds a SecretString, not a SecretBinary: read it with mw.Secret") {
		t.Fatalf("a SecretString read as bytes: %v", err)
	}
}

func TestParameterListSplitsAStringList(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutParameter("/hosts", "StringList", "a.example,b.example,c.example")
	w.ext.PutParameter("/empty", "StringList", "")
	w.ext.PutParameter("/one", "String", "a,b")
	got, err := typed(t, w, func(ctx context.Context) ([][]string, error) {
		a, err := mw.ParameterList(ctx, "/hosts")
		if err != nil {
			return nil, err
		}
		a[0] = "changed"
		b, err := mw.ParameterList(ctx, "/hosts")
		if err != nil {
			return nil, err
		}
		e, err := mw.ParameterList(ctx, "/empty")
		return [][]string{b, e}, err
	}, mw.WithParameters("/hosts", "/empty"))
	if err != nil || fmt.Sprintf("%q", got) != `[["a.example" "b.example" "c.example"] []]` || got[1] == nil {
		t.Fatalf("got %q, %v", got, err)
	}
	// A String parameter is not split, though it holds a comma.
	_, err = typed(t, w, func(ctx context.Context) ([]string, error) { return mw.ParameterList(ctx, "/one") }, mw.WithParameters("/one"))
	if !errors.Is(err, mw.ErrWrongType) || !strings.Contains(err.Error(), "is a String parameter, not a StringList: read it with mw.Parameter") {
		t.Fatalf("a String parameter read as a list: %v", err)
	}
}

func TestTypedAccessorsDecodeDefaultsAndReportMisuse(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	type flags struct{ Beta bool }
	got, err := typed(t, w, func(ctx context.Context) (flags, error) { return mw.ParameterJSON[flags](ctx, "/missing") },
		mw.WithParameter("/missing", mw.Default(`{"Beta":true}`)), mw.WithStartupWindow(0))
	if err != nil || !got.Beta {
		t.Fatalf("default: %+v, %v", got, err)
	}
	if _, err := mw.SecretJSON[flags](context.Background(), "x"); !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("outside an invoke: %v", err)
	}
	//lint:ignore SA1012 a nil ctx on purpose: misuse is an error, not a panic
	if _, err := mw.SecretBinary(nil, "x"); !errors.Is(err, mw.ErrNoValues) {
		t.Errorf("nil ctx: %v", err)
	}
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/l": "x,y"}, Secrets: map[string]string{"j": `{"Beta":true}`}})
	if l, err := mw.ParameterList(ctx, "/l"); err != nil || len(l) != 2 {
		t.Errorf("mwtest context, ParameterList: %v, %v", l, err)
	}
	if f, err := mw.SecretJSON[flags](ctx, "j"); err != nil || !f.Beta {
		t.Errorf("mwtest context, SecretJSON: %v, %v", f, err)
	}
	if _, err := mw.ParameterList(ctx, "j"); !errors.Is(err, mw.ErrNotDeclared) {
		t.Errorf("a secret read as a parameter: %v", err)
	}
}

// Concurrent invokes (Lambda Managed Instances) read and change their own
// decoded copies; -race proves that they share nothing.
func TestTypedAccessorsUnderConcurrentInvokes(t *testing.T) {
	busy.Goroutines(t, 0)
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("prod/db", dbJSON)
	w.ext.PutSecretBinary("key", []byte("0123456789abcdef"))
	w.ext.PutParameter("/hosts", "StringList", "a,b,c")
	h := mw.Wrap(func(ctx context.Context, i int) (string, error) {
		db, err := mw.SecretJSON[dbCreds](ctx, "prod/db")
		if err != nil {
			return "", err
		}
		m, err := mw.SecretJSON[map[string]any](ctx, "prod/db")
		if err != nil {
			return "", err
		}
		key, err := mw.SecretBinary(ctx, "key")
		if err != nil {
			return "", err
		}
		hosts, err := mw.ParameterList(ctx, "/hosts")
		if err != nil {
			return "", err
		}
		db.Password, m["password"], key[0], hosts[0] = fmt.Sprint(i), i, byte(i), fmt.Sprint(i)
		return fmt.Sprintf("%s %d %d %d", db.Host, len(m), len(key), len(hosts)), nil
	}, w.opts(mw.WithSecrets("prod/db", "key"), mw.WithParameters("/hosts"))...)
	const n = 64
	errs := make(chan error, n)
	for i := range n {
		go func() {
			got, err := h(invokeCtx(t, 5*time.Second), i)
			if err == nil && got != "db.internal 6 16 3" {
				err = fmt.Errorf("invoke %d got %q", i, got)
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// mwtest.NewContext serves handler unit tests with no extension.
func TestMwtestContextAnswersTheAccessors(t *testing.T) {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets: map[string]string{"prod/db": "pw"}, Parameters: map[string]string{"/app/flags": "on"},
	})
	got, err := echo(ctx, []string{"secret:prod/db", "parameter:/app/flags"})
	if err != nil || got["secret:prod/db"] != "pw" || got["parameter:/app/flags"] != "on" {
		t.Fatalf("got %v, %v", got, err)
	}
	if _, err := mw.Secret(ctx, "other"); !errors.Is(err, mw.ErrNotDeclared) {
		t.Errorf("missing name: %v", err)
	}
}

// mwtest.Values acts out what a handler meets besides values: an optional
// item that could not be fetched, a value served stale, a path's
// parameters; and mw.Stale tells a stale value from a fresh one in a real
// invoke too.
func TestValuesActOutMissingAndStaleItems(t *testing.T) {
	fe := &mw.FetchError{Kind: mw.KindSecret, Name: "arn:aws:secretsmanager:us-east-1:1:secret:beta-AbCdEf", Alias: "beta", Class: mw.ClassNotFound}
	var noCtx context.Context // nil: NewContext takes it as Background
	ctx := mwtest.NewContext(noCtx, mwtest.Values{
		Secrets:          map[string]string{"prod/db": "pw"},
		ParametersByPath: map[string]map[string]string{"/app": {"/app/a": "1", "/app/b/c": "2"}},
		Missing:          []*mw.FetchError{fe},
		Stale:            map[string]time.Duration{"secret:prod/db": time.Minute},
	})
	_, err := mw.Secret(ctx, "beta")
	var got *mw.FetchError
	if !errors.Is(err, mw.ErrNotFound) || !errors.As(err, &got) || got != fe {
		t.Errorf("missing: %v", err)
	}
	if d, stale := mw.Stale(ctx, mw.KindSecret, "prod/db"); !stale || d != time.Minute {
		t.Errorf("stale: %v %v", d, stale)
	}
	if v, err := mw.Parameter(ctx, "/app/b/c"); err != nil || v != "2" {
		t.Errorf("found under the path: %q, %v", v, err)
	}
	if m, err := mw.ParametersByPath(ctx, "/app"); err != nil || len(m) != 2 {
		t.Errorf("ParametersByPath: %v, %v", m, err)
	}

	// The same states in a real invoke: fresh, then served stale.
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	c := newClock()
	var stale []bool
	h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
		_, s := mw.Stale(ctx, mw.KindSecret, "s")
		stale = append(stale, s)
		return mw.Secret(ctx, "s")
	}, w.opts(mw.WithSecrets("s"), mw.WithTTL(time.Minute), withClock(c))...)
	if _, err := h(invokeCtx(t, 5*time.Second), 0); err != nil {
		t.Fatal(err)
	}
	w.ext.Deny("s")
	c.Advance(2 * time.Minute)
	if v, err := h(invokeCtx(t, 5*time.Second), 0); err != nil || v != "v" {
		t.Fatalf("stale serve: %q, %v", v, err)
	}
	if len(stale) != 2 || stale[0] || !stale[1] {
		t.Errorf("stale: %v; want fresh, then stale", stale)
	}
}

// A mistake in mwtest.Values that would make a test test another path is
// said at once: a Stale key that names no item, a Missing entry with no
// Kind.
func TestValuesRefuseWhatTheyCannotActOut(t *testing.T) {
	for name, v := range map[string]mwtest.Values{
		"stale key without its kind": {Secrets: map[string]string{"prod/db": "pw"}, Stale: map[string]time.Duration{"prod/db": time.Minute}},
		"stale key of no item":       {Secrets: map[string]string{"prod/db": "pw"}, Stale: map[string]time.Duration{"secret:prod/dbb": time.Minute}},
		"missing with no kind":       {Missing: []*mw.FetchError{{Name: "/app/beta"}}},
	} {
		if r := recovered(func() { mwtest.NewContext(context.Background(), v) }); r == nil {
			t.Errorf("%s: no panic", name)
		}
	}
}

func TestRefreshSecret(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			w := newWorld(t, d)
			w.ext.PutSecret("prod/db", "old")
			opts := w.opts(mw.WithSecrets("prod/db"))
			if d == mwtest.Agent {
				opts = append(opts, mw.WithSecretsManagerAgent())
			}
			clk := newClock()
			opts = append(opts, withClock(clk))
			resolved, rotated := make(chan struct{}), make(chan struct{})
			h := mw.Wrap(func(ctx context.Context, _ int) (string, error) {
				close(resolved)
				<-rotated
				if v, _ := mw.Secret(ctx, "prod/db"); v != "old" {
					return "", fmt.Errorf("before the refresh: %q", v)
				}
				if _, err := mw.RefreshSecret(ctx, "prod/db"); err != nil {
					return "", err
				}
				return mw.Secret(ctx, "prod/db") // the same ctx sees the new value
			}, opts...)
			// The first invoke resolves, then the secret rotates.
			go func() {
				<-resolved
				w.ext.PutSecret("prod/db", "new")
				close(rotated)
			}()
			got, err := h(invokeCtx(t, 5*time.Second), 0)
			if err != nil || got != "new" {
				t.Fatalf("got %q, %v; want new", got, err)
			}
			wantRefreshNow := int64(0)
			if d == mwtest.Agent {
				wantRefreshNow = 1
			}
			if n := w.ext.Stats().RefreshNow; n != wantRefreshNow {
				t.Errorf("%d refreshNow requests; want %d", n, wantRefreshNow)
			}
		})
	}
}

// RefreshSecret returns the value it fetched, even while another declared
// item has just failed for good (its refresh failed, and WithMaxStale(0)
// serves no stale value), so that no new set of values can be published.
func TestRefreshSecretReturnsItsNewValueWhileAnotherItemFails(t *testing.T) {
	w := newWorld(t, mwtest.Agent)
	w.ext.PutSecret("a", "a1")
	w.ext.PutSecret("b", "b1")
	c := newClock()
	release := make(chan struct{})
	inHandler := make(chan struct{})
	h := mw.Wrap(func(ctx context.Context, refresh bool) (string, error) {
		if !refresh {
			return "", nil
		}
		close(inHandler)
		<-release
		return mw.RefreshSecret(ctx, "a")
	}, w.opts(mw.WithSecretsManagerAgent(), mw.WithSecret("a", mw.TTL(time.Hour)), mw.WithSecret("b", mw.TTL(time.Minute)),
		mw.WithMaxStale(0), withClock(c))...)
	if _, err := h(invokeCtx(t, 5*time.Second), false); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		v, err := h(invokeCtx(t, 5*time.Second), true)
		if err != nil {
			t.Error(err)
		}
		got <- v
	}()
	<-inHandler
	c.Advance(2 * time.Minute) // b expires
	w.ext.Deny("b")
	if _, err := h(invokeCtx(t, 5*time.Second), false); err == nil {
		t.Fatal("b's refresh failed, with no stale value to serve: want the invoke to fail")
	}
	w.ext.PutSecret("a", "a2")
	close(release)
	if v := <-got; v != "a2" {
		t.Errorf("RefreshSecret returned %q with no error; want the value it fetched, a2", v)
	}
}

// A decode error says where, by the names the type declares, and what was
// expected: never a value, never a key taken from the value (a map key can
// be a secret), and a byte order mark is named as such.
func TestDecodeErrorsNameThePathNotTheKeys(t *testing.T) {
	type creds struct {
		Credentials struct {
			Port int `json:"port"`
		} `json:"credentials"`
		Hosts map[string]struct {
			Port int `json:"port"`
		} `json:"hosts"`
		Weights map[string]int `json:"weights"`
	}
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("nested", `{"credentials":{"port":"x"}}`)
	w.ext.PutSecret("mapped", `{"hosts":{"`+canary+`":{"port":"x"}}}`)
	w.ext.PutSecret("weights", `{"weights":{"`+canary+`":"heavy"}}`)
	w.ext.PutSecret("bom", "\ufeff{}")
	for id, want := range map[string]string{
		"nested":  "at credentials.port, a JSON string where an int is expected",
		"mapped":  "at hosts.*.port, a JSON string where an int is expected",
		"weights": "a JSON string where an int is expected", // at weights (at weights.* with jsonv2)
		"bom":     "byte order mark",
	} {
		_, err := typed(t, w, func(ctx context.Context) (creds, error) { return mw.SecretJSON[creds](ctx, id) }, mw.WithSecrets(id))
		if !errors.Is(err, mw.ErrDecode) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), canary) {
			t.Errorf("%s: %v\nwant %q", id, err, want)
		}
	}
}
