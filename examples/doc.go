// Package examples holds no code: each directory below it is an example,
// and this package's tests check them all.
//
// examples is a module of its own (github.com/lambda-mw/mw/examples), so
// that the examples' dependencies (pgx, the OTel SDK and exporters, the
// Lambda resource detector, yaml for the tests) never reach the go.mod of
// a module that imports mw. Its go.mod replaces github.com/lambda-mw/mw
// with this checkout (../). Run go from here, or with go -C examples from
// the repository root.
//
//   - appconfig-flags, basic, cloud-extensions, json-credentials,
//     managed-instances, sdk-source and tracing are Lambda functions, each with a SAM template.yaml, a policy.json
//     and a README.md. scripts/build-examples.sh builds them as provided.al2023
//     bootstraps for amd64 and arm64; scripts/lint-templates.sh runs
//     cfn-lint on the templates.
//   - quickstart is a program to run on your machine (go -C examples run
//     ./quickstart), and binsize/with, binsize/without and
//     binsize/sdk exist for scripts/binsize.sh. They are not deployed.
//
// templates_test.go parses every template.yaml and checks what a
// deployable example must have, that its layers (from AWS's tables in
// testdata) are those its main.go needs, that the AppConfig profiles it
// declares are deployed by the template, that its policy grants exactly
// the items its main.go declares, and that policy.json says the same as the
// template (go -C examples test . -update rewrites policy.json from it, and
// the layer Mappings from the tables in testdata).
package examples
