package mw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lambda-mw/mw/internal/resolved"
)

// A fetcher gets the current value of one item. The extension client is the
// only one today; the seam lets other sources (an AWS SDK client, a test
// double) plug in.
type fetcher interface {
	// fetch gets it. force asks the source to bypass its own cache, where
	// it can.
	fetch(ctx context.Context, it item, force bool) (string, error)
}

const (
	// tokenHeader carries the caller's session token to the extension.
	tokenHeader = "X-Aws-Parameters-Secrets-Token"
	portEnv     = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
	defaultPort = "2773"
	// maxBody caps what is read of a response. A secret is at most 64 KiB
	// and a parameter at most 8 KiB; base64 and JSON framing add a third.
	maxBody = 1 << 20
	// maxErrText caps what an error message keeps of an error body.
	maxErrText = 256
)

// extensionClient talks to the AWS Parameters and Secrets Lambda Extension,
// or to the aws-secretsmanager-agent, over HTTP.
type extensionClient struct {
	endpoint string // fixed base URL, or "" to read the port on each fetch
	hc       *http.Client
	agent    bool // the Secrets Manager Agent, which honours refreshNow
}

func newExtensionClient(endpoint string, hc *http.Client, agent bool) *extensionClient {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the extension is local: never proxy
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	return &extensionClient{endpoint: strings.TrimSuffix(endpoint, "/"), hc: hc, agent: agent}
}

func (c *extensionClient) base() string {
	if c.endpoint != "" {
		return c.endpoint
	}
	port := os.Getenv(portEnv)
	if port == "" {
		port = defaultPort
	}
	return "http://localhost:" + port
}

// requestURL builds the extension URL for it. Names are query-escaped, which
// covers '+', '=', '@', '/' and the ':' of ARNs.
func (c *extensionClient) requestURL(it item, force bool) string {
	var b strings.Builder
	b.WriteString(c.base())
	switch it.kind {
	case resolved.Parameter:
		b.WriteString("/systemsmanager/parameters/get?name=")
		b.WriteString(queryEscape(it.name))
		b.WriteString("&withDecryption=true")
		if it.sel.version != 0 {
			b.WriteString("&version=")
			b.WriteString(strconv.FormatInt(it.sel.version, 10))
		}
		if it.sel.label != "" {
			b.WriteString("&label=")
			b.WriteString(queryEscape(it.sel.label))
		}
	case resolved.Secret:
		b.WriteString("/secretsmanager/get?secretId=")
		b.WriteString(queryEscape(it.name))
		if it.sel.versionID != "" {
			b.WriteString("&versionId=")
			b.WriteString(queryEscape(it.sel.versionID))
		}
		if it.sel.stage != "" {
			b.WriteString("&versionStage=")
			b.WriteString(queryEscape(it.sel.stage))
		}
		if force && c.agent {
			b.WriteString("&refreshNow=true")
		}
	}
	return b.String()
}

func (c *extensionClient) fetch(ctx context.Context, it item, force bool) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.requestURL(it, force), nil)
	if err != nil {
		return "", err
	}
	// Read on every fetch: the token belongs to the current credentials.
	token, err := c.token()
	if err != nil {
		return "", err
	}
	req.Header.Set(tokenHeader, token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return "", err
	}
	if len(body) > maxBody {
		return "", &malformedError{status: resp.StatusCode, reason: fmt.Sprintf("response larger than %d bytes", maxBody)}
	}
	if resp.StatusCode != http.StatusOK {
		return "", newStatusError(resp.StatusCode, body)
	}
	return decodeValue(it.kind, body)
}

