package fakeext

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

// A request cannot forge log lines: whatever its path and query hold
// (%0A, %0D, escape sequences, Unicode line separators), it logs one line
// of printable ASCII. The requests carry no token.
func TestRequestLogCannotBeForged(t *testing.T) {
	var logs syncBuffer
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken("tok")
	srv := httptest.NewServer(logRequests(ext, log.New(&logs, "", 0)))
	defer srv.Close()
	for _, p := range []string{
		"/x%0A[mw-extension]%20exit%200",
		"/systemsmanager/parameters/get%0D%0Aforged?name=%0Aforged",
		"/%1B[2J%E2%80%A8forged",
	} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Bytes that a server could pass through, raw, in a decoded path or a
	// query.
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.URL.Path = "/x\n[mw-extension] exit 0\r\x1b[2J\u2028"
	r.URL.RawQuery = "name=a\nforged\x00\u2029"
	logRequests(ext, log.New(&logs, "", 0)).ServeHTTP(httptest.NewRecorder(), r)

	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Errorf("4 requests logged %d lines:\n%s", len(lines), logs.String())
	}
	for _, l := range lines {
		for _, c := range []byte(l) {
			if c < 0x20 || c > 0x7e {
				t.Errorf("log line %q holds byte %#x", l, c)
				break
			}
		}
	}
	if !strings.Contains(logs.String(), "/x%0A[mw-extension]%20exit%200") {
		t.Errorf("the path is not logged escaped:\n%s", logs.String())
	}
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A request may carry a credential in its query, as a presigned request
// does: the log shows the values of the parameters that name what is
// asked for, and masks every other.
func TestRequestLogShowsNoQueryCredential(t *testing.T) {
	var logs syncBuffer
	ext := mwtest.New(mwtest.Managed)
	r := httptest.NewRequest(http.MethodGet, "/secretsmanager/get?secretId=prod%2Fdb&X-Amz-Security-Token=tok-canary&X-Amz-Signature=sig-canary&versionStage=AWSPREVIOUS", nil)
	logRequests(ext, log.New(&logs, "", 0)).ServeHTTP(httptest.NewRecorder(), r)
	s := logs.String()
	if strings.Contains(s, "canary") {
		t.Errorf("the request log shows a credential of the query: %s", s)
	}
	if !strings.Contains(s, "?secretId=prod%2Fdb&X-Amz-Security-Token=xxxxx&X-Amz-Signature=xxxxx&versionStage=AWSPREVIOUS") {
		t.Errorf("the request log does not show what is asked for: %s", s)
	}
}
