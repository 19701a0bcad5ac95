package cloudext_test

import (
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/mwtest"
)

// The Cloud Extensions source passes the conformance suite of sources
// against the fake runtime, as every source must, in each of the profile's
// authentications. The fake is an mwtest.AppConfigBackend itself.
func TestConformance(t *testing.T) {
	for _, auth := range []cloudexttest.Auth{
		{Mode: cloudexttest.AuthRuntimeCredentials},
		{Mode: cloudexttest.AuthExtensionKey},
		{Mode: cloudexttest.AuthNone},
	} {
		t.Run(mode(auth), func(t *testing.T) {
			mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
				f, srv := cloudexttest.Start(t, cloudexttest.Settings{Auth: auth})
				return f.NewSource(srv.URL), f
			})
		})
	}
}

func mode(a cloudexttest.Auth) string {
	switch a.Mode {
	case cloudexttest.AuthExtensionKey:
		return "extensionKey"
	case cloudexttest.AuthNone:
		return "none"
	}
	return "runtimeCredentials"
}
