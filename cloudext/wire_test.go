package cloudext_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
)

// rawRuntime is an endpoint that is no well-behaved HTTP server: to each
// connection it sends answer as it is, once the request (headers and
// body) has come, then closes it; or, with hold, keeps it open until the
// client closes it, and says so on closed.
func rawRuntime(t *testing.T, answer string, hold bool) (url string, closed <-chan struct{}) {
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

// Nothing from the wire goes into an error. net/http's own transport
// errors quote what the server sent (`malformed HTTP response
// "{\"ARN\":…`): an endpoint that answers a bare body (a wrong port, a raw
// proxy, a desynced connection) must not put the value into the
// *mw.SourceError, which becomes the invoke's error and the span's status.
func TestTransportFailuresQuoteNothingFromTheWire(t *testing.T) {
	body := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + canary + `"}`
	for _, c := range []struct {
		name, answer string
		class        mw.Class
	}{
		{"a bare body", body, mw.ClassMalformed},
		{"a garbage status line", "HTTP/1.1 " + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage version", canary + " 200 OK\r\n\r\n", mw.ClassMalformed},
		{"a garbage header line", "HTTP/1.1 200 OK\r\n" + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: " + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + canary + "\r\n\r\n" + body, mw.ClassMalformed},
		{"a garbage chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + canary + "\r\n", mw.ClassMalformed},
		{"a truncated answer", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + body, mw.ClassUnavailable},
	} {
		url, _ := rawRuntime(t, c.answer, false)
		src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(url))
		for _, it := range []mw.Item{secret("s"), param("/p"), profile("a", "e", "p")} {
			r := fetch(t, src, it)[0] // fetch checks every printed form for the canary
			se, ok := errors.AsType[*mw.SourceError](r.Err)
			switch {
			case !ok:
				t.Errorf("%s, %s: %v; want a *mw.SourceError", c.name, it, r.Err)
			case se.Class != c.class:
				t.Errorf("%s, %s: class %s; want %s (%v)", c.name, it, se.Class, c.class, se)
			case c.class == mw.ClassUnavailable && (!se.Retry || !errors.Is(se, io.ErrUnexpectedEOF)):
				t.Errorf("%s, %s: retry %v, %v; want a retry, and io.ErrUnexpectedEOF", c.name, it, se.Retry, se)
			}
		}
	}
}
