package moto

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Fault is an answer the proxy gives instead of moto's.
type Fault struct {
	// Status is the HTTP status; 0 means 200 for Body, 400 otherwise.
	Status int
	// Code and Message make the JSON error body AWS sends,
	// {"__type": Code, "message": Message}, also in X-Amzn-Errortype.
	Code, Message string
	// Body, if set, is sent as it is instead, as application/x-amz-json-1.1.
	Body string
	// Reset closes the connection without an answer.
	Reset bool
	// Times is how many requests the fault answers; 0 means all.
	Times int
	// After is how many of the requests it applies to pass before it
	// answers one: After 3 answers the fourth.
	After int
}

// Throttling is AWS's answer to a call over its rate quota.
func Throttling() Fault {
	return Fault{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"}
}

// TooManyRequests is an HTTP 429 with no modeled error code.
func TooManyRequests() Fault {
	return Fault{Status: 429, Body: `{"message":"Too Many Requests"}`}
}

// AccessDenied is IAM's refusal of action, in AWS's words.
func AccessDenied(action string) Fault {
	return Fault{Status: 400, Code: "AccessDeniedException", Message: "User: arn:aws:sts::" + AccountID +
		":assumed-role/mw-test/mw-test is not authorized to perform: " + action +
		" because no identity-based policy allows the " + action + " action"}
}

// ServerError is an HTTP 500 with code, such as InternalServerError
// (Parameter Store) or InternalServiceError (Secrets Manager).
func ServerError(code string) Fault {
	return Fault{Status: 500, Code: code, Message: "An internal error occurred."}
}

// Malformed is an HTTP 200 whose body is body, such as a truncated JSON.
func Malformed(body string) Fault { return Fault{Status: 200, Body: body} }

type rule struct {
	op, name string
	f        Fault
	left     int // answers left when f.Times > 0
	skip     int // requests to let pass first
}

// proxy forwards AWS JSON-protocol requests, and STS's query-protocol ones,
// to moto, counting them by operation (X-Amz-Target
// "AmazonSSM.GetParameters" counts as "GetParameters", Action=AssumeRole as
// "AssumeRole"), by the names they carry and by the role whose credentials
// signed them, and answering some itself.
type proxy struct {
	rp *httputil.ReverseProxy

	mu        sync.Mutex
	calls     map[string]int64
	byName    map[string]int64
	requests  int64
	faults    []*rule
	latency   time.Duration
	denied    map[string]bool
	noDecrypt map[string]bool

	// The roles: those AssumeRole may assume, the access key ids moto
	// issued for each, and the calls signed with them.
	assumable map[string]bool
	issued    map[string]string // access key id → role
	callsAs   map[callAs]int64
}

// callAs is a call of an operation made with a role's credentials; "" is
// the aws.Config's own.
type callAs struct{ op, role string }

func newProxy(target string) *proxy {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if r.Context().Err() == nil { // a client that went away is no error of moto's
			log.Printf("moto: proxy: %v", err)
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	return &proxy{
		rp:        rp,
		calls:     make(map[string]int64),
		byName:    make(map[string]int64),
		denied:    make(map[string]bool),
		noDecrypt: make(map[string]bool),
		assumable: make(map[string]bool),
		issued:    make(map[string]string),
		callsAs:   make(map[callAs]int64),
	}
}

func (p *proxy) set(f func(*proxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// request is what the proxy reads of a request body: the names it carries.
type request struct {
	Names        []string
	Name         string
	Path         string
	SecretId     string // the API's spelling
	SecretIdList []string
}

// readRequest reads what a request is: its operation and the names it
// carries, from an AWS JSON request (X-Amz-Target and the body) or from an
// AWS query request, as STS's are (Action and RoleArn in the form), and
// whether it is a query request.
func readRequest(r *http.Request, body []byte) (op string, names []string, query bool) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		var q request
		json.Unmarshal(body, &q) // a body it cannot read carries no names
		return target[strings.LastIndexByte(target, '.')+1:], q.names(), false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") == "" {
		return "", nil, false
	}
	if role := form.Get("RoleArn"); role != "" {
		names = append(names, role)
	}
	return form.Get("Action"), names, true
}

// accessKeyID is the access key id that signed r, from its Authorization
// header (AWS4-HMAC-SHA256 Credential=<id>/<date>/...), or "".
func accessKeyID(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

func (q request) names() []string {
	var ns []string
	ns = append(ns, q.Names...)
	ns = append(ns, q.SecretIdList...)
	for _, n := range []string{q.Name, q.Path, q.SecretId} {
		if n != "" {
			ns = append(ns, n)
		}
	}
	return ns
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	op, names, query := readRequest(r, body)
	ssm := strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")

	p.mu.Lock()
	p.requests++
	p.calls[op]++
	p.callsAs[callAs{op, p.issued[accessKeyID(r)]}]++
	for _, n := range names {
		p.byName[n]++
	}
	assumable := op != "AssumeRole" || len(names) == 1 && p.assumable[names[0]]
	latency := p.latency
	fault := p.draw(op, names)
	denied, noDecrypt := p.matching(names, ssm, p.denied), p.matching(names, ssm, p.noDecrypt)
	p.mu.Unlock()

	if !Delay(r, latency) {
		return
	}
	switch {
	case fault != nil && query:
		replyQuery(w, *fault)
	case fault != nil:
		reply(w, *fault)
	case !assumable:
		replyQuery(w, Fault{Status: 403, Code: "AccessDenied", Message: "User: arn:aws:sts::" + AccountID +
			":assumed-role/mw-test/mw-test is not authorized to perform: sts:AssumeRole on resource: " + strings.Join(names, ",")})
	case op == "AssumeRole":
		p.assumeRole(w, r, names[0])
	case op == "BatchGetSecretValue" && (len(denied) > 0 || len(noDecrypt) > 0):
		p.batchWithErrors(w, r, denied, noDecrypt)
	case len(denied) > 0 && (ssm || op == "GetSecretValue"):
		action := "secretsmanager:" + op
		if ssm {
			action = "ssm:" + op
		}
		reply(w, AccessDenied(action))
	case len(noDecrypt) > 0 && ssm:
		reply(w, Fault{Status: 400, Code: "AccessDeniedException", Message: msgParameterDecrypt})
	case len(noDecrypt) > 0 && op == "GetSecretValue":
		reply(w, Fault{Status: 400, Code: "DecryptionFailure", Message: msgSecretDecrypt})
	default:
		p.rp.ServeHTTP(w, r)
	}
}

// Delay waits d before a server answers r, and reports whether it did:
// false when r's client went away first, and the request is to be dropped.
func Delay(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// AWS's messages for a KMS key the caller may not use.
const (
	msgParameterDecrypt = "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."
	msgSecretDecrypt    = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
)

// draw returns the first fault that applies to a request for op carrying
// names, and uses one of its answers.
func (p *proxy) draw(op string, names []string) *Fault {
	for i, r := range p.faults {
		if r.op != "" && r.op != op || r.name != "" && !contains(names, r.name) {
			continue
		}
		if r.skip > 0 {
			r.skip--
			continue
		}
		f := r.f
		if f.Times > 0 {
			if r.left--; r.left == 0 {
				p.faults = append(p.faults[:i:i], p.faults[i+1:]...)
			}
		}
		return &f
	}
	return nil
}

func contains(names []string, n string) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}

// matching returns, of the requested names, those that refer to a name in
// set, as requested.
func (p *proxy) matching(names []string, ssm bool, set map[string]bool) []string {
	var out []string
	for _, n := range names {
		for s := range set {
			if ssm && parameterRefersTo(n, s) || !ssm && secretRefersTo(n, s) {
				out = append(out, n)
			}
		}
	}
	return out
}

// parameterRefersTo reports whether a requested parameter name (or ARN,
// with or without a selector) is the parameter name.
func parameterRefersTo(req, name string) bool {
	if i := strings.Index(req, ":parameter/"); strings.HasPrefix(req, "arn:") && i >= 0 {
		req = req[i+len(":parameter/"):]
	}
	if i := strings.IndexByte(req, ':'); i >= 0 {
		req = req[:i]
	}
	return strings.TrimPrefix(req, "/") == strings.TrimPrefix(name, "/")
}

// secretRefersTo reports whether a requested secret id (a name, a full or
// partial ARN) is the secret name.
func secretRefersTo(id, name string) bool {
	if id == name {
		return true
	}
	i := strings.Index(id, ":secret:")
	if !strings.HasPrefix(id, "arn:") || i < 0 {
		return false
	}
	rest := id[i+len(":secret:"):]
	return rest == name || len(rest) == len(name)+7 && strings.HasPrefix(rest, name+"-")
}

// batchWithErrors forwards a BatchGetSecretValue and moves the secrets the
// caller may not read or decrypt from SecretValues to Errors, as AWS does.
func (p *proxy) batchWithErrors(w http.ResponseWriter, r *http.Request, denied, noDecrypt []string) {
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	var out struct {
		SecretValues []map[string]any
		Errors       []map[string]any
		NextToken    *string
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	kept := out.SecretValues[:0]
	for _, v := range out.SecretValues {
		name, _ := v["Name"].(string)
		id, code, msg := "", "", ""
		for _, d := range denied {
			if secretRefersTo(d, name) {
				id, code, msg = d, "AccessDeniedException", AccessDenied("secretsmanager:GetSecretValue").Message
			}
		}
		for _, d := range noDecrypt {
			if id == "" && secretRefersTo(d, name) {
				id, code, msg = d, "DecryptionFailure", msgSecretDecrypt
			}
		}
		if id == "" {
			kept = append(kept, v)
			continue
		}
		out.Errors = append(out.Errors, map[string]any{"SecretId": id, "ErrorCode": code, "Message": msg})
	}
	out.SecretValues = kept
	b, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// assumeRole forwards an AssumeRole call for role, and notes the access
// key id moto issued for it, so that the calls signed with that key count
// as the role's.
func (p *proxy) assumeRole(w http.ResponseWriter, r *http.Request, role string) {
	rec := httptest.NewRecorder()
	p.rp.ServeHTTP(rec, r)
	var out struct {
		Result struct {
			Credentials struct{ AccessKeyId string }
		} `xml:"AssumeRoleResult"`
	}
	if rec.Code == http.StatusOK && xml.Unmarshal(rec.Body.Bytes(), &out) == nil && out.Result.Credentials.AccessKeyId != "" {
		p.set(func(p *proxy) { p.issued[out.Result.Credentials.AccessKeyId] = role })
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// replyQuery answers f as an AWS query API (STS) does: an XML
// ErrorResponse.
func replyQuery(w http.ResponseWriter, f Fault) {
	if f.Reset || f.Body != "" {
		reply(w, f)
		return
	}
	status := f.Status
	if status == 0 {
		status = 400
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>`)
	xml.EscapeText(&b, []byte(f.Code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(f.Message))
	b.WriteString(`</Message></Error><RequestId>mw-moto-proxy</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// reply answers f.
func reply(w http.ResponseWriter, f Fault) {
	if f.Reset {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(interface{ SetLinger(int) error }); ok {
					tc.SetLinger(0)
				}
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}
	body, status := f.Body, f.Status
	if body == "" {
		b, _ := json.Marshal(map[string]string{"__type": f.Code, "message": f.Message})
		body = string(b)
		w.Header().Set("X-Amzn-Errortype", f.Code)
		if status == 0 {
			status = 400
		}
	}
	if status == 0 {
		status = 200
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "mw-moto-proxy")
	w.WriteHeader(status)
	io.WriteString(w, body)
}
