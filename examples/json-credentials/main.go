// Command json-credentials reads a database credentials secret, the JSON
// that RDS and Secrets Manager rotation use, and logs in to PostgreSQL with
// it. When a login fails for a bad password, the secret has probably been
// rotated since mw fetched it: the handler fetches it again with
// mw.RefreshSecret and logs in once more. That retry is the whole rotation
// story; main_test.go proves it against mw's fake extension.
//
// The connection is kept across invokes, as a Lambda function should. A
// rotation does not close open sessions, so the retry happens when a new
// session is needed (a cold start, or a session that broke).
//
// The driver is pgx (github.com/jackc/pgx/v5). The login sits behind the
// Dialer interface, so another database needs only another Dialer.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lambda-mw/mw"
)

// dbSecret is the secret holding DBCredentials. The template's policy
// grants secretsmanager:GetSecretValue on exactly this name. The handler
// reads it by its alias, db.
const (
	dbSecret = "mw-examples/json-credentials/db"
	dbAlias  = "db"
)

// DBCredentials is the JSON of an RDS database secret:
// {"engine":"postgres","host":"…","port":5432,"username":"…","password":"…","dbname":"…"}.
type DBCredentials struct {
	Engine   string `json:"engine"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username"`
	Password string `json:"password"`
	DBName   string `json:"dbname"`
}

// String leaves the password out, so that a credentials value can never
// be logged by accident.
func (c DBCredentials) String() string {
	return fmt.Sprintf("%s://%s@%s/%s", c.Engine, c.Username, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), c.DBName)
}

// ErrAuth marks a login that the database refused for its credentials.
var ErrAuth = errors.New("authentication failed")

// A Dialer logs in to the database. Its error wraps ErrAuth when the
// credentials were refused.
type Dialer interface {
	Dial(ctx context.Context, c DBCredentials) (Session, error)
}

// A Session is an open database session; *pgx.Conn is one.
type Session interface {
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}

// Event is the function's input; Response its output, with no secret in it.
type Event struct{}

type Response struct {
	User          string `json:"user"`
	Database      string `json:"database"`
	Logins        int    `json:"logins"`         // logins this invoke made: 0 (session reused), 1, or 2 (after a refresh)
	Refreshed     bool   `json:"refreshed"`      // the secret was fetched again after a refused login
	ReusedSession bool   `json:"reused_session"` // a warm invoke used the open session
}

// app holds the state that outlives an invoke: the open session. The mutex
// makes it safe where invokes run concurrently (Lambda Managed Instances).
type app struct {
	dial Dialer

	mu   sync.Mutex
	sess Session
	user string
	db   string
}

func (a *app) handle(ctx context.Context, _ Event) (Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sess != nil {
		if err := a.sess.Ping(ctx); err == nil {
			return Response{User: a.user, Database: a.db, ReusedSession: true}, nil
		}
		_ = a.sess.Close(ctx)
		a.sess = nil
	}

	creds, err := credentials(ctx)
	if err != nil {
		return Response{}, err
	}
	resp := Response{Logins: 1}
	sess, err := a.dial.Dial(ctx, creds)
	if errors.Is(err, ErrAuth) {
		// Rotated since mw fetched it? Fetch the secret again, now, and
		// log in once more. Concurrent callers share the one fetch.
		if _, rerr := mw.RefreshSecret(ctx, dbAlias); rerr != nil {
			return Response{}, errors.Join(err, rerr)
		}
		if creds, err = credentials(ctx); err != nil {
			return Response{}, err
		}
		resp.Logins, resp.Refreshed = 2, true
		sess, err = a.dial.Dial(ctx, creds)
	}
	if err != nil {
		return Response{}, fmt.Errorf("log in to %v: %w", creds, err)
	}
	a.sess, a.user, a.db = sess, creds.Username, creds.DBName
	resp.User, resp.Database = creds.Username, creds.DBName
	return resp, nil
}

// credentials decodes the secret mw fetched for this invoke. A value that
// is not credentials JSON is an error that never quotes it.
func credentials(ctx context.Context) (DBCredentials, error) {
	return mw.SecretJSON[DBCredentials](ctx, dbAlias)
}

// pgDialer logs in to PostgreSQL with pgx.
type pgDialer struct {
	sslmode string // disable, require, verify-full, …
}

func (d pgDialer) Dial(ctx context.Context, c DBCredentials) (Session, error) {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(c.Username), // the password is set below, never in a string
		Host:     net.JoinHostPort(c.Host, strconv.Itoa(c.Port)),
		Path:     "/" + c.DBName,
		RawQuery: url.Values{"sslmode": {d.sslmode}, "connect_timeout": {"5"}}.Encode(),
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, err
	}
	cfg.Password = c.Password
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000") { // invalid_password, invalid_authorization_specification
			return nil, fmt.Errorf("%w: %w", ErrAuth, err)
		}
		return nil, err
	}
	return conn, nil
}

func main() {
	sslmode := os.Getenv("DB_SSLMODE")
	if sslmode == "" {
		sslmode = "require"
	}
	a := &app{dial: pgDialer{sslmode: sslmode}}
	lambda.Start(mw.Wrap(a.handle, mw.WithSecret(dbSecret, mw.Alias(dbAlias))))
}
