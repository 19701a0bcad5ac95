// Package test holds no code: its tests drive mw.Wrap with the SDK source
// against moto, alone and mixed with mw's own source (over HTTP to
// mwtest's fake extension) and with Cloud Extensions (cloudext, against
// its fake), and check the spans and metrics they emit, with the
// OpenTelemetry SDK.
//
// It is a module of its own (github.com/lambda-mw/mw/awssdk/test), as ../../test
// is for the library, so that the OTel SDK never reaches the go.mod of
// github.com/lambda-mw/mw/awssdk, which users import. Its go.mod replaces
// mw, awssdk and cloudext with this checkout. Run go from here, or with
// go -C awssdk/test from the repository root.
package test
