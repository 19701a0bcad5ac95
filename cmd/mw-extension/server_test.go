package main

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// startServer serves a fake with the given timeouts on a free port.
func startServer(t *testing.T, timeouts serverTimeouts) (addr string) {
	t.Helper()
	port := freePort(t)
	em := &emulator{
		cfg:      config{dialect: mwtest.Managed, host: "127.0.0.1", port: port, quiet: true},
		logger:   log.New(io.Discard, "", 0),
		ext:      mwtest.New(mwtest.Managed),
		timeouts: timeouts,
	}
	if err := em.listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.shutdown("test") })
	return "127.0.0.1:" + strconv.Itoa(port)
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

// A keep-alive connection left idle is closed after the idle timeout.
func TestIdleConnectionIsClosed(t *testing.T) {
	addr := startServer(t, serverTimeouts{header: time.Second, idle: 50 * time.Millisecond, body: time.Second})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if code := exchange(t, c, br, "GET /systemsmanager/parameters/get?name=p HTTP/1.1\r\nHost: x\r\n\r\n"); code != http.StatusBadRequest {
		t.Errorf("status %d, want the generic 400 (no token)", code)
	}
	if !closedByServer(t, c) {
		t.Error("an idle keep-alive connection was kept open")
	}
}

// A request body that never arrives does not hold the connection.
func TestStalledBodyIsCut(t *testing.T) {
	addr := startServer(t, serverTimeouts{header: time.Second, idle: time.Minute, body: 50 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if code := exchange(t, c, br, "POST /secretsmanager/get HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab"); code != http.StatusMethodNotAllowed {
		t.Errorf("status %d, want 405", code)
	}
	if !closedByServer(t, c) {
		t.Error("a connection whose body stalled was kept open")
	}
}

// run serves with timeouts on every stage of a connection.
func TestDefaultTimeoutsAreSet(t *testing.T) {
	d := defaultTimeouts
	if d.header <= 0 || d.idle <= 0 || d.body <= 0 {
		t.Errorf("default timeouts %+v: each must be set", d)
	}
}
