// Package mwtest helps test code that uses package mw.
//
// NewContext builds a context that carries given values, so that a handler
// calling mw.Secret or mw.Parameter can be unit-tested with no extension.
//
// Extension is a fake of the AWS Parameters and Secrets Lambda Extension
// (the Managed dialect), of the aws-secretsmanager-agent (the Agent
// dialect) and of the AWS AppConfig Agent Lambda extension (the AppConfig
// dialect) that follows their documented HTTP protocol: routes, bodies,
// status codes and token checks. It can also act out their faults: the 400s
// answered during INIT, latency, throttling, server errors, reset
// connections and hangs. Its Source serves the same values to mw directly,
// every kind mw declares, parameter trees and items read as another role
// included, for the items a function reads through a source other than a
// local server.
//
// TestSource runs the conformance suite every mw.Source must pass.
package mwtest
