// Package test holds no code: its tests drive mw.Wrap with the SDK source
// against moto and check the spans and metrics they emit, with the
// OpenTelemetry SDK.
//
// It is a module of its own (github.com/lambda-mw/mw/awssdk/test), as ../../test
// is for the library, so that the OTel SDK never reaches the go.mod of
// github.com/lambda-mw/mw/awssdk, which users import. Its go.mod replaces
// both mw and awssdk with this checkout. Run go from here, or with
// go -C awssdk/test from the repository root.
package test
