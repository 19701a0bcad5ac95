package mw

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
)

// get sends req with hc and reads its answer's body, at most limit bytes
// and one more, so that a caller can tell an answer larger than limit.
//
// The request asks for its connection to be closed after the answer, and
// none is kept for another request: net/http keeps a connection as soon as
// it has read the last byte an answer's framing announces, before mw can
// judge the answer, and reads a kept connection at once; what an endpoint
// left after its answer (a Content-Length counted in characters, a second
// answer) it logs on the standard logger, quoting it. A connection used
// once leaves nothing to read. mw asks for an item once per TTL, over
// loopback, where a connection costs little.
func get(hc *http.Client, req *http.Request, limit int) (*http.Response, []byte, error) {
	req.Close = true
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	return resp, body, err
}

// A transportFailure is a request that got no usable HTTP answer, said in
// a fixed text. The cause's own text is never kept: net/http's quote what
// the server sent (`malformed HTTP response "{\"ARN\":…`, `bad
// Content-Length "…"`), which may be a value.
type transportFailure struct {
	what  string // what happened, in mw's words
	is    error  // the sentinel the cause is, for errors.Is (syscall.ECONNREFUSED, io.ErrUnexpectedEOF, ...), or nil
	class Class  // ClassUnavailable, ClassMalformed (not HTTP), or ClassConfig (TLS)
}

func (e *transportFailure) Error() string { return e.what }

// Unwrap returns the sentinel the cause matched, never the cause.
func (e *transportFailure) Unwrap() error { return e.is }

// failureOf describes err, an error of an HTTP client's Do or of reading an
// answer's body, by its kind alone.
func failureOf(err error) *transportFailure {
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
		return &transportFailure{what: fmt.Sprintf("the answer's headers are larger than %d bytes", maxHeader), class: ClassMalformed}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &transportFailure{what: "connection refused", is: syscall.ECONNREFUSED, class: ClassUnavailable}
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE):
		return &transportFailure{what: "connection reset", is: syscall.ECONNRESET, class: ClassUnavailable}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &transportFailure{what: "the connection closed before a whole answer came", is: io.ErrUnexpectedEOF, class: ClassUnavailable}
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &rhe), errors.As(err, &cve), errors.As(err, &ae):
		return &transportFailure{what: "the TLS handshake failed", class: ClassConfig}
	case errors.As(err, &ne) && ne.Timeout():
		return &transportFailure{what: "timed out", is: os.ErrDeadlineExceeded, class: ClassUnavailable}
	case errors.As(err, &dns):
		return &transportFailure{what: "the endpoint's host name could not be resolved", class: ClassUnavailable}
	case errors.As(err, &oe):
		return &transportFailure{what: "the connection failed", class: ClassUnavailable}
	case notHTTP(err):
		return &transportFailure{what: "the answer was not HTTP", class: ClassMalformed}
	}
	return &transportFailure{what: "the request failed (the HTTP client's error is not shown: it may quote the answer)", class: ClassUnavailable}
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

// failureHints are what a source says to check when a request failed, by
// the class of the failure.
type failureHints struct {
	unavailable string // nothing (usable) answered: is the server there?
	notHTTP     string // something answered, not in HTTP: is it the server?
	tls         string // the TLS handshake failed: the scheme, the certificate
}

// requestFailed is the error of a request that got no usable answer. The
// context's own end is returned as it is, for mw to classify.
func requestFailed(ctx context.Context, err error, h failureHints) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	f := failureOf(err)
	e := &SourceError{Class: f.class, Err: f}
	switch f.class {
	case ClassUnavailable:
		e.Retry, e.Hint = true, h.unavailable
	case ClassMalformed:
		e.Hint = h.notHTTP
	default:
		e.Hint = h.tls
	}
	return e
}