// agentTokenEnv are where the Secrets Manager Agent reads its token from,
// in its order: the first that is set wins.
var agentTokenEnv = [...]string{"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}

// token returns the token the endpoint expects. The managed extension takes
// AWS_SESSION_TOKEN. The agent takes the first set of agentTokenEnv, where a
// file:// value names a file holding the token (as on EKS, where it
// rotates): it is read on each fetch.
func (c *extensionClient) token() (string, error) {
	if !c.agent {
		return os.Getenv("AWS_SESSION_TOKEN"), nil
	}
	for _, env := range agentTokenEnv {
		v := os.Getenv(env)
		if v == "" {
			continue
		}
		path, isFile := strings.CutPrefix(v, "file://")
		if !isFile {
			return v, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			// The path is configuration, not a secret; the error
			// says why it cannot be read.
			return "", &tokenError{env: env, err: err}
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// tokenError is a token file that cannot be read. It names the variable
// and the file, never the token.
type tokenError struct {
	env string
	err error
}

func (e *tokenError) Error() string {
	return fmt.Sprintf("reading the token file that %s names: %v", e.env, e.err)
}

func (e *tokenError) Unwrap() error { return e.err }

// statusError is a non-200 answer from the extension. It keeps the AWS error
// code of an agent-style JSON body, and a bounded copy of the body's text.
// Error bodies never hold values.
type statusError struct {
	status int
	code   string // the agent's "__type", such as ResourceNotFoundException
	text   string
}

func newStatusError(status int, body []byte) *statusError {
	e := &statusError{status: status}
	var aws struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	text := string(body)
	if json.Unmarshal(body, &aws) == nil && aws.Type != "" {
		// AWS JSON protocol codes may carry a namespace prefix:
		// "com.amazonaws.secretsmanager#ResourceNotFoundException".
		e.code = cleanCode(aws.Type[strings.LastIndexByte(aws.Type, '#')+1:])
		text = aws.Message
		if text == "" {
			text = aws.Message2
		}
	}
	e.text = cleanText(text, maxErrText)
	return e
}

// cleanCode keeps an error code to the characters AWS codes use, and to 64
// bytes, so that a body cannot forge log lines through it.
func cleanCode(code string) string {
	b := make([]byte, 0, min(len(code), 64))
	for i := 0; i < len(code) && len(b) < 64; i++ {
		if c := code[i]; unreserved(c) {
			b = append(b, c)
		}
	}
	return string(b)
}

// cleanText makes error-body text safe to quote in one line: every rune that
// is not printable, and every quote and backslash, becomes a space; runs of
// spaces fold; the result is cut at n bytes on a rune boundary.
func cleanText(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, " ") {
		if !unicode.IsPrint(r) || r == '"' || r == '\\' {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		if b.Len()+utf8.RuneLen(r) > n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

func (e *statusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.status)
	if e.code != "" {
		b.WriteString(" ")
		b.WriteString(e.code)
	}
	if e.text != "" {
		// Already cleaned: printable, no quotes, one line.
		b.WriteString(`: "`)
		b.WriteString(e.text)
		b.WriteString(`"`)
	}
	return b.String()
}

// malformedError is a 200 answer that could not be read. Its message never
// quotes the body, which may hold a value.
type malformedError struct {
	status int
	reason string
}

func (e *malformedError) Error() string {
	return "unreadable extension response: " + e.reason
}

// The documented success bodies; only the fields mw needs.
type parameterBody struct {
	Parameter *struct {
		Type  string  `json:"Type"`
		Value *string `json:"Value"`
	} `json:"Parameter"`
}

type secretBody struct {
	SecretString *string `json:"SecretString"`
	SecretBinary *string `json:"SecretBinary"`
}

// decodeValue reads a success body. A binary secret is returned as its raw
// bytes. Errors describe the shape, never the content.
func decodeValue(k resolved.Kind, body []byte) (string, error) {
	bad := func(reason string) error { return &malformedError{status: http.StatusOK, reason: reason} }
	switch k {
	case resolved.Parameter:
		var p parameterBody
		if err := json.Unmarshal(body, &p); err != nil {
			return "", bad(jsonProblem(err))
		}
		if p.Parameter == nil || p.Parameter.Value == nil {
			return "", bad("no Parameter.Value in the body")
		}
		return *p.Parameter.Value, nil
	case resolved.Secret:
		var s secretBody
		if err := json.Unmarshal(body, &s); err != nil {
			return "", bad(jsonProblem(err))
		}
		switch {
		case s.SecretString != nil:
			return *s.SecretString, nil
		case s.SecretBinary != nil:
			b, err := base64.StdEncoding.DecodeString(*s.SecretBinary)
			if err != nil {
				return "", bad("SecretBinary is not base64")
			}
			return string(b), nil
		}
		return "", bad("neither SecretString nor SecretBinary in the body")
	}
	return "", bad("unknown item kind")
}

// jsonProblem describes a decoding error without quoting the input: the
// standard library's syntax errors quote the offending character.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("JSON field %s is not a %s", te.Field, te.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return "invalid JSON"
}

// queryEscape is url.QueryEscape except that a space becomes %20, which every
// query parser reads the same way.
func queryEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
