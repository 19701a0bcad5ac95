package mw_test

import (
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A handler's unit test is hermetic: with the fake's options, it reads no
// AWS_SESSION_TOKEN and none of the developer's MW_* variables.
func TestTheFakesOptionsIgnoreTheShell(t *testing.T) {
	t.Setenv("MW_SECRETS", "=bad entry")
	t.Setenv("MW_ENDPOINT", "http://192.0.2.1:1")
	t.Setenv("AWS_SESSION_TOKEN", "not the fake's")
	for _, d := range dialects {
		ext, srv := mwtest.Start(t, d)
		ext.SetToken("the fake's own")
		ext.PutSecret("s", "v")
		h := mw.Wrap(echo, append(ext.Options(srv.URL), mw.WithSecrets("s"))...)
		if got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"}); err != nil || got["secret:s"] != "v" {
			t.Errorf("%s: %v, %v", d, got, err)
		}
	}
}
