package loopback

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"syscall"
	"testing"
)

// canary stands for what a server sent, or a password: no error may show
// it.
const canary = "CANARY-loopback"

const allow = "use WithRemoteEndpoint"

// A loopback endpoint is accepted and spelt as Go's proxy rules exempt it;
// another host is refused, saying how to allow it, unless remote.
func TestCheckEndpoint(t *testing.T) {
	for raw, want := range map[string]string{
		"http://localhost:2773":          "http://localhost:2773",
		"http://LocalHost:2773":          "http://localhost:2773",
		"https://LOCALHOST.:2773/":       "https://localhost:2773/",
		"http://localhost.":              "http://localhost",
		"http://127.0.0.1:2773":          "http://127.0.0.1:2773",
		"http://127.9.9.9:1":             "http://127.9.9.9:1",
		"http://[::1]:2773":              "http://[::1]:2773",
		"http://[::ffff:127.0.0.1]:2773": "http://[::ffff:127.0.0.1]:2773",
	} {
		if got, err := CheckEndpoint(raw, false, allow); err != nil || got != want {
			t.Errorf("CheckEndpoint(%s) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, far := range []string{"http://192.0.2.1:2773", "http://example.com", "http://localhoſt:2773", "http://localhost.localdomain",
		"http://127.0.0.1.:2773", "http://localhost..:1", "http://xn--localhost:1", "http://[2001:db8::1]:2773"} {
		_, err := CheckEndpoint(far, false, allow)
		if err == nil || !strings.Contains(err.Error(), "not a loopback host") || !strings.HasSuffix(err.Error(), allow) {
			t.Errorf("CheckEndpoint(%s): %v; want it refused, saying how to allow it", far, err)
		}
		if got, err := CheckEndpoint(far, true, allow); err != nil || got != far {
			t.Errorf("CheckEndpoint(%s, remote) = %q, %v; want it as it is", far, got, err)
		}
	}
}

// A base URL that is not one is refused with a fixed text: never the URL,
// which may carry a password.
func TestCheckEndpointRefusesWhatIsNoBaseURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://user:" + canary + "@local host:x": "not a URL",
		"ftp://user:" + canary + "@localhost":     "http:// or https://",
		"localhost:2773":                          "http:// or https://",
		"http://":                                 "no host",
		"http://localhost:2773/?" + canary:        "without a query or fragment",
		"http://localhost:2773/#" + canary:        "without a query or fragment",
	} {
		_, err := CheckEndpoint(raw, false, allow)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), canary) {
			t.Errorf("CheckEndpoint(%q): %v; want %q", raw, err, want)
		}
	}
}

// localhost in any ASCII case, with or without a trailing dot, is spelt
// "localhost"; a loopback address as it is; anything else, and a name only
// Unicode case folding makes localhost, is not loopback.
func TestCanonicalLoopback(t *testing.T) {
	for host, want := range map[string]string{"localhost": "localhost", "LOCALHOST.": "localhost", "lOcAlHoSt": "localhost",
		"127.0.0.1": "127.0.0.1", "::1": "::1", "127.255.255.254": "127.255.255.254"} {
		if got, ok := canonicalLoopback(host); !ok || got != want {
			t.Errorf("canonicalLoopback(%s) = %q, %v; want %q", host, got, ok, want)
		}
		if !Is(host) {
			t.Errorf("Is(%s) = false", host)
		}
	}
	for _, host := range []string{"localhoſt", "localhosts", "locahost", "", "128.0.0.1", "::2", "localhost.localdomain", "127.0.0.1."} {
		if _, ok := canonicalLoopback(host); ok || Is(host) {
			t.Errorf("%q taken for loopback", host)
		}
	}
}

// RedactURL masks a password, a query and a fragment, in a URL that
// parses or one that does not.
func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://user:" + canary + "@localhost:2773/":  "http://user:xxxxx@localhost:2773/",
		"http://user:" + canary + "@local host:x":     "xxxxx@local host:x",
		"http://localhost:2773/?token=" + canary:      "http://localhost:2773/?xxxxx",
		"http://localhost:2773/#" + canary:            "http://localhost:2773/#xxxxx",
		"http://local host:x/?token=" + canary + "@a": "http://local host:x/?xxxxx",
		"http://local host:x/?token=" + canary:        "http://local host:x/?xxxxx",
		"http://local host:x/#" + canary:              "http://local host:x/#xxxxx",
		"http://localhost:2773":                       "http://localhost:2773",
		"http://local host:x":                         "http://local host:x",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", raw, got, want)
		}
	}
}

// QueryEscape escapes all but the unreserved characters, a space as %20.
func TestQueryEscape(t *testing.T) {
	for s, want := range map[string]string{
		"prod/db":       "prod%2Fdb",
		"a b+c=d@e":     "a%20b%2Bc%3Dd%40e",
		"A-z_0.9~":      "A-z_0.9~",
		"é":             "%C3%A9",
		"":              "",
		"%2F":           "%252F",
		"\x00\x7f\xff/": "%00%7F%FF%2F",
	} {
		if got := QueryEscape(s); got != want {
			t.Errorf("QueryEscape(%q) = %q; want %q", s, got, want)
		}
	}
}

