// Package fakeext serves mw's fakes as mw's commands do: mwtest's fake
// extension in its dialects, and cloudexttest's fake of the Cloud
// Extensions runtime (Runtime), both Fakes; the values file that fills
// them (ValuesFormat, LoadValuesFile, into a Store); their startup
// (Startup); and the HTTP server in front of them, with its request log
// (never a value or a token), its timeouts and its shutdown (Serve).
// mw-extension and mw-local share it.
package fakeext
