package awssdk_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/logging"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// TestNoBodiesLogged: a ClientLogMode that asks for bodies does not make
// the Source's clients log values; it still logs what it may.
func TestNoBodiesLogged(t *testing.T) {
	b := newBackend(t)
	seedCanaries(b)
	var mu sync.Mutex
	var buf bytes.Buffer
	cfg := b.Config()
	cfg.Logger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
		mu.Lock()
		defer mu.Unlock()
		buf.WriteString(strings.TrimSpace(format) + "\n")
		for _, x := range v {
			if s, ok := x.(string); ok {
				buf.WriteString(s + "\n")
			} else if bs, ok := x.([]byte); ok {
				buf.Write(bs)
			}
		}
	})
	cfg.ClientLogMode = aws.LogRequestWithBody | aws.LogResponseWithBody | aws.LogRetries
	src := awssdk.New(cfg)
	for _, c := range calls {
		res := src.Fetch(t.Context(), c.op, []mw.Item{c.item})
		if res[0].Err != nil {
			t.Fatalf("%s: %v", c.op, res[0].Err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(buf.String(), canary) {
		t.Errorf("a value was logged:\n%s", buf.String())
	}
}
