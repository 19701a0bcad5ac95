package fakeext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The HTTP server: serving a Fake, logging requests, shutting down.

// shutdownGrace bounds how long Shutdown waits for requests in flight.
const shutdownGrace = 2 * time.Second

// Timeouts bound each stage of a connection. There is no write timeout and
// no timeout on a whole request: a fake's latency and hang hold value
// requests on purpose, until their client gives up.
type Timeouts struct {
	Header time.Duration // to read a request's headers
	Idle   time.Duration // a keep-alive connection between requests
	Body   time.Duration // to read a request's body (the Cloud Extensions routes' JSON; the others want none)
}

// DefaultTimeouts are those the commands serve with.
var DefaultTimeouts = Timeouts{Header: 10 * time.Second, Idle: time.Minute, Body: 10 * time.Second}

// Server serves one fake on one listener.
type Server struct {
	ext    Fake
	logger *log.Logger
	srv    *http.Server
	served chan struct{} // closed once srv has stopped serving
}

// Serve serves ext on ln until Shutdown, logging one line per request to
// logger unless quiet.
func Serve(ln net.Listener, ext Fake, logger *log.Logger, quiet bool, t Timeouts) *Server {
	var handler http.Handler = ext
	if !quiet {
		handler = logRequests(ext, logger)
	}
	s := &Server{
		ext:    ext,
		logger: logger,
		srv: &http.Server{
			Handler:           bodyDeadline(handler, t.Body),
			ReadHeaderTimeout: t.Header,
			IdleTimeout:       t.Idle,
		},
		served: make(chan struct{}),
	}
	go func() {
		defer close(s.served)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Printf("serve: %v", err)
		}
	}()
	return s
}

// Shutdown closes the fake (which releases hung and delayed requests),
// stops the server and logs the fake's counters; reason says why.
func (s *Server) Shutdown(reason string) {
	s.Close()
	LogStats(s.logger, s.ext, reason)
}

// Close stops serving as Shutdown does, and logs nothing.
func (s *Server) Close() {
	s.ext.Close()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	<-s.served
}

// LogStats logs ext's counters as the server logs them when it stops;
// reason says why it stops.
func LogStats(logger *log.Logger, ext Fake, reason string) {
	stats, _ := json.Marshal(ext.Counters())
	logger.Printf("shutdown (%s): stats %s", reason, stats)
}

// bodyDeadline gives a request that comes with a body d to send it: the
// Cloud Extensions routes read theirs, and the server reads any other (to
// discard it) before it answers; either would otherwise wait for it
// without end.
func bodyDeadline(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		h.ServeHTTP(w, r)
	})
}

// logRequests logs one line per request: method, path, the names asked for,
// status and time. Never a value or a token; the path and the query as
// logSafe makes them, so that a request cannot forge a log line.
func logRequests(h http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := strconv.Itoa(sw.status)
			if sw.status == 0 {
				status = "no answer"
			}
			logger.Printf("%s %s%s -> %s (%.3fms)", r.Method, logSafe(r.URL.EscapedPath()), logSafe(loggedQuery(r.URL.RawQuery)), status, time.Since(start).Seconds()*1e3)
		}()
		h.ServeHTTP(sw, r)
	})
}

// namingKeys are the query parameters whose values name what a request
// asks for (an item, its version, a role, how to read it): the log shows
// them. Any other parameter's value is masked, since a request may carry a
// credential in its query, as a presigned request carries
// X-Amz-Security-Token and X-Amz-Signature.
var namingKeys = map[string]bool{"secretId": true, "name": true, "version": true, "label": true, "versionId": true,
	"versionStage": true, "withDecryption": true, "roleArn": true, "refreshNow": true}

// loggedQuery is a request's raw query as the log shows it: "" for none,
// else "?" and its parameters in order, the value of each that is not of
// namingKeys masked.
func loggedQuery(raw string) string {
	if raw == "" {
		return ""
	}
	params := strings.Split(raw, "&")
	for i, p := range params {
		k, _, hasValue := strings.Cut(p, "=")
		if key, err := url.QueryUnescape(k); hasValue && (err != nil || !namingKeys[key]) {
			params[i] = k + "=xxxxx"
		}
	}
	return "?" + strings.Join(params, "&")
}

// logSafe percent-encodes every byte of s that is not printable ASCII (a
// space included), so that what a client sends can neither break a log line
// nor pass control sequences to a terminal.
func logSafe(s string) string {
	var b strings.Builder
	for i := range len(s) {
		if c := s[i]; c > ' ' && c < 0x7f {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for resets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