// Localhost reads the port from the environment now, or takes the default;
// anything but a port number is an error naming the variable, and never
// quoting its value.
func TestLocalhost(t *testing.T) {
	const env = "MW_TEST_LOOPBACK_PORT"
	t.Setenv(env, "")
	if u, err := Localhost(env, "2773"); err != nil || u != "http://localhost:2773" {
		t.Errorf("unset: %q, %v", u, err)
	}
	t.Setenv(env, "65535")
	if u, err := Localhost(env, "2773"); err != nil || u != "http://localhost:65535" {
		t.Errorf("65535: %q, %v", u, err)
	}
	for _, port := range []string{"0", "65536", "02773", "+2773", " 2773", "2773/", "x", "2773@" + canary} {
		t.Setenv(env, port)
		if _, err := Localhost(env, "2773"); err == nil || err.Error() != env+" is not a port number" {
			t.Errorf("%q: %v", port, err)
		}
	}
}

// timeout is a net.Error that timed out.
type timeout struct{}

func (timeout) Error() string   { return "i/o timeout " + canary }
func (timeout) Timeout() bool   { return true }
func (timeout) Temporary() bool { return true }

// Describe says each failure in fixed words, by its kind, and keeps the
// sentinel the cause matched for errors.Is; never the cause's own text,
// which may quote what the server sent.
func TestDescribeSaysEachFailureInFixedWords(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("%s: %w", canary, err)}
	}
	for _, c := range []struct {
		name string
		err  error
		kind Kind
		says string
		is   error
	}{
		{"refused", op(os.NewSyscallError("connect", syscall.ECONNREFUSED)), Unavailable, "connection refused", syscall.ECONNREFUSED},
		{"reset", op(syscall.ECONNRESET), Unavailable, "connection reset", syscall.ECONNRESET},
		{"broken pipe", op(syscall.EPIPE), Unavailable, "connection reset", syscall.ECONNRESET},
		{"EOF", fmt.Errorf("%s: %w", canary, io.EOF), Unavailable, "closed before a whole answer", io.ErrUnexpectedEOF},
		{"truncated", io.ErrUnexpectedEOF, Unavailable, "closed before a whole answer", io.ErrUnexpectedEOF},
		{"timeout", fmt.Errorf("wrapped: %w", timeout{}), Unavailable, "timed out", os.ErrDeadlineExceeded},
		{"context deadline", fmt.Errorf("%s: %w", canary, context.DeadlineExceeded), Unavailable, "timed out", os.ErrDeadlineExceeded},
		{"DNS", &net.DNSError{Err: canary, Name: canary}, Unavailable, "could not be resolved", nil},
		{"another dial error", op(errors.New("no route")), Unavailable, "the connection failed", nil},
		{"scheme", fmt.Errorf("%s: %w", canary, http.ErrSchemeMismatch), TLS, "TLS handshake", nil},
		{"record header", tls.RecordHeaderError{Msg: canary}, TLS, "TLS handshake", nil},
		{"alert", tls.AlertError(42), TLS, "TLS handshake", nil},
		{"certificate", &tls.CertificateVerificationError{Err: errors.New(canary)}, TLS, "TLS handshake", nil},
		{"headers", errors.New("net/http: server response headers exceeded 16384 bytes; aborted " + canary), NotHTTP, "headers are larger than 16384 bytes", nil},
		{"protocol", textproto.ProtocolError("malformed MIME header line: " + canary), NotHTTP, "not HTTP", nil},
		{"malformed", fmt.Errorf(`net/http: HTTP/1.x transport connection broken: malformed HTTP response %q`, canary), NotHTTP, "not HTTP", nil},
		{"content-length", fmt.Errorf(`bad Content-Length %q`, canary), NotHTTP, "not HTTP", nil},
		{"chunked", fmt.Errorf("invalid byte in chunk length %s", canary), NotHTTP, "not HTTP", nil},
		{"anything else", errors.New(canary), Unavailable, "the HTTP client's error is not shown", nil},
	} {
		f := Describe(c.err)
		if f.Kind != c.kind || !strings.Contains(f.Error(), c.says) || strings.Contains(fmt.Sprintf("%v %+v %#v", f, f, f), canary) {
			t.Errorf("%s: %v, kind %d; want kind %d, saying %q, quoting nothing", c.name, f, f.Kind, c.kind, c.says)
		}
		if errors.Unwrap(f) != c.is {
			t.Errorf("%s: unwraps to %v; want %v", c.name, errors.Unwrap(f), c.is)
		}
	}
}

// NoRedirects makes a copy of the user's client that refuses redirects,
// leaving the user's own alone; with none, mw's shared client, which never
// proxies, keeps no connection and caps headers.
func TestNoRedirects(t *testing.T) {
	user := &http.Client{}
	c := NoRedirects(user)
	if c == user || user.CheckRedirect != nil || c.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("NoRedirects changed the user's client, or lets redirects through")
	}
	if shared := Client(); NoRedirects(nil) != shared || Client() != shared {
		t.Error("without a client of the user's, want the one shared client")
	}
	tr := Client().Transport.(*http.Transport)
	if tr.Proxy != nil || !tr.DisableKeepAlives || tr.MaxResponseHeaderBytes != maxHeader || Client().CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Errorf("the shared client: %+v", tr)
	}
}
