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

// listen starts serving the fake on -host:-port. It returns the error of a
// failed listen, which the caller reports when Lambda wants it (after
// registering, in Lambda mode).
func (em *emulator) listen() error {
	var handler http.Handler = em.ext
	if !em.cfg.quiet {
		handler = logRequests(em.ext, em.logger)
	}
	em.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	em.served = make(chan struct{})
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
