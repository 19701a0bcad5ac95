// Package wiretest serves answers no well-behaved HTTP server sends, byte
// for byte, and watches the process's log, for the tests of every source
// in this repository that reads a local server: what a hostile or broken
// endpoint sends must reach neither an error nor the log. Nothing outside
// tests imports it.
package wiretest

import (
	"bufio"
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"unicode/utf8"
)

// Serve starts an endpoint on a loopback port that sends answer as it is
// to each connection, once the request (headers and body) has come, then
// closes it; or, with hold, keeps it open until the client closes it, and
// says so on closed. It returns the endpoint's base URL.
func Serve(t testing.TB, answer string, hold bool) (url string, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				if _, err := io.WriteString(c, answer); err != nil || !hold {
					return
				}
				_, _ = io.Copy(io.Discard, br) // until the client closes it
				select {
				case done <- struct{}{}:
				default:
				}
			})
		}
	})
	return "http://" + ln.Addr().String(), done
}

// Answer is an HTTP/1.1 answer of status ("200 OK") whose Content-Length
// says length, whatever body's is.
func Answer(status, body string, length int) string {
	return "HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n" + body
}

// Whole is an answer whose Content-Length is body's length in bytes.
func Whole(status, body string) string { return Answer(status, body, len(body)) }

// InChars is an answer whose Content-Length counts body's characters, not
// its bytes: short by one for each byte past the first of a character, which
// are left on the connection.
func InChars(status, body string) string {
	return Answer(status, body, utf8.RuneCountInString(body))
}

// A Log is what the standard logger wrote while a test ran.
type Log struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// CaptureLog sends the standard logger's output to a Log until t ends.
func CaptureLog(t testing.TB) *Log {
	l := &Log{}
	prev := log.Writer()
	log.SetOutput(l)
	t.Cleanup(func() { log.SetOutput(prev) })
	return l
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
