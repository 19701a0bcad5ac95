package fakeext

import (
	"net/http"

	"github.com/lambda-mw/mw/mwtest"
)

// A Fake is what the commands serve: mwtest's fake extension in one of its
// dialects (Extension), or the Cloud Extensions runtime (Runtime).
type Fake interface {
	http.Handler
	// SetReady makes the fake serve (true), or answer as its real one
	// does before it serves (false).
	SetReady(ready bool)
	// NotReadyFor makes the fake serve, but answer its next n value
	// requests as not ready still.
	NotReadyFor(n int)
	// Close releases the requests the fake holds; it answers later ones
	// as its real one does when it stops.
	Close()
	// Counters returns what the fake counted, for its log line and
	// /_mw/stats: counts and names, never a value.
	Counters() any
}

// Extension is mwtest's fake extension as a Fake.
func Extension(e *mwtest.Extension) Fake { return extension{e} }

type extension struct{ *mwtest.Extension }

func (e extension) Counters() any { return e.Stats() }
