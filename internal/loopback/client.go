// Package loopback holds what mw's own sources use to reach the local
// servers they read from (the Parameters and Secrets Lambda Extension, the
// Secrets Manager Agent, the AppConfig Agent, Cloud Extensions): one HTTP
// client, which never proxies, never follows a redirect and keeps no
// connection; the checks of their endpoints, which keep the session token
// on loopback unless the user allows another host; and the fixed words in
// which a failed request is described, which never quote what a server
// sent.
package loopback

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// maxHeader caps the response headers Client reads: the local servers'
// are a few hundred bytes.
const maxHeader = 16 << 10

// Client is mw's HTTP client, shared by every Wrap, as
// http.DefaultClient is by a program: one transport rather than one per
// Wrap. It never uses a proxy, never follows a redirect, caps response
// headers, and keeps no connection (see Get).
var Client = sync.OnceValue(func() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil, // the extension is local: never proxy
			DialContext:            (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: maxHeader,
		},
		CheckRedirect: refuseRedirect,
	}
})

// NoRedirects returns a client that does what hc does but never follows a
// redirect: the token must go to the endpoint the user chose and nowhere
// else, and neither the extension nor the agent redirects.
func NoRedirects(hc *http.Client) *http.Client {
	if hc == nil {
		return Client()
	}
	c := *hc
	c.CheckRedirect = refuseRedirect
	return &c
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Get sends req with hc and reads its answer's body, at most limit bytes
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
func Get(hc *http.Client, req *http.Request, limit int) (*http.Response, []byte, error) {
	req.Close = true
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	return resp, body, err
}
