package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"strconv"
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
// status and time. Never a value or a token.
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
			logger.Printf("%s %s%s -> %s (%s)", r.Method, r.URL.Path, q, status, time.Since(start).Round(time.Microsecond))
		}()
		h.ServeHTTP(sw, r)
	})
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
