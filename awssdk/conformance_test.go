package awssdk_test

import (
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/mwtest"
)

// The SDK source passes the conformance suite of sources against moto, as
// every source must; the Backend's faults are the proxy's answers, AWS's
// own. What the suite cannot know (the batches, pages, per-item failures
// and calls counted at the proxy) is tested in the other files of this
// package and, for spans and metrics, in ./test.
func TestConformance(t *testing.T) {
	mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
		b := newBackend(t)
		return awssdk.New(b.Config()), b
	})
}
