package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/fakepg"
	"github.com/lambda-mw/mw/mwtest"
)

const token = "json-credentials-test-token"

func credsJSON(t *testing.T, addr *fakepgAddr, password string) string {
	t.Helper()
	b, err := json.Marshal(DBCredentials{Engine: "postgres", Host: addr.host, Port: addr.port, Username: "app", Password: password, DBName: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type fakepgAddr struct {
	host string
	port int
}

// setup starts the fake database and the fake extension, with the secret
// holding the database's current password, and returns the function as
// main builds it (with pgx, against the fake database).
func setup(t *testing.T) (*fakepg.Server, *mwtest.Extension, *fakepgAddr, func(context.Context, Event) (Response, error)) {
	t.Helper()
	db, err := fakepg.Listen("127.0.0.1:0", "app", "password-1", "orders")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	addr := &fakepgAddr{host: "127.0.0.1", port: db.Addr().Port}

	t.Setenv("AWS_SESSION_TOKEN", token)
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken(token)
	ext.PutSecret(dbSecret, credsJSON(t, addr, "password-1"))
	srv := httptest.NewServer(ext)
	t.Cleanup(func() { ext.Close(); srv.Close() })

	a := &app{dial: pgDialer{sslmode: "disable"}}
	t.Cleanup(func() {
		if a.sess != nil {
			a.sess.Close(context.Background())
		}
	})
	return db, ext, addr, mw.Wrap(a.handle, mw.WithSecret(dbSecret, mw.Alias(dbAlias)), mw.WithEndpoint(srv.URL))
}

// The rotation story: the password changes in the database and in the
// secret while the function holds the old one; the next login is refused,
// the handler refreshes the secret and logs in with the new password.
func TestRotation(t *testing.T) {
	db, ext, addr, h := setup(t)
	ctx := context.Background()

	steps := []struct {
		name   string
		before func()
		want   Response
	}{
		{name: "cold", want: Response{User: "app", Database: "orders", Logins: 1}},
		{name: "warm", want: Response{User: "app", Database: "orders", ReusedSession: true}},
		{name: "after rotation", before: func() {
			db.SetPassword("password-2", true) // the rotation's setSecret, and sessions lost
			ext.PutSecret(dbSecret, credsJSON(t, addr, "password-2"))
		}, want: Response{User: "app", Database: "orders", Logins: 2, Refreshed: true}},
		{name: "warm again", want: Response{User: "app", Database: "orders", ReusedSession: true}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		got, err := h(ctx, Event{})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: got %+v, want %+v", s.name, got, s.want)
		}
	}
	if n := ext.Fetches(dbSecret); n != 2 {
		t.Errorf("the secret was fetched %d times, want 2 (cold start, refresh)", n)
	}
	if db.Logins() != 2 || db.Failures() != 1 {
		t.Errorf("database saw %d logins and %d refused, want 2 and 1", db.Logins(), db.Failures())
	}
}

// A password that is wrong even after the refresh fails the invoke after
// exactly one retry, and the error names neither password.
func TestWrongPasswordFailsAfterOneRetry(t *testing.T) {
	db, ext, addr, h := setup(t)
	db.SetPassword("password-db", true)
	ext.PutSecret(dbSecret, credsJSON(t, addr, "password-stale"))

	_, err := h(context.Background(), Event{})
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("got %v, want an error wrapping ErrAuth", err)
	}
	for _, pw := range []string{"password-db", "password-stale", "password-1"} {
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error contains a password: %v", err)
		}
	}
	if db.Failures() != 2 {
		t.Errorf("database refused %d logins, want 2 (the login and its one retry)", db.Failures())
	}
	if n := ext.Fetches(dbSecret); n != 2 {
		t.Errorf("the secret was fetched %d times, want 2", n)
	}
}

func TestCredentialsStringHasNoPassword(t *testing.T) {
	c := DBCredentials{Engine: "postgres", Host: "db", Port: 5432, Username: "app", Password: "hunter2", DBName: "orders"}
	if s := c.String(); strings.Contains(s, "hunter2") || s != "postgres://app@db:5432/orders" {
		t.Errorf("String() = %q", s)
	}
}
