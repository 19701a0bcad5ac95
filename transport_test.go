package mw_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/wiretest"
	"github.com/lambda-mw/mw/mwtest"
)

// The tests of the HTTP transport that mw's sources share (transport.go,
// over internal/loopback): the port variables, one transport for every
// Wrap, capped headers, and nothing from the wire in an error or in the
// process's log.

// The port variable must be a port: anything else fails every invoke,
// naming the variable, and nothing is dialled.
func TestThePortVariableMustBeAPort(t *testing.T) {
	for _, port := range []string{"2773@192.0.2.2:80", "0", "65536", "x", " 2773", "+2773", "2773/", "02773"} {
		t.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port)
		hc, dials := refusingDialer(1 << 30)
		_, err := mw.Wrap(echo, mw.WithSecrets("s"), mw.WithHTTPClient(hc))(invokeCtx(t, 5*time.Second), nil)
		fe := asFetchError(t, err)
		if fe.Class != mw.ClassConfig || fe.Attempts != 1 || !strings.Contains(err.Error(), "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") || dials.Load() != 0 {
			t.Errorf("port %q: %d dials, %v", port, dials.Load(), err)
		}
	}
}

// Every Wrap shares one transport, which keeps no connection: many Wraps
// leave a bounded number of goroutines (two per kept connection, and the
// server's side), not one pool each.
func TestWrapsShareOneTransport(t *testing.T) {
	w := newWorld(t, mwtest.Managed)
	w.ext.PutSecret("s", "v")
	before := runtime.NumGoroutine()
	for range 300 {
		if _, err := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)(invokeCtx(t, 5*time.Second), nil); err != nil {
			t.Fatal(err)
		}
	}
	// No connection is kept; a pool each would keep 300 connections, two
	// goroutines each (read and write loops), plus the server's side.
	if grew := runtime.NumGoroutine() - before; grew > 4*64 {
		t.Errorf("300 Wraps left %d more goroutines", grew)
	}
}

// No real answer has large headers: a huge one is an unusable answer, not
// read whole, and not retried.
func TestResponseHeadersAreCapped(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("X-Big", strings.Repeat("x", 1<<20))
		fmt.Fprint(w, `{"SecretString":"v"}`)
	}))
	t.Cleanup(srv.Close)
	_, err := mw.Wrap(echo, mw.WithEndpoint(srv.URL), mw.WithSecrets("s"))(invokeCtx(t, 5*time.Second), nil)
	fe := asFetchError(t, err)
	if fe.Class != mw.ClassMalformed || !strings.Contains(err.Error(), "headers") || n.Load() != 1 {
		t.Errorf("%d requests: %v", n.Load(), err)
	}
}

// Nothing from the wire goes into an error. net/http's own errors quote
// what the server sent (`malformed HTTP response "{\"ARN\":…`), so an
// endpoint that answers a bare body (a wrong port, a raw proxy, a desynced
// connection) or garbage would put the value into the invoke's error, which
// Lambda logs. A failed request is said in a fixed text, by the extension's
// source and the AppConfig one alike, and with the cause it names.
func TestTransportFailuresQuoteNothingFromTheWire(t *testing.T) {
	body := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + canary + `"}`
	for _, c := range []struct {
		name, answer string
		class        mw.Class
		says         string
	}{
		{"a bare body", body, mw.ClassMalformed, "not HTTP"},
		{"a bare body and a blank line", body + "\r\n\r\n", mw.ClassMalformed, "not HTTP"},
		{"a garbage status line", "HTTP/1.1 " + canary + "\r\n\r\n", mw.ClassMalformed, "not HTTP"},
		{"a garbage version", canary + " 200 OK\r\n\r\n", mw.ClassMalformed, "not HTTP"},
		{"a garbage header line", "HTTP/1.1 200 OK\r\n" + canary + "\r\n\r\n", mw.ClassMalformed, "not HTTP"},
		{"a garbage Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: " + canary + "\r\n\r\n", mw.ClassMalformed, "not HTTP"},
		{"a garbage Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + canary + "\r\n\r\n" + body, mw.ClassMalformed, "not HTTP"},
		{"a garbage chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + canary + "\r\n", mw.ClassMalformed, "not HTTP"},
		{"a truncated answer", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + body, mw.ClassUnavailable, "closed"},
		{"nothing", "", mw.ClassUnavailable, "closed"},
	} {
		url, _ := wiretest.Serve(t, c.answer, false)
		for source, opts := range map[string][]mw.Option{
			"extension": {mw.WithEndpoint(url), mw.WithSecrets("s")},
			"appconfig": {mw.WithAppConfigEndpoint(url), mw.WithAppConfig("a", "e", "p")},
		} {
			// With no startup window, a source that never answered fails
			// at once: one attempt, whose own failure the error says.
			_, err := mw.Wrap(echo, append(opts, mw.WithoutEnvironment(), mw.WithStartupWindow(0))...)(invokeCtx(t, 5*time.Second), nil)
			fe := asFetchError(t, err)
			if fe.Attempts != 1 {
				t.Errorf("%s, %s: %d attempts", c.name, source, fe.Attempts)
			}
			if fe.Class == mw.ClassUnavailable && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("%s, %s: %v is not io.ErrUnexpectedEOF", c.name, source, err)
			}
			var texts []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				texts = append(texts, fmt.Sprintf(verb, err), fmt.Sprintf(verb, fe), fmt.Sprintf(verb, fe.Err))
			}
			for e := error(fe); e != nil; e = errors.Unwrap(e) {
				texts = append(texts, e.Error())
			}
			if all := strings.Join(texts, "\n"); strings.Contains(all, "CANARY") {
				t.Errorf("%s, %s: the error quotes the answer: %v", c.name, source, err)
			}
			if fe.Class != c.class || !strings.Contains(err.Error(), c.says) {
				t.Errorf("%s, %s: class %s; want %s, saying %q: %v", c.name, source, fe.Class, c.class, c.says, err)
			}
		}
	}
}

