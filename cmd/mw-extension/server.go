package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The HTTP server: listening, logging requests, shutting down.

// shutdownGrace bounds how long shutdown waits for requests in flight.
const shutdownGrace = 2 * time.Second

// serverTimeouts bound each stage of a connection. There is no write
// timeout and no timeout on a whole request: -hang and -latency hold value
// requests on purpose, until their client gives up.
type serverTimeouts struct {
	header time.Duration // to read a request's headers
	idle   time.Duration // a keep-alive connection between requests
	body   time.Duration // to read a request's body, which no route wants
}

// defaultTimeouts are those run serves with.
var defaultTimeouts = serverTimeouts{header: 10 * time.Second, idle: time.Minute, body: 10 * time.Second}

// listen starts serving the fake on -host:-port. It returns the error of a
// failed listen, which the caller reports when Lambda wants it (after
// registering, in Lambda mode).
func (em *emulator) listen() error {
	var handler http.Handler = em.ext
	if !em.cfg.quiet {
		handler = logRequests(em.ext, em.logger)
	}
	em.srv = &http.Server{
		Handler:           bodyDeadline(handler, em.timeouts.body),
		ReadHeaderTimeout: em.timeouts.header,
		IdleTimeout:       em.timeouts.idle,
	}
	em.served = make(chan struct{})
	if !isLoopback(em.cfg.host) {
		em.logger.Printf("-host %s is not a loopback address: anyone who can reach it and sends the token can read every value", em.cfg.host)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(em.cfg.host, strconv.Itoa(em.cfg.port)))
	if err != nil {
		close(em.served)
		return err
	}
	em.logger.Printf("serving the %s dialect on http://%s", em.cfg.dialect, ln.Addr())
	go func() {
		defer close(em.served)
		if err := em.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			em.logger.Printf("serve: %v", err)
		}
	}()
	return nil
}

// shutdown closes the fake (which releases hung and delayed requests),
// stops the server and logs the counters.
func (em *emulator) shutdown(reason string) {
	em.ext.Close()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = em.srv.Shutdown(ctx)
	<-em.served
	stats, _ := json.Marshal(em.ext.Stats())
	em.logger.Printf("shutdown (%s): stats %s", reason, stats)
}

// isLoopback reports whether host names the loopback interface: an IP
// address of it, or "localhost". Any other name counts as not loopback.
func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// bodyDeadline gives a request that comes with a body d to send it. No
// route wants a body, but the server reads it (to discard it) before it
// answers, and would otherwise wait for it without end.
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
			q := ""
			if r.URL.RawQuery != "" {
				q = "?" + r.URL.RawQuery
			}
			logger.Printf("%s %s%s -> %s (%.3fms)", r.Method, logSafe(r.URL.EscapedPath()), logSafe(q), status, time.Since(start).Seconds()*1e3)
		}()
		h.ServeHTTP(sw, r)
	})
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
