// Package e2e holds the functions that scripts/e2e.sh runs under AWS's
// Lambda Runtime Interface Emulator, with cmd/mw-extension as their
// Parameters and Secrets extension in /opt/extensions:
//
//   - functions/seed-var calls the extension from a package-level variable,
//     as the seed did, and reports what it got during INIT;
//   - functions/seed-config does the same from an imported config package;
//   - functions/wrapped reads the same items through mw.Wrap;
//   - functions/appconfig reads a feature flag and a JSON profile from the
//     AWS AppConfig Agent Lambda extension (cmd/mw-extension again, in its
//     appconfig dialect, as a second extension), beside a secret;
//   - functions/cloudext reads a secret, a parameter and two AppConfig
//     profiles through AWS Systems Manager Cloud Extensions (mw's cloudext
//     source, signing with the function's credentials), served by
//     cmd/mw-extension again, in its cloudext dialect, as a third extension;
//   - functions/init-exit exits during its INIT when a variable it needs is
//     missing: cmd/mw-local's tests check that mw-local says so;
//   - examples/basic, examples/json-credentials, examples/appconfig-flags
//     and examples/cloud-extensions run as they deploy, json-credentials
//     against internal/fakepg (a fake PostgreSQL, started by the script).
//
// The items and their test values are in testdata/values.json.
//
// e2e is a module of its own (github.com/lambda-mw/mw/e2e; its go.mod
// replaces github.com/lambda-mw/mw and github.com/lambda-mw/mw/cloudext
// with this checkout's), built as a user's function would be: against mw's
// modules and the AWS SDK's config, and nothing of the repository's tests
// or examples.
package e2e
