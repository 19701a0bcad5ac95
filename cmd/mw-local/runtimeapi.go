package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The Lambda Runtime API, between the function and RIE. RIE tells little:
// a failed INIT gets an empty answer, and a function error looks like a
// response. So the function talks to RIE through this proxy, which passes
// every request on unchanged and sees the invocation lifecycle as Lambda
// defines it: the runtime ends its INIT by asking for its first event, gets
// each event, and posts each result or error.
//
// Paths, from the Runtime API's reference (version 2018-06-01).
const (
	runtimeNext      = "/2018-06-01/runtime/invocation/next"
	runtimeInvoke    = "/2018-06-01/runtime/invocation/" // <id>/response or <id>/error
	runtimeInitError = "/2018-06-01/runtime/init/error"
	headerRequestID  = "Lambda-Runtime-Aws-Request-Id"
)

// maxErrorBody caps what the proxy keeps of an error the runtime reports.
const maxErrorBody = 64 << 10

// runtimeAPI is the proxy, and what it saw.
type runtimeAPI struct {
	proxy     *httputil.ReverseProxy
	transport *http.Transport
	firstSeen func() // called once, when the first event reaches the runtime

	mu        sync.Mutex
	first     bool
	delivered map[string]bool   // request ids whose event the runtime got
	outcome   map[string]string // request id: "response" or "error"
	initError []byte            // what the runtime posted to init/error, if it did
	lost      error             // the first request the proxy could not pass on to RIE, if any

	refusedOnce sync.Once
	refused     chan struct{} // closed when RIE's Runtime API first refused a connection
	srv         *http.Server
	done        chan struct{}
}

// startRuntimeAPI serves the proxy to RIE's Runtime API at target on a
// loopback port, and returns its address (host:port). firstSeen runs when
// the first event reaches the runtime, before the runtime gets it.
func startRuntimeAPI(target string, firstSeen func()) (*runtimeAPI, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	to := &url.URL{Scheme: "http", Host: target}
	a := &runtimeAPI{
		firstSeen: firstSeen,
		delivered: map[string]bool{},
		outcome:   map[string]string{},
		done:      make(chan struct{}),
		refused:   make(chan struct{}),
	}
	a.transport = &http.Transport{DisableCompression: true, DialContext: a.dialPatiently}
	a.proxy = &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(to); r.Out.Host = r.In.Host },
		Transport:      a.transport,
		ModifyResponse: a.sawResponse,
		ErrorHandler:   a.couldNotPass,
		ErrorLog:       discardLog,
	}
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve)}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(ln)
	}()
	return a, ln.Addr().String(), nil
}

// serve notes the results and errors the runtime posts, and passes every
// request on.
func (a *runtimeAPI) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == runtimeInitError:
		body, _ := io.ReadAll(io.LimitReader(r.Body, maxErrorBody))
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		a.mu.Lock()
		a.initError = body
		a.mu.Unlock()
	case r.Method == http.MethodPost && strings.HasPrefix(p, runtimeInvoke):
		id, what, ok := strings.Cut(strings.TrimPrefix(p, runtimeInvoke), "/")
		if ok && (what == "response" || what == "error") {
			a.mu.Lock()
			if _, seen := a.outcome[id]; !seen {
				a.outcome[id] = what
			}
			a.mu.Unlock()
		}
	}
	a.proxy.ServeHTTP(w, r)
}

// dialPatiently dials RIE's Runtime API, trying again for up to 2 s while
// nothing listens there yet: on a loaded machine, the function can ask for
// its event before RIE's Runtime API takes connections.
func (a *runtimeAPI) dialPatiently(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := d.DialContext(ctx, network, addr)
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			return c, err
		}
		a.refusedOnce.Do(func() { close(a.refused) })
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// couldNotPass answers the runtime 502 for a request the proxy could not
// pass on to RIE, and keeps the first such failure, for mw-local to say.
func (a *runtimeAPI) couldNotPass(w http.ResponseWriter, r *http.Request, err error) {
	a.mu.Lock()
	if a.lost == nil {
		a.lost = fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err)
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusBadGateway)
}

// lostRequest returns the first request the proxy could not pass on to
// RIE, if any.
func (a *runtimeAPI) lostRequest() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lost
}

// sawResponse notes each event RIE hands the runtime; the first one is the
// end of the function's INIT and the moment the extensions get their own
// first INVOKE event: firstSeen runs before the runtime sees it.
func (a *runtimeAPI) sawResponse(resp *http.Response) error {
	if resp.Request.URL.Path != runtimeNext || resp.StatusCode != http.StatusOK {
		return nil
	}
	id := resp.Header.Get(headerRequestID)
	a.mu.Lock()
	a.delivered[id] = true
	first := !a.first
	a.first = true
	a.mu.Unlock()
	if first && a.firstSeen != nil {
		a.firstSeen()
	}
	return nil
}

// seen reports whether the runtime got request id's event, and what it
// posted for it: "response", "error" or "".
func (a *runtimeAPI) seen(id string) (delivered bool, outcome string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.delivered[id], a.outcome[id]
}

// reportedInitError returns what the runtime posted to init/error, if
// anything.
func (a *runtimeAPI) reportedInitError() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.initError
}

// close stops the proxy; a runtime still waiting for an event gets an
// error, and a Go runtime then exits.
func (a *runtimeAPI) close() {
	_ = a.srv.Close()
	<-a.done
	a.transport.CloseIdleConnections()
}
