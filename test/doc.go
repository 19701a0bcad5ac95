// Package test holds mw's tests that need the OpenTelemetry SDK: what mw's
// spans and metrics say (TELEMETRY.md's contract included), its
// composition inside otellambda, the search of every span and metric data
// point for a secret's value, and the warm-invoke benchmarks with a
// recording tracer or meter.
//
// It is a module of its own (github.com/lambda-mw/mw/test, with
// replace github.com/lambda-mw/mw => ../), as opentelemetry-go-contrib
// keeps otelhttp's and otellambda's: a requirement of the library's
// go.mod, even one only its tests use, lands in the module graph of every
// module that imports mw, and minimal version selection raises their
// versions to it. The library's own module requires only aws-lambda-go,
// the OTel API and backoff/v4.
//
// The tests use mw's public API only (mw, mwtest), so they test what a
// user's code sees. Where a library test moves a fake clock, these use
// real time instead: TTL(0) makes an item expired at the next invoke, and a failing fake extension then shows the stale path.
package test
