package mw_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A handler's unit test needs no extension: mwtest.NewContext builds the
// context a wrapped invoke would pass, and Secret reads from it. A name the
// context does not hold is reported as not declared.
func ExampleSecret() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets: map[string]string{"prod/db": "test-password"},
	})
	pw, err := mw.Secret(ctx, "prod/db")
	fmt.Println(pw, err)

	_, err = mw.Secret(ctx, "prod/other")
	fmt.Println(errors.Is(err, mw.ErrNotDeclared))
	// Output:
	// test-password <nil>
	// true
}

// Inside an invoke, Parameter reads a declared parameter by its name.
// Outside one, such as in init code, there is nothing to read: the
// accessor says so instead of calling the extension.
func ExampleParameter() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Parameters: map[string]string{"/app/log-level": "debug"},
	})
	fmt.Println(mw.Parameter(ctx, "/app/log-level"))

	_, err := mw.Parameter(context.Background(), "/app/log-level")
	fmt.Println(err)
	// Output:
	// debug <nil>
	// mw: parameter "/app/log-level": the context holds no mw values: pass the ctx your wrapped handler received (values exist only inside an invoke of a handler made by mw.Wrap)
}

// The parameters found under a path declared with WithParametersByPath,
// by full name; each is also read alone with Parameter. (The Source
// example serves a path in a wrapped invoke.)
func ExampleParametersByPath() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		ParametersByPath: map[string]map[string]string{
			"/app/prod": {"/app/prod/db/host": "db.internal", "/app/prod/db/port": "5432"},
		},
	})
	params, err := mw.ParametersByPath(ctx, "/app/prod")
	fmt.Println(params, err)
	fmt.Println(mw.Parameter(ctx, "/app/prod/db/host"))
	// Output:
	// map[/app/prod/db/host:db.internal /app/prod/db/port:5432] <nil>
	// db.internal <nil>
}

// When a refresh fails, mw serves the last good value, up to WithMaxStale
// past its TTL, and Stale says so: here the secret's TTL is zero, so each
// invoke refreshes it, and the second refresh is denied.
func ExampleStale() {
	ext := mwtest.New(mwtest.Agent)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		_, stale := mw.Stale(ctx, mw.KindSecret, "prod/db")
		return fmt.Sprintf("%d bytes, stale: %t", len(pw), stale), err
	}, append(ext.Options(srv.URL), mw.WithSecret("prod/db", mw.TTL(0)))...)

	fmt.Println(h(context.Background(), struct{}{}))
	ext.Deny("prod/db") // the function's role loses access
	fmt.Println(h(context.Background(), struct{}{}))
	// Output:
	// 7 bytes, stale: false <nil>
	// 7 bytes, stale: true <nil>
}

// After a rotation, a login that fails with the cached password gets one
// more try with a freshly fetched one. RefreshSecret returns the new value,
// which Secret returns too from then on.
func ExampleRefreshSecret() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	login := func(pw string) error {
		if pw != "rotated" {
			return errors.New("authentication failed")
		}
		return nil
	}
	h := mw.Wrap(func(ctx context.Context, _ struct{}) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		if err := login(pw); err != nil {
			ext.PutSecret("prod/db", "rotated") // (the rotation, for this example)
			if pw, err = mw.RefreshSecret(ctx, "prod/db"); err != nil {
				return "", err
			}
			if err := login(pw); err != nil {
				return "", err
			}
		}
		return "logged in", nil
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)

	fmt.Println(h(context.Background(), struct{}{}))
	fmt.Println("fetches of prod/db:", ext.Fetches("prod/db"))
	// Output:
	// logged in <nil>
	// fetches of prod/db: 2
}

// In a unit test's context the values are fixed: RefreshParameter returns
// the value unchanged.
func ExampleRefreshParameter() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/flags": "beta"}})
	fmt.Println(mw.RefreshParameter(ctx, "/app/flags"))
	// Output: beta <nil>
}

// An RDS-style secret decoded into a struct. It is decoded once per value,
// since DBCredentials holds nothing shared; each call gets its own copy.
func ExampleSecretJSON() {
	type DBCredentials struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Host     string `json:"host"`
		Port     int    `json:"port"`
	}
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{
		"prod/db": `{"engine":"postgres","username":"app","password":"hunter2","host":"db.internal","port":5432}`,
	}})
	db, err := mw.SecretJSON[DBCredentials](ctx, "prod/db")
	fmt.Printf("%s@%s:%d, password of %d bytes, %v\n", db.Username, db.Host, db.Port, len(db.Password), err)

	// Not JSON of that shape: the error says where, never what.
	ctx = mwtest.NewContext(context.Background(), mwtest.Values{Secrets: map[string]string{"prod/db": `{"port":"x"}`}})
	_, err = mw.SecretJSON[DBCredentials](ctx, "prod/db")
	fmt.Println(errors.Is(err, mw.ErrDecode), err)
	// Output:
	// app@db.internal:5432, password of 7 bytes, <nil>
	// true mw: secret "prod/db": cannot decode the value into mw_test.DBCredentials: at port, a JSON string where an int is expected
}

func ExampleParameterJSON() {
	type Limits struct {
		RPS   int `json:"rps"`
		Burst int `json:"burst"`
	}
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/limits": `{"rps":100,"burst":20}`}})
	l, err := mw.ParameterJSON[Limits](ctx, "/app/limits")
	fmt.Printf("%+v %v\n", l, err)
	// Output: {RPS:100 Burst:20} <nil>
}

// A binary secret (SecretBinary in Secrets Manager), as bytes: a copy, the
// caller's to keep.
func ExampleSecretBinary() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecretBinary("prod/signing-key", []byte{0xde, 0xad, 0xbe, 0xef})
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.Wrap(func(ctx context.Context, _ struct{}) ([]byte, error) {
		return mw.SecretBinary(ctx, "prod/signing-key")
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/signing-key"))...)

	key, err := h(context.Background(), struct{}{})
	fmt.Printf("%x %v\n", key, err)
	// Output: deadbeef <nil>
}

// A StringList parameter comes comma-joined; ParameterList splits it.
func ExampleParameterList() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{Parameters: map[string]string{"/app/flags": "beta,dark-mode"}})
	flags, err := mw.ParameterList(ctx, "/app/flags")
	fmt.Printf("%q %v\n", flags, err)
	// Output: ["beta" "dark-mode"] <nil>
}
