package loopback

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// CheckEndpoint validates a base URL such as http://localhost:2773, and
// returns it as mw sends to it: a loopback host spelt as Go's proxy rules
// exempt it (canonicalLoopback). Its host must be loopback unless remote
// allows another, since every request carries the session token; allow
// says how to allow one.
func CheckEndpoint(raw string, remote bool, allow string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", fmt.Errorf("not a URL") // url.Error would quote it, password and all
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("want an http:// or https:// base URL, such as http://localhost:2773")
	case u.Host == "":
		return "", fmt.Errorf("no host: want a base URL such as http://localhost:2773")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("want a base URL, without a query or fragment")
	}
	host, ok := canonicalLoopback(u.Hostname())
	switch {
	case !ok && !remote:
		return "", fmt.Errorf("%s is not a loopback host, and every request carries the session token: "+
			"the extension and the agent listen on localhost; to send the token to another host on purpose, %s", u.Hostname(), allow)
	case !ok || host == u.Hostname():
		return raw, nil
	case u.Port() != "":
		u.Host = host + ":" + u.Port()
	default:
		u.Host = host
	}
	return u.String(), nil
}

// loopbackName is how mw spells the loopback name on the wire: the one
// spelling that Go's proxy rules (net/http's ProxyFromEnvironment, after
// golang.org/x/net/http/httpproxy) exempt from HTTP_PROXY besides loopback
// addresses. They proxy "LocalHost" and "localhost.", so that a client
// whose transport honours HTTP_PROXY would send the token to the proxy.
const loopbackName = "localhost"

// canonicalLoopback reports whether host is loopback and returns it as mw
// sends it: localhost in any ASCII case, with or without the trailing dot
// of a fully qualified name, as loopbackName; a loopback IP address as it
// is, which Go's proxy rules read as mw does (net.ParseIP). A name that
// only Unicode case folding makes localhost ("localhoſt") is not loopback.
func canonicalLoopback(host string) (string, bool) {
	if isLocalhost(strings.TrimSuffix(host, ".")) {
		return loopbackName, true
	}
	ip := net.ParseIP(host)
	return host, ip != nil && ip.IsLoopback()
}

// isLocalhost reports whether name is loopbackName in any ASCII case.
func isLocalhost(name string) bool {
	if len(name) != len(loopbackName) {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != loopbackName[i] {
			return false
		}
	}
	return true
}

// Is reports whether host is localhost or a loopback address.
func Is(host string) bool {
	_, ok := canonicalLoopback(host)
	return ok
}

// RedactURL is raw for messages, with any password, query and fragment in
// it masked: an endpoint is configuration, but a URL may carry credentials
// in any of them.
func RedactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.RawQuery != "" {
			u.RawQuery = "xxxxx"
		}
		if u.Fragment != "" {
			u.Fragment, u.RawFragment = "xxxxx", ""
		}
		return u.Redacted()
	}
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i+1] + "xxxxx" // unparsable: mask all after the path
	}
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		return "xxxxx" + raw[at:] // and all before the host
	}
	return raw
}

// QueryEscape is url.QueryEscape except that a space becomes %20, which every
// query parser reads the same way.
func QueryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !Unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if Unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

// Unreserved reports whether c is an unreserved character of a URI (RFC
// 3986 §2.3), which no encoding changes.
func Unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// Localhost is http://localhost at the port the environment variable env
// names, read now, or def when it is unset; an error, naming env, when it
// is not a port number from 1 to 65535.
func Localhost(env, def string) (string, error) {
	port := os.Getenv(env)
	if port == "" {
		port = def
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return "", fmt.Errorf("%s is not a port number", env)
	}
	return "http://" + loopbackName + ":" + port, nil
}
