package mw

// ScopeName is the instrumentation scope of mw's tracer and meter: its
// import path.
const ScopeName = "github.com/lambda-mw/mw"

// Version is the version of mw, reported with its instrumentation scope.
const Version = "0.1.0"
