package mw

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// The environment variables Wrap reads, so that operators can declare
// items and point mw at its endpoint in the function's configuration,
// without a code change. The package documentation describes them.
const (
	envSecrets    = "MW_SECRETS"
	envParameters = "MW_PARAMETERS"
	envEndpoint   = "MW_ENDPOINT"
	envAgent      = "MW_AGENT"
	// envAllowRemote allows an endpoint on a host other than loopback.
	envAllowRemote = "MW_ALLOW_REMOTE_ENDPOINT"
)

// readEnv adds what the environment declares to c: items after those of
// code, and the endpoint and dialect where code set none. It returns the
// first malformed entry, quoted.
func readEnv(c *config) *declError {
	var first *declError
	keep := func(e *declError) { first = worse(first, e) }
	for _, v := range [...]struct {
		env  string
		kind Kind
	}{{envParameters, KindParameter}, {envSecrets, KindSecret}} {
		items, err := parseDeclarations(v.env, os.Getenv(v.env), v.kind)
		c.items = append(c.items, items...)
		keep(err)
	}
	keep(readBool(envAllowRemote, &c.ext.remote))
	if raw := os.Getenv(envEndpoint); c.ext.endpoint == "" && raw != "" {
		if u, err := checkEndpoint(raw, c.ext.remote, allowRemote(c)); err != nil {
			keep(&declError{msg: fmt.Sprintf("%s=%q: %v", envEndpoint, redactURL(raw), err), fromEnv: true})
		} else {
			c.ext.endpoint = u
		}
	}
	agent := c.ext.agent
	keep(readBool(envAgent, &c.ext.agent))
	c.ext.fromEnv = c.ext.agent && !agent
	return first
}

// readBool sets *b when env holds true, and reports a value that is not a
// boolean.
func readBool(env string, b *bool) *declError {
	raw := os.Getenv(env)
	if raw == "" {
		return nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return &declError{msg: fmt.Sprintf("%s=%q: want true or false", env, raw), fromEnv: true}
	}
	*b = *b || v
	return nil
}

// parseDeclarations reads a list such as "db=prod/db, /app/flags": entries
// separated by commas, each a name or ARN, or alias=name. An entry is cut at
// its first '=': a secret whose name holds '=' needs an alias.
func parseDeclarations(env, list string, k Kind) ([]item, *declError) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	entries := strings.Split(list, ",")
	var items []item
	var first *declError
	for n, raw := range entries {
		entry := strings.TrimSpace(raw)
		from := fmt.Sprintf("%s entry %d of %d, %q,", env, n+1, len(entries), entry)
		bad := func(why string) {
			if first == nil {
				first = &declError{msg: from + " " + why, fromEnv: true}
			}
		}
		alias, name, hasAlias := strings.Cut(entry, "=")
		alias, name = strings.TrimSpace(alias), strings.TrimSpace(name)
		if !hasAlias {
			alias, name = "", alias
		}
		switch {
		case entry == "":
			bad("is empty: separate entries with single commas")
			continue
		case hasAlias && alias == "":
			bad(`has no alias before "=": write alias=name, or the name alone`)
			continue
		case hasAlias && name == "":
			bad(`has no name after "=": write alias=name, or the name alone`)
			continue
		case strings.ContainsFunc(alias+name, unicode.IsSpace):
			bad(fmt.Sprintf("has a space inside: no %s name or alias holds one", k))
			continue
		}
		items = append(items, item{Item: Item{Kind: k, Name: name}, alias: alias, from: strings.TrimSuffix(from, ",")})
	}
	return items, first
}

// checkEndpoint validates a base URL such as http://localhost:2773, and
// returns it as mw sends to it: a loopback host spelt as Go's proxy rules
// exempt it (canonicalLoopback). Its host must be loopback unless remote
// allows another, since every request carries the session token; allow
// says how to allow one.
func checkEndpoint(raw string, remote bool, allow string) (string, error) {
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

// allowRemote says how to allow an endpoint off loopback, as c reads its
// switches.
func allowRemote(c *config) string {
	if c.noEnv {
		return "allow it with WithRemoteEndpoint (WithoutEnvironment ignores " + envAllowRemote + ")"
	}
	return "allow it with WithRemoteEndpoint or " + envAllowRemote + "=true"
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

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	_, ok := canonicalLoopback(host)
	return ok
}

// redactURL is raw for messages, with any password in it masked: an
// endpoint is configuration, but a URL may carry credentials.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndexByte(raw, '@'); at >= 0 {
		return "xxxxx" + raw[at:] // unparsable: mask all before the host
	}
	return raw
}
