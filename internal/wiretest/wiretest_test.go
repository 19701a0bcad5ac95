package wiretest

import (
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
)

// Serve sends its answer byte for byte: a Content-Length in characters
// leaves the rest of a body unread by the client.
func TestServe(t *testing.T) {
	url, _ := Serve(t, InChars("200 OK", `{"v":"é"}`), false)
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"q":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != `{"v":"é"` {
		t.Errorf("%d %q; want 200 and the body cut one byte short", resp.StatusCode, b)
	}
}

// With hold, closed says when the client closed the connection.
func TestServeHold(t *testing.T) {
	url, closed := Serve(t, Whole("200 OK", "{}"), true)
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	<-closed
}

func TestCaptureLog(t *testing.T) {
	var l *Log
	t.Run("captured", func(t *testing.T) {
		l = CaptureLog(t)
		log.Print("seen")
	})
	prev := log.Writer()
	log.SetOutput(io.Discard) // the subtest's capture ended with it
	log.Print("not seen")
	log.SetOutput(prev)
	if s := l.String(); !strings.Contains(s, "seen") || strings.Contains(s, "not seen") {
		t.Errorf("log %q", s)
	}
}
