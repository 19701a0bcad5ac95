// Package cloudexttest is a fake of the AWS Systems Manager Cloud
// Extensions runtime, for tests: an http.Handler (Server) that serves the
// Secrets Manager, Parameter Store and AppConfig extensions' local routes
// as AWS documents them, checks SigV4 signatures, the SSRF token and
// X-Forwarded-For, acts out the runtime's loading window, and answers
// every documented error on demand. It is written once for this module's
// tests, mwtest.TestSource (a Server is an mwtest.AppConfigBackend), a
// user's own tests, and any program that serves it over HTTP, such as an
// emulator of the runtime for a function run locally.
//
//	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
//	f.PutSecret("prod/db", `{"password":"pw"}`)
//	h := mw.Wrap(handler, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"))
//
// # Routes
//
//   - GET /secretsmanager/get?secretId=… with versionId, versionStage,
//     refreshNow (true, false, 1 or 0) and roleArn (PutRoleSecret): the
//     secret as GetSecretValue's JSON; errors with their type in
//     X-Amzn-Errortype and {"message": …}.
//   - POST /parameterstore, AWS JSON 1.1, AmazonSSM.GetParameter and
//     AmazonSSM.GetParameters (1 to 10 names, :version and :label
//     selectors, WithDecryption; missing names in InvalidParameters with
//     status 200; a secret of the fake read decrypted as
//     /aws/reference/secretsmanager/<id>, with an optional :<stage>, as a
//     SecureString whose Name is the reference and ARN the secret's);
//     errors as Parameter Store's, with the message in Message
//     for AccessDeniedException, InternalServerError, ThrottlingException
//     and ValidationException and in message for the others.
//   - POST /appconfig/, AWS JSON 1.1, AppConfig.GetConfiguration (content
//     in base64) and AppConfig.GetFlag (PutFlags; the context matched by
//     Variant.When); errors with __type, message and reason, a missing
//     configuration or flag as a ValidationException whose semantic error's
//     problem is RESOURCE_NOT_FOUND, FLAG_NOT_FOUND or FLAG_UNREADABLE.
//
// # Authentication
//
// The profile's authentication (Settings.Auth, SetAuth) is runtime
// credentials (the default: RuntimeAccessKeyID, RuntimeSecretKey and
// RuntimeSessionToken, which Config returns), an extension key
// (ExtensionAccessKeyID, ExtensionSecretKey) or none. A signature is
// checked by signing the request again with the AWS SDK's signer, from
// the request's own time, scope and signed headers, with the secret key of
// the access key ID it names, and comparing: a missing signature
// (MISSING_AUTHENTICATION), a time more than 5 s off the fake's clock
// (SIGNATURE_EXPIRED), an access key the profile does not know
// (UNKNOWN_ACCESS_KEY), IAM credentials where the key is required
// (IAM_CREDENTIAL_USED), and a wrong secret key, service name, session
// token or signed content (SIGNATURE_MISMATCH) are refused.
//
// # Where AWS's documentation is silent
//
// The fake makes a choice, and Settings makes it configurable where a
// client must tolerate either:
//
//   - Authentication failures: the pages disagree. By default each route
//     answers as its own page says (AuthStyle): the Secrets Manager route
//     401 MissingAuthenticationToken or 403 SignatureDoesNotMatch /
//     InvalidClientTokenId; the Parameter Store route 400
//     AccessDeniedException with the reason in cloudextensions-error-reason;
//     the AppConfig route 403 AccessDeniedException with the reason in the
//     body. Settings.SecretsManagerAuth, ParameterStoreAuth and
//     AppConfigAuth give any route any style.
//   - The runtime's own error bodies use Message (the Secrets Manager
//     errors page); Settings.RuntimeMessageKey sets message instead (the
//     AppConfig SDK's model). Their reason is in the body, and
//     Settings.BareSecretsManagerErrors leaves it out on the Secrets Manager
//     route, where AWS shows only {"message": …}.
//   - The AppConfig extension's SigV4 service name: "appconfig"
//     (Settings.AppConfigSigningName). The Region of a signature's scope is
//     not checked unless Settings.Region is set.
//   - The order of the runtime's checks: PROFILE_LOADING before the
//     authentication (the runtime does not know the profile that says how),
//     EXTENSION_LOADING after it, then X-Forwarded-For and the SSRF token
//     (Secrets Manager route only), then injected answers.
//   - The statuses of UpgradeRequiredException (426), LoopDetectedException
//     (508) and RequestEntityTooLargeException (413), from their names; the
//     Secrets Manager extension's not-found, access denied and decryption
//     failures as 400 with AWS's error types, as the Secrets Manager Agent
//     passes them; Parameter Store's unusable KMS key as InvalidKeyId.
//   - Success bodies: the Secrets Manager route answers GetSecretValue's
//     JSON (CreatedDate in epoch seconds, SecretBinary in base64);
//     Parameter Store's answers carry LastModifiedDate in epoch seconds and
//     Selector when one was asked; a flag attribute's list members are
//     stringList and numberList.
//   - A secret read through Parameter Store that is missing, or lacks the
//     stage asked for, fails the whole GetParameters request with
//     ParameterNotFound, as GetParameter fails and as moto answers; a
//     version number as its selector is a ValidationException; a binary
//     secret's answer has no Value.
//   - The Parameter Store extension's id in a runtime answer:
//     aws:parameterstore.
//   - The fake keeps no cache of its own: every request reads the values
//     stored now, refreshNow or not.
//   - The loading window starts with the first request after
//     SetLoadingWindow, as a cold start's first request would meet it.
//
// Every method of a Server is safe for concurrent use. It logs nothing; no
// answer but a successful one holds a value, and no printed form holds a
// key.
package cloudexttest
