package mw_test

import (
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// mw's own source passes the conformance suite of sources, in both
// dialects, against mwtest's fake: the extension (which answers a missing
// item with its generic 400) and the Secrets Manager Agent (which serves
// secrets only).
func TestTheExtensionSourceConforms(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
				ext, srv := mwtest.Start(t, d)
				return mw.NewExtensionSource(srv.URL, d == mwtest.Agent, mwtest.DefaultToken), ext
			})
		})
	}
}

// mw's AppConfig source passes it against mwtest's fake of the AppConfig
// extension: it serves AppConfig profiles only.
func TestTheAppConfigSourceConforms(t *testing.T) {
	mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
		ext, srv := mwtest.Start(t, mwtest.AppConfig)
		return mw.NewAppConfigSource(srv.URL), ext
	})
}
