// Package awssdk is an mw.Source that calls AWS Systems Manager Parameter
// Store and AWS Secrets Manager directly, through the AWS SDK for Go v2: no
// Lambda layer, so it also serves local development, containers, Lambda
// Managed Instances and parameter trees (mw.WithParametersByPath).
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	...
//	h := mw.Wrap(handler, mw.WithSource(awssdk.New(cfg)), mw.WithSecrets("prod/db"))
//
// # Calls
//
// It makes the fewest calls the APIs allow (see Source.Plan): parameters by
// name through ssm:GetParameters, 10 names a call; current secrets through
// secretsmanager:BatchGetSecretValue, 20 a call; pinned secret versions
// through secretsmanager:GetSecretValue, one a call; paths through
// ssm:GetParametersByPath, 10 parameters a page. A cold start of N
// parameters and M secrets costs ⌈N/10⌉ + ⌈M/20⌉ calls, plus one per pinned
// secret and one per page of each path. Every call decrypts
// (WithDecryption).
//
// A path's listing cut short after some pages, by the end of the fetch's
// context (the fetch timeout, the invoke's deadline) or by a failure mw
// retries (throttling), keeps the pages it listed: the next fetch of the
// same item goes on from the NextToken it reached, within
// mw.DefaultMaxStale of its first page, so a tree too large to list in one
// fetch still lands.
// A forced refresh (mw.RefreshParameter) lists from the first page.
//
// # IAM
//
// The execution role needs ssm:GetParameters on the parameters,
// ssm:GetParametersByPath on the paths, secretsmanager:BatchGetSecretValue
// (resource "*") and secretsmanager:GetSecretValue on each secret, and
// kms:Decrypt on each customer managed key that encrypts a SecureString
// parameter or a secret. Failures say which of these the answer points to
// (mw.SourceError.Hint). Parameters and secrets of other accounts and
// Regions are named by their ARNs, as the APIs allow; the Region and
// credentials of the calls are those of the aws.Config (a role's, for an
// item read as a role: see Roles).
//
// # Roles
//
// An item declared with mw.RoleARN is read as that role, such as a role of
// another account that may read a shared secret: the Source calls
// sts:AssumeRole with the aws.Config's credentials (session name "mw"),
// and signs the item's calls with the role's credentials, which the SDK's
// credentials cache keeps and renews a minute before they expire. Each
// role has its own clients, made on first use and kept for the Source's
// life; items of different roles never share a call. The execution role
// needs sts:AssumeRole on each role, and each role's trust policy must
// trust the execution role; the role itself needs the actions above on
// what it reads. WithAssumeRoleOptions sets an external ID, a session name
// or a duration; WithSTSOptions an STS endpoint.
//
// # Retries
//
// mw owns retries: it tries again, with backoff and jitter, within the
// invoke's deadline, the items whose failure allows it (throttling, HTTP
// 5xx and AWS internal errors, a connection that failed). So that retries
// do not multiply, the Source's SDK clients make one attempt per call: they
// (and the STS client that assumes roles) use aws.NopRetryer, whatever the
// aws.Config says. A user's own retry
// settings (AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, aws.Config.RetryMaxAttempts,
// RetryMode or Retryer, or a Retryer set with WithSSMOptions) therefore
// change nothing for mw's calls; they still apply to the user's own clients
// made from the same aws.Config. Use mw's own options to bound mw's
// retries.
//
// # Errors and secrecy
//
// A failed item's mw.Result.Err is a *mw.SourceError with the HTTP status,
// the bare AWS error code, mw's class and a hint. Its cause keeps AWS's
// error message (which names the caller and the resource, never a value)
// and nothing else of the SDK's error: not a body that did not decode, not
// a credential provider's message. The clients never log request or
// response bodies, whatever aws.Config.ClientLogMode asks.
package awssdk
