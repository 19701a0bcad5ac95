package awssdk_test

import (
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
	"github.com/lambda-mw/mw/mwtest"
)

// The SDK source passes the conformance suite of sources against moto, as
// every source must. What the suite cannot know (the batches, pages,
// per-item failures and calls counted at the proxy) is tested in the other
// files of this package and, for spans and metrics, in ./test.
func TestConformance(t *testing.T) {
	mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
		b := newBackend(t)
		return awssdk.New(b.Config()), conformanceBackend{b}
	})
}

// conformanceBackend is the moto backend as the suite drives it: its
// faults are the proxy's answers, AWS's own.
type conformanceBackend struct{ *moto.Backend }

func (b conformanceBackend) FailNext(name string, f mwtest.Fault, n int) {
	var mf moto.Fault
	switch f {
	case mwtest.FaultThrottle:
		mf = moto.Throttling()
	case mwtest.FaultServerError:
		mf = moto.ServerError("InternalServerError")
	case mwtest.FaultMalformed:
		mf = moto.Malformed(`{"unexpected":`)
	case mwtest.FaultReset:
		mf = moto.Fault{Reset: true}
	}
	mf.Times = n
	b.Fail("", name, mf)
}
