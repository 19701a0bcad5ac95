package cloudext_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/internal/wiretest"
)

// Nothing from the wire goes into an error. net/http's own transport
// errors quote what the server sent (`malformed HTTP response
// "{\"ARN\":…`): an endpoint that answers a bare body (a wrong port, a raw
// proxy, a desynced connection) must not put the value into the
// *mw.SourceError, which becomes the invoke's error and the span's status.
func TestTransportFailuresQuoteNothingFromTheWire(t *testing.T) {
	body := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + canary + `"}`
	for _, c := range []struct {
		name, answer string
		class        mw.Class
	}{
		{"a bare body", body, mw.ClassMalformed},
		{"a garbage status line", "HTTP/1.1 " + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage version", canary + " 200 OK\r\n\r\n", mw.ClassMalformed},
		{"a garbage header line", "HTTP/1.1 200 OK\r\n" + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: " + canary + "\r\n\r\n", mw.ClassMalformed},
		{"a garbage Transfer-Encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + canary + "\r\n\r\n" + body, mw.ClassMalformed},
		{"a garbage chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + canary + "\r\n", mw.ClassMalformed},
		{"a truncated answer", "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" + body, mw.ClassUnavailable},
	} {
		src := rawSource(t, c.answer)
		for _, it := range []mw.Item{secret("s"), param("/p"), profile("a", "e", "p")} {
			r := fetch(t, src, it)[0] // fetch checks every printed form for the canary
			se, ok := errors.AsType[*mw.SourceError](r.Err)
			switch {
			case !ok:
				t.Errorf("%s, %s: %v; want a *mw.SourceError", c.name, it, r.Err)
			case se.Class != c.class:
				t.Errorf("%s, %s: class %s; want %s (%v)", c.name, it, se.Class, c.class, se)
			case c.class == mw.ClassUnavailable && (!se.Retry || !errors.Is(se, io.ErrUnexpectedEOF)):
				t.Errorf("%s, %s: retry %v, %v; want a retry, and io.ErrUnexpectedEOF", c.name, it, se.Retry, se)
			}
		}
	}
}

// Nothing from the wire goes into the process's log. An endpoint whose
// Content-Length is short (counted in characters, not bytes), or that
// answers twice, leaves bytes on the connection after its answer; net/http,
// reading a kept connection while it is idle, logs what it finds there
// ("Unsolicited response received on idle HTTP channel starting with …"):
// the tail of the value, on the standard logger, which Lambda sends to
// CloudWatch. No connection that carried such an answer may be kept.
func TestNothingFromTheWireReachesTheProcessLog(t *testing.T) {
	logged := wiretest.CaptureLog(t)

	value := strings.Repeat("é", 40) + canary
	secretBody := `{"ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf","Name":"s","SecretString":"` + value + `"}`
	inChars, whole := wiretest.InChars, wiretest.Whole
	for _, c := range []struct {
		name, answer string
		it           mw.Item
	}{
		{"a secret, its length in characters", inChars("200 OK", secretBody), secret("s")},
		{"a 400, its length in characters", inChars("400 Bad Request", `{"__type":"ResourceNotFoundException","message":"`+value+`"}`), secret("s")},
		{"an answer, then another", whole("200 OK", `{"Name":"s","SecretString":"v"}`) + whole("200 OK", secretBody), secret("s")},
		{"parameters, their length in characters", inChars("200 OK", `{"Parameters":[{"Name":"/p","Value":"`+value+`"}],"InvalidParameters":[]}`), param("/p")},
	} {
		for client, hc := range map[string]*http.Client{"the Source's client": nil, "a user's client": {Transport: &http.Transport{}}} {
			url, closed := wiretest.Serve(t, c.answer, true)
			opts := []cloudext.Option{cloudext.WithEndpoint(url)}
			if hc != nil {
				opts = append(opts, cloudext.WithHTTPClient(hc))
			}
			src := cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), opts...)
			fetch(t, src, c.it)
			// Not a speed measurement: a bound on a wait for the client to
			// close the connection, which it does at once, or never.
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Errorf("%s, %s: the connection is kept", c.name, client)
			}
			if l := logged.String(); strings.Contains(l, canary) || strings.Contains(l, "Unsolicited") {
				t.Errorf("%s, %s: the log shows what the endpoint sent:\n%s", c.name, client, l)
			}
		}
	}
}

// An answer is served only when every field that names the item agrees
// with the question: a Name of another secret, an ARN of another secret
// beside the right Name, an ARN of another secret with no Name. The
// answer is checked as strictly as mw's own extension source checks it:
// duplicate keys and lone surrogates, which a decoder reads one way and a
// person another, are refused.
func TestAnswersNameTheSecretAskedFor(t *testing.T) {
	const arnOf = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	for _, c := range []struct{ name, body string }{
		{"another Name", `{"Name":"other","SecretString":"` + canary + `"}`},
		{"the Name, the ARN of another", `{"Name":"s","ARN":"` + arnOf + `other-AbCdEf","SecretString":"` + canary + `"}`},
		{"no Name, the ARN of another", `{"ARN":"` + arnOf + `other-AbCdEf","SecretString":"` + canary + `"}`},
		{"the Name twice, another's first", `{"Name":"other","Name":"s","SecretString":"` + canary + `"}`},
		{"SecretString twice", `{"Name":"s","SecretString":"x","SecretString":"` + canary + `"}`},
		{"a lone surrogate", `{"Name":"s","SecretString":"` + canary + `\ud800"}`},
	} {
		src := rawSource(t, wiretest.Whole("200 OK", c.body))
		r := fetch(t, src, secret("s"))[0]
		if r.Err == nil {
			t.Errorf("%s: served", c.name)
			continue
		}
		if se, ok := errors.AsType[*mw.SourceError](r.Err); !ok || se.Class != mw.ClassMalformed {
			t.Errorf("%s: %v; want malformed", c.name, r.Err)
		}
	}
}

// An answer of GetParameters is matched to its request only when its Name
// and its ARN, each when present, name the same parameter.
func TestParametersAnswerNamesTheParameterAskedFor(t *testing.T) {
	body := `{"Parameters":[{"Name":"/p","ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/other","Value":"` + canary + `"}],"InvalidParameters":[]}`
	src := rawSource(t, amzJSON(body))
	if r := fetch(t, src, param("/p"))[0]; r.Err == nil {
		t.Errorf("an answer whose ARN names another parameter was served")
	}
}

// A secret read through Parameter Store is matched to its answer as AWS
// shapes it: the reference as Name, the secret's ARN. An answer that names
// another secret, or a parameter, is not served.
func TestParametersAnswerNamesTheSecretReferenced(t *testing.T) {
	const (
		ref       = "/aws/reference/secretsmanager/prod/db"
		secretARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
	)
	for _, c := range []struct {
		name, asked, entry string
		serve              bool
	}{
		{"AWS's shape", ref, `"Name":"` + ref + `","ARN":"` + secretARN + `"`, true},
		// moto answers a reference so, but to Cloud Extensions, which moto
		// is never behind, it is the answer of the parameter prod/db.
		{"the parameter of the secret's name", ref, `"Name":"prod/db","ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/prod/db"`, false},
		{"AWS's shape, a stage", ref + ":AWSPREVIOUS", `"Name":"` + ref + `","ARN":"` + secretARN + `","Selector":":AWSPREVIOUS"`, true},
		{"AWS's shape, by the secret's ARN", "/aws/reference/secretsmanager/" + secretARN, `"Name":"/aws/reference/secretsmanager/` + secretARN + `","ARN":"` + secretARN + `"`, true},
		{"another secret's ARN", ref, `"Name":"` + ref + `","ARN":"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/dbx-AbCdEf"`, false},
		{"another secret's name", ref, `"Name":"prod/dbx","ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/prod/dbx"`, false},
		{"another reference", ref, `"Name":"/aws/reference/secretsmanager/prod/dbx"`, false},
	} {
		body := `{"Parameters":[{` + c.entry + `,"Type":"SecureString","Version":0,"Value":"` + canary + `"}],"InvalidParameters":[]}`
		src := rawSource(t, amzJSON(body))
		r := fetch(t, src, param(c.asked))[0]
		switch {
		case c.serve && (r.Err != nil || r.Value != canary):
			t.Errorf("%s: %v; want the value", c.name, r.Err)
		case !c.serve && r.Err == nil:
			t.Errorf("%s: served", c.name)
		}
	}
}

// The AppConfig extension's answers are read as strictly: a content or a
// flag's state given twice is malformed, not the last one's.
func TestAppConfigAnswersReadStrictly(t *testing.T) {
	for _, c := range []struct{ name, body string }{
		{"content twice", `{"content":"e30=","content":"eyJ4IjoxfQ=="}`},
		{"enabled twice", `{"enabled":false,"ENABLED":true}`},
	} {
		src := rawSource(t, amzJSON(c.body))
		it := profile("a", "e", "p")
		var err error
		if strings.HasPrefix(c.name, "content") {
			err = fetch(t, src, it)[0].Err
		} else {
			_, err = src.EvaluateFlag(t.Context(), it, "f", nil)
		}
		if se, ok := errors.AsType[*mw.SourceError](err); !ok || se.Class != mw.ClassMalformed {
			t.Errorf("%s: %v; want malformed", c.name, err)
		}
	}
}

// hostRecorder is a transport that serves requests with a fake, in
// process, and records the host each was sent to: the wire's spelling.
type hostRecorder struct {
	f     http.Handler
	mu    sync.Mutex
	hosts []string
}

func (r *hostRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	rec := httptest.NewRecorder()
	r.f.ServeHTTP(rec, req)
	return rec.Result(), nil
}

// Every spelling of loopback goes on the wire as one that Go's proxy rules
// (net/http's ProxyFromEnvironment) exempt: "localhost" exactly, or a
// loopback address. With a user's client whose transport honours
// HTTP_PROXY, "LocalHost" or "localhost." would send the signed request,
// the session token and the SSRF token to the proxy.
func TestLoopbackEndpointsAreSentAsGoExemptsThem(t *testing.T) {
	for _, host := range []string{"localhost", "LocalHost", "LOCALHOST", "localhost.", "LocalHost.", "127.0.0.1", "[::1]"} {
		f := cloudexttest.New(cloudexttest.Settings{SSRFToken: ssrfToken})
		t.Cleanup(f.Close)
		items := stock(f)
		rec := &hostRecorder{f: f}
		src := f.NewSource("http://"+host+":5333", cloudext.WithHTTPClient(&http.Client{Transport: rec}))
		for _, it := range items {
			if r := fetch(t, src, it)[0]; r.Err != nil || r.Value != canary+"v" {
				t.Errorf("%s, %v: %v", host, it, r.Err)
			}
		}
		for _, hostport := range rec.hosts {
			h, _, err := net.SplitHostPort(hostport)
			if ip := net.ParseIP(h); err != nil || h != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Errorf("%s was sent to %q, which Go's proxy rules would send through HTTP_PROXY", host, hostport)
			}
		}
	}
}

