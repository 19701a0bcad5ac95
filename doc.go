// Package mw is middleware for Go functions on AWS Lambda that read SSM
// Parameter Store parameters and Secrets Manager secrets through the AWS
// Parameters and Secrets Lambda Extension.
//
// The extension serves only during the INVOKE phase. Code that calls it
// during INIT (a package-level variable, an init function, a config package
// imported by main) gets HTTP 400, the same generic 400 the extension gives
// for a missing parameter or a missing permission. mw removes the trap:
// declare what the function needs, and mw fetches it on the first invoke,
// concurrently, retrying while the extension starts, then serves it from
// memory:
//
//	func main() {
//		lambda.Start(mw.Wrap(handler,
//			mw.WithSecrets("prod/db"),
//			mw.WithParameters("/app/flags")))
//	}
//
//	func handler(ctx context.Context, in Event) (Out, error) {
//		pw, err := mw.Secret(ctx, "prod/db") // already fetched: no I/O
//		...
//	}
//
// A failure to fetch any declared item fails the invoke before the handler
// runs, with a *PrefetchError that names every failed item and its likely
// fix. Values never appear in errors, spans or printed output.
//
// mw traces with the OpenTelemetry API (see WithTracerProvider): a span per
// invoke's resolution, with its cache hits and misses, and a span per fetch,
// with its attempts. Package mwtest has a fake extension and a way to build
// contexts that carry values, for testing handlers.
package mw
