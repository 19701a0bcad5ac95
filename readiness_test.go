package mw_test

import (
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A readiness probe whose answer is a retryable failure (a 5xx, a 429) shows
// the extension serving, but is no value: the item must be retried, not
// served. Before the fix, the item's result was left unset and landed as a
// success with an empty value.
func TestProbeAnsweredWithRetryableFailureIsRetriedNotServedEmpty(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault mwtest.Fault
	}{{"server error", mwtest.FaultServerError}, {"throttled", mwtest.FaultThrottle}} {
		t.Run(f.name, func(t *testing.T) {
			w := newWorld(t, mwtest.Managed)
			w.ext.PutSecret("s", "the-value")
			w.ext.NotReadyFor(1)            // the first attempt meets INIT: a bare 400
			w.ext.FailNext("s", f.fault, 1) // the probe that follows meets a retryable failure
			h := mw.Wrap(echo, w.opts(mw.WithSecrets("s"))...)
			got, err := h(invokeCtx(t, 5*time.Second), []string{"secret:s"})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if got["secret:s"] != "the-value" {
				t.Errorf("served %q with no error; want the value, once the retryable failure was retried", got["secret:s"])
			}
		})
	}
}
