// Package cloudext is an mw.Source that reads parameters, secrets and AWS
// AppConfig profiles through AWS Systems Manager Cloud Extensions: the
// Cloud Extensions runtime, attached to a Lambda function as a layer (or
// run beside a container), serves a Secrets Manager, a Parameter Store and
// an AppConfig extension on http://localhost:5333, each with a cache of its
// own, and mw keeps its cache in front of them.
//
//	cfg, err := config.LoadDefaultConfig(ctx) // the function's credentials sign the requests
//	...
//	h := mw.Wrap(handler, mw.WithSource(cloudext.New(cfg)),
//		mw.WithSecrets("prod/db"), mw.WithParameters("/app/url"),
//		mw.WithAppConfig("app", "prod", "settings"))
//
// # Requests
//
// Source.Plan sorts the declared items into requests: a secret is one GET
// of the Secrets Manager extension's query route
// (/secretsmanager/get?secretId=…, with versionId, versionStage, refreshNow
// for mw.RefreshSecret and roleArn for mw.RoleARN); parameters go 10 names
// a request to the Parameter Store extension's AWS JSON 1.1 GetParameters
// (with :version and :label selectors, decrypted); a profile is one
// AppConfig.GetConfiguration. Source.EvaluateFlag evaluates a flag with
// AppConfig.GetFlag against a caller's context: one loopback request per
// evaluation (mw.FlagEvaluator). Parameter trees are not served: the
// Parameter Store extension has no GetParametersByPath.
//
// # Authentication
//
// A profile's extensions authenticate their local clients in one of three
// ways, and the Source must use the profile's: runtimeCredentials, the
// default, where requests are signed with SigV4 with the credentials the
// runtime has (in Lambda, the function's: the aws.Config's, session token
// included); extensionKey, where they are signed with the profile's
// CXEK… access key ID and its secret key (WithExtensionKey, with
// ExtensionKey, ExtensionKeyFromEnv or ExtensionKeyFromSecret); and none
// (WithoutAuthentication). The Secrets Manager extension's SSRF token goes
// only where WithSSRFToken sets one; no request carries X-Forwarded-For.
//
// # Readiness, retries, errors
//
// While the runtime loads its profile or an extension it answers 503
// ServiceUnavailableException, reason PROFILE_LOADING or EXTENSION_LOADING:
// the Source reports it as not ready (mw.SourceError.NotReady), and mw's
// readiness gate polls the runtime within its startup window, as it does
// the Parameters and Secrets extension's startup answers. Whether the
// runtime serves during the function's INIT phase is not documented;
// mw fetches on the first invoke either way. mw owns retries: the Source
// makes one request per call. A 429's Retry-After is reported in
// mw.SourceError.RetryAfter.
//
// Failures are classified from the X-Amzn-Errortype header, the body's
// __type and reason, and the cloudextensions-error-reason header, and each
// hint names what to fix: the profile (AWS_CLOUDEXTENSIONS_PROFILE), the
// capability to approve on its profile entry (secretsmanager,
// parameterStoreRead, appconfigdata) and the IAM action. No error quotes a
// body: only error codes and the reasons AWS documents. No error, printed
// Source or key provider holds a value, a key or a token.
//
// Package cloudexttest is a fake of the runtime for tests, and its
// documentation lists what AWS's documentation leaves open and what this
// package and the fake assume.
package cloudext
