// Package mw is middleware for Go functions on AWS Lambda that read SSM
// Parameter Store parameters, Secrets Manager secrets and AWS AppConfig
// configurations: through the AWS Parameters and Secrets Lambda Extension
// (the default), the AWS Secrets Manager Agent, the AWS SDK (package
// github.com/lambda-mw/mw/awssdk, given to WithSource), Systems Manager
// Cloud Extensions (package github.com/lambda-mw/mw/cloudext), or, for
// AppConfig, the AWS AppConfig Agent Lambda extension.
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
// Typed accessors decode values: SecretJSON and ParameterJSON into a struct,
// SecretBinary into bytes, ParameterList into a StringList's items. Items
// can be pinned to a version (ParameterVersion, Label, VersionID,
// VersionStage) and read by a short name (Alias), and a secret can be read
// through Parameter Store as /aws/reference/secretsmanager/<id>. WithSecret
// and WithParameter return handles, which read their item with no name to
// misspell. WithParametersByPath declares a parameter tree; WithAppConfig an
// AppConfig profile, read with AppConfig, AppConfigJSON and FeatureFlag.
//
// Wrap takes a func(ctx, In) (Out, error); WrapEvent, WrapResult, WrapFunc
// and WrapHandler take the other handler shapes lambda.Start accepts.
//
// # The environment
//
// Operators can declare items and point mw elsewhere without a code change,
// in the function's configuration; Wrap reads these variables and merges
// them with its options:
//
//	MW_SECRETS     secrets to prefetch, comma-separated: names, ARNs, or
//	               alias=name (cut at the first '='), as in
//	               MW_SECRETS=db=arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf,api-key
//	MW_PARAMETERS  parameters to prefetch, in the same form; a name may end
//	               in :version or :label, which Parameter Store understands
//	MW_ENDPOINT    the base URL of the extension or agent, when the code
//	               sets no WithEndpoint, e.g. http://localhost:2773
//	MW_AGENT       true when the endpoint is the AWS Secrets Manager Agent
//	               (see WithSecretsManagerAgent), as on ECS, EKS or EC2
//	MW_ALLOW_REMOTE_ENDPOINT
//	               true to allow an endpoint off loopback, MW_ENDPOINT,
//	               WithEndpoint's or WithAppConfigEndpoint's (the session
//	               token goes with every request; see WithRemoteEndpoint)
//
// so that lambda.Start(mw.Wrap(handler)) prefetches what the environment
// declares. An item the environment declares and code declares too is
// fetched once, with the options code gives it. A malformed entry fails
// every invoke, with an error that quotes it; the handler does not run.
//
// A failure to fetch any declared item fails the invoke before the handler
// runs, with a *PrefetchError that names every failed item and its likely
// fix. Values never appear in errors, spans or printed output.
//
// mw traces with the OpenTelemetry API (see WithTracerProvider): a span per
// invoke's resolution, with its cache hits and misses, and a span per call to
// a source, with its attempts; and it counts lookups, fetches, errors and
// retries (WithMeterProvider). Package mwtest has fake extensions, a way to
// build contexts that carry values for testing handlers, and the
// conformance suite of sources (TestSource).
package mw
