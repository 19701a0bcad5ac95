package loopback

import (
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
)

// A Failure is a request that got no usable HTTP answer, said in a fixed
// text. The cause's own text is never kept: net/http's quote what the
// server sent (`malformed HTTP response "{\"ARN\":…`, `bad
// Content-Length "…"`), which may be a value.
type Failure struct {
	what string // what happened, in mw's words
	is   error  // the sentinel the cause is, for errors.Is (syscall.ECONNREFUSED, io.ErrUnexpectedEOF, ...), or nil
	Kind Kind
}

// A Kind is what a failed request tells of the server.
type Kind int

// The kinds of failure.
const (
	Unavailable Kind = iota // nothing (usable) answered: is the server there?
	NotHTTP                 // something answered, not in HTTP: is it the server?
	TLS                     // the TLS handshake failed: the scheme, the certificate
)

func (e *Failure) Error() string { return e.what }

// Unwrap returns the sentinel the cause matched, never the cause.
func (e *Failure) Unwrap() error { return e.is }

// Describe describes err, an error of an HTTP client's Do or of reading an
// answer's body, by its kind alone.
func Describe(err error) *Failure {
	var (
		ne  net.Error
		dns *net.DNSError
		oe  *net.OpError
		cve *tls.CertificateVerificationError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	switch {
	case strings.Contains(err.Error(), "server response headers exceeded"):
		return &Failure{what: fmt.Sprintf("the answer's headers are larger than %d bytes", maxHeader), Kind: NotHTTP}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &Failure{what: "connection refused", is: syscall.ECONNREFUSED, Kind: Unavailable}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return &Failure{what: "connection reset", is: syscall.ECONNRESET, Kind: Unavailable}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &Failure{what: "the connection closed before a whole answer came", is: io.ErrUnexpectedEOF, Kind: Unavailable}
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &rhe), errors.As(err, &cve), errors.As(err, &ae):
		return &Failure{what: "the TLS handshake failed", Kind: TLS}
	case errors.As(err, &ne) && ne.Timeout():
		return &Failure{what: "timed out", is: os.ErrDeadlineExceeded, Kind: Unavailable}
	case errors.As(err, &dns):
		return &Failure{what: "the endpoint's host name could not be resolved", Kind: Unavailable}
	case errors.As(err, &oe):
		return &Failure{what: "the connection failed", Kind: Unavailable}
	case notHTTP(err):
		return &Failure{what: "the answer was not HTTP", Kind: NotHTTP}
	}
	return &Failure{what: "the request failed (the HTTP client's error is not shown: it may quote the answer)", Kind: Unavailable}
}

// notHTTP reports whether err is net/http's refusal of an answer's framing:
// its status line, headers or body encoding. These errors are plain texts;
// these are the words they use.
func notHTTP(err error) bool {
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, w := range []string{"transport connection broken", "malformed", "content-length", "transfer encoding", "transfer-encoding", "chunk", "header", "trailer"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}