// Nothing from the wire goes into the process's log. An endpoint whose
// Content-Length is short (counted in characters, not bytes), or that
// answers twice, leaves bytes on the connection after its answer; net/http,
// reading a kept connection while it is idle, logs what it finds there
// ("Unsolicited response received on idle HTTP channel starting with …"):
// the tail of the value, on the standard logger, which Lambda sends to
// CloudWatch. No connection that carried such an answer may be kept.
func TestNothingFromTheWireReachesTheProcessLog(t *testing.T) {
	logged := wiretest.CaptureLog(t)

	value := strings.Repeat("é", 40) + canary
	secret := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + value + `"}`
	inChars, whole := wiretest.InChars, wiretest.Whole
	for _, c := range []struct {
		name, answer string
		appConfig    bool
	}{
		{"a secret, its length in characters", inChars("200 OK", secret), false},
		{"a 400, its length in characters", inChars("400 Bad Request", `{"__type":"ResourceNotFoundException","message":"`+value+`"}`), false},
		{"a 500, its length in characters", inChars("500 Internal Server Error", value), false},
		{"an answer, then another", whole("200 OK", `{"Name":"s","SecretString":"v"}`) + whole("200 OK", secret), false},
		{"a configuration, its length in characters", inChars("200 OK", value), true},
		{"a configuration, then another", whole("200 OK", "{}") + whole("200 OK", value), true},
	} {
		// mw's own client, and a user's that keeps connections.
		for client, hc := range map[string]*http.Client{"mw's client": nil, "a user's client": {Transport: &http.Transport{}}} {
			url, closed := wiretest.Serve(t, c.answer, true)
			opts := []mw.Option{mw.WithoutEnvironment(), mw.WithEndpoint(url), mw.WithSecrets("s")}
			if c.appConfig {
				opts = []mw.Option{mw.WithoutEnvironment(), mw.WithAppConfigEndpoint(url), mw.WithAppConfig("a", "e", "p")}
			}
			if hc != nil {
				opts = append(opts, mw.WithHTTPClient(hc))
			}
			_, _ = mw.Wrap(echo, opts...)(invokeCtx(t, 300*time.Millisecond), nil)
			// Not a speed measurement: a bound on a wait for the client to
			// close the connection, which it does at once, or after logging.
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, %s: the connection is kept", c.name, client)
			}
			if l := logged.String(); strings.Contains(l, "CANARY") || strings.Contains(l, "Unsolicited") {
				t.Errorf("%s, %s: the log shows what the endpoint sent:\n%s", c.name, client, l)
			}
		}
	}
}

// Nothing answering at an extension's default port, outside Lambda (as in
// a unit test that forgot the fake's Options), says so and names the
// fake; inside Lambda, where AWS_LAMBDA_RUNTIME_API is set, it does not.
func TestNothingAnsweringOutsideLambdaNamesTheFake(t *testing.T) {
	for _, c := range []struct {
		decl   mw.Option
		lambda string // AWS_LAMBDA_RUNTIME_API
		fake   bool   // whether the hint names the fake
	}{
		{mw.WithSecrets("s"), "", true},
		{mw.WithSecrets("s"), "127.0.0.1:9001", false},
		{mw.WithAppConfig("a", "e", "p"), "", true},
		{mw.WithAppConfig("a", "e", "p"), "127.0.0.1:9001", false},
	} {
		t.Setenv("AWS_LAMBDA_RUNTIME_API", c.lambda)
		hc, _ := refusingDialer(1 << 30)
		_, err := mw.Wrap(echo, mw.WithoutEnvironment(), mw.WithHTTPClient(hc), mw.WithStartupWindow(0), c.decl)(invokeCtx(t, 200*time.Millisecond), nil)
		fe, ok := errors.AsType[*mw.FetchError](err)
		if !ok || fe.Class != mw.ClassUnavailable {
			t.Fatalf("%v: want an unavailable *FetchError", err)
		}
		if got := strings.Contains(fe.Hint(), "mwtest") && strings.Contains(fe.Hint(), "AWS_LAMBDA_RUNTIME_API is not set"); got != c.fake {
			t.Errorf("AWS_LAMBDA_RUNTIME_API=%q: hint %q names the fake: %v; want %v", c.lambda, fe.Hint(), got, c.fake)
		}
	}
}
