package fakeext

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// startServer serves a fake with the given timeouts on a free port.
func startServer(t *testing.T, timeouts Timeouts) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(ln, Extension(mwtest.New(mwtest.Managed)), log.New(io.Discard, "", 0), true, timeouts)
	t.Cleanup(func() { s.Shutdown("test") })
	return ln.Addr().String()
}

// guard bounds every wait on the server, so that a bug fails the test
// instead of hanging it.
const guard = 5 * time.Second

// closedByServer reports whether the server closes c, waiting at most
// guard: a read that ends in EOF (or a reset) rather than the deadline.
func closedByServer(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(guard))
	_, err := io.Copy(io.Discard, c)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// exchange writes raw to c and reads one answer.
func exchange(t *testing.T, c net.Conn, br *bufio.Reader, raw string) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(guard))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// answerThenClosed sends raw on a new connection to a server with the
// given timeouts, and returns the status of the answer and whether the
// server then closed the connection.
func answerThenClosed(t *testing.T, timeouts Timeouts, raw string) (int, bool) {
	t.Helper()
	c, err := net.Dial("tcp", startServer(t, timeouts))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code := exchange(t, c, bufio.NewReader(c), raw)
	return code, closedByServer(t, c)
}

// The server closes a connection that idles after an answer (a keep-alive
// connection), and one whose request body never arrives.
func TestServerClosesIdleAndStalledConnections(t *testing.T) {
	for _, tc := range []struct {
		name     string
		timeouts Timeouts
		raw      string
		status   int
	}{
		{"idle keep-alive", Timeouts{Header: time.Second, Idle: 50 * time.Millisecond, Body: time.Second},
			"GET /systemsmanager/parameters/get?name=p HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusUnauthorized},
		{"stalled body", Timeouts{Header: time.Second, Idle: time.Minute, Body: 50 * time.Millisecond},
			"POST /secretsmanager/get HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, closed := answerThenClosed(t, tc.timeouts, tc.raw)
			if code != tc.status {
				t.Errorf("status %d, want %d", code, tc.status)
			}
			if !closed {
				t.Error("the connection was kept open")
			}
		})
	}
}

// The commands serve with timeouts on every stage of a connection.
func TestDefaultTimeoutsAreSet(t *testing.T) {
	d := DefaultTimeouts
	if d.Header <= 0 || d.Idle <= 0 || d.Body <= 0 {
		t.Errorf("default timeouts %+v: each must be set", d)
	}
}
