// Package jaeger holds the test that sees mw's spans in a real tracing
// backend: examples/tracing runs under cmd/mw-local, exports its spans over
// OTLP to Jaeger (built from this module's tool dependency), and the test
// reads the traces back from Jaeger's query API (MW_JAEGER=1 go test).
//
// jaeger.yaml runs Jaeger for a local run, every port on loopback, traces
// in memory:
//
//	go -C e2e/jaeger tool jaeger --config jaeger.yaml
//
// It is a module of its own because Jaeger's dependencies are many: no
// other module of the repository gets them.
package jaeger