// A parameter pinned to a version or a label is served only from an
// answer whose Version and Selector, each when present, are the ones
// asked for.
func TestParametersAnswerTheVersionAskedFor(t *testing.T) {
	for _, c := range []struct {
		name  string
		it    mw.Item
		param string
		serve bool
	}{
		{"version 3, answered 2", mw.Item{Kind: mw.KindParameter, Name: "/p", Version: 3}, `"Version":2,"Selector":":3"`, false},
		{"version 3, answered selector :2", mw.Item{Kind: mw.KindParameter, Name: "/p", Version: 3}, `"Version":3,"Selector":":2"`, false},
		{"label live, answered selector :old", mw.Item{Kind: mw.KindParameter, Name: "/p", Label: "live"}, `"Version":4,"Selector":":old"`, false},
		{"version 3, answered 3", mw.Item{Kind: mw.KindParameter, Name: "/p", Version: 3}, `"Version":3,"Selector":":3"`, true},
		{"label live, answered :live", mw.Item{Kind: mw.KindParameter, Name: "/p", Label: "live"}, `"Version":4,"Selector":":live"`, true},
		{"the latest, answered 7", param("/p"), `"Version":7`, true},
	} {
		body := `{"Parameters":[{"Name":"/p",` + c.param + `,"Value":"` + canary + `"}],"InvalidParameters":[]}`
		src := rawSource(t, amzJSON(body))
		r := fetch(t, src, c.it)[0]
		if served := r.Err == nil; served != c.serve {
			t.Errorf("%s: served %v (%v); want %v", c.name, served, r.Err, c.serve)
		}
	}
}

