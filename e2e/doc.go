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
//   - functions/init-exit exits during its INIT when a variable it needs is
//     missing: cmd/mw-local's tests check that mw-local says so;
//   - examples/basic, examples/json-credentials and examples/appconfig-flags
//     run as they deploy, the
//     latter against internal/fakepg (a fake PostgreSQL, started by
//     internal/fakepg here).
//
// The items and their test values are in testdata/values.json.
//
// e2e is a module of its own (github.com/lambda-mw/mw/e2e; its go.mod
// replaces github.com/lambda-mw/mw with this checkout), built as a user's
// function would be: against mw's module and nothing of the repository's
// tests or examples.
package e2e
