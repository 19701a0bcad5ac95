// Package fakeext serves mwtest's fake extension as mw's commands do: the
// values file that fills it (ValuesFormat, LoadValuesFile), and the HTTP
// server in front of it, with its request log (never a value or a token),
// its timeouts and its shutdown (Serve). mw-extension and mw-local share it.
package fakeext