// An endpoint that echoes a token the request carried (the SSRF token, the
// session token the signature sends) as its error code, in
// X-Amzn-Errortype or __type, whole or in part, puts none of it into the
// error: a token of letters and digits has the shape of a code.
func TestAnEchoedTokenReachesNoError(t *testing.T) {
	const (
		ssrf    = "SsrfTokenCANARY0123456789"
		session = "SessionCANARY0123456789abcdefghijklmnop"
	)
	cfg := cloudexttest.New(cloudexttest.Settings{}).Config()
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: session, Source: "test"}, nil
	})
	for name, echo := range map[string]func(w http.ResponseWriter, r *http.Request){
		"the SSRF token, in X-Amzn-Errortype": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Amzn-Errortype", r.Header.Get(cloudext.DefaultSSRFHeader))
			w.WriteHeader(http.StatusForbidden)
		},
		"the session token, in __type": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `{"__type":%q}`, r.Header.Get("X-Amz-Security-Token"))
		},
		"a run of the session token, in X-Amzn-Errortype": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Amzn-Errortype", r.Header.Get("X-Amz-Security-Token")[:16])
			w.WriteHeader(http.StatusForbidden)
		},
	} {
		srv := httptest.NewServer(http.HandlerFunc(echo))
		src := cloudext.New(cfg, cloudext.WithEndpoint(srv.URL), cloudext.WithSSRFToken(ssrf))
		err := fetch(t, src, secret("s"))[0].Err
		srv.Close()
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, s := range []string{fmt.Sprint(err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), err.(*mw.SourceError).Hint} {
			if strings.Contains(s, "CANARY") {
				t.Errorf("%s: a token is in the error: %s", name, s)
				break
			}
		}
	}
}

// A parameter at the root of the hierarchy is one with or without its
// leading '/': /db asked, the answer names it as stored, db, with the same
// ARN, and is served.
func TestARootParameterByItsOtherSpelling(t *testing.T) {
	body := `{"Parameters":[{"Name":"db","ARN":"arn:aws:ssm:us-east-1:123456789012:parameter/db","Type":"String","Version":1,"Value":"` + canary + `"}],"InvalidParameters":[]}`
	src := rawSource(t, amzJSON(body))
	if r := fetch(t, src, param("/db"))[0]; r.Err != nil || r.Value != canary {
		t.Errorf("%v; want the value", r.Err)
	}
}

// rawSource is a Source for an endpoint that sends answer, byte for byte,
// to every request (wiretest.Serve).
func rawSource(t *testing.T, answer string) *cloudext.Source {
	t.Helper()
	url, _ := wiretest.Serve(t, answer, false)
	return cloudext.New(cloudexttest.New(cloudexttest.Settings{}).Config(), cloudext.WithEndpoint(url))
}

// amzJSON is a 200 answer of the AWS JSON 1.1 protocol that carries body.
func amzJSON(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}
