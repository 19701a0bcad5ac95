package mw_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

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
