package main

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// The proxy reaches RIE's Runtime API even when it starts to listen a
// moment after the function asks for its event, as it may on a loaded
// machine; when nothing ever listens, the runtime gets 502 and mw-local
// knows which request was lost, and why.
func TestTheProxyWaitsForRIEsRuntimeAPI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close() // nothing listens, for now

	api, proxy, err := startRuntimeAPI(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer api.close()
	asked := make(chan *http.Response, 1)
	go func() {
		resp, err := http.Get("http://" + proxy + runtimeNext)
		if err != nil {
			t.Error(err)
		}
		asked <- resp
	}()
	<-api.refused // the proxy tried, and nothing listened: RIE's Runtime API comes up now
	ln, err = net.Listen("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerRequestID, "r1")
		_, _ = w.Write([]byte("{}"))
	})}
	defer srv.Close()
	go func() { _ = srv.Serve(ln) }()
	if resp := <-asked; resp == nil || resp.StatusCode != http.StatusOK || api.lostRequest() != nil {
		t.Errorf("a Runtime API that listens late: %v, lost %v; want its event", resp, api.lostRequest())
	} else {
		resp.Body.Close()
	}

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := ln2.Addr().String()
	ln2.Close()
	gone, proxy2, err := startRuntimeAPI(nowhere, nil) // a port nothing listens on
	if err != nil {
		t.Fatal(err)
	}
	defer gone.close()
	resp, err := http.Get("http://" + proxy2 + runtimeNext)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if lost := gone.lostRequest(); resp.StatusCode != http.StatusBadGateway || lost == nil || !strings.Contains(lost.Error(), runtimeNext) {
		t.Errorf("no Runtime API: HTTP %d, lost %v; want 502 and the request named", resp.StatusCode, lost)
	}
}
