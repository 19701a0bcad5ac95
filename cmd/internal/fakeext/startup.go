package fakeext

import (
	"log"
	"time"
)

// Startup is how a fake extension comes to serve, counted from the moment
// the real one would (its first INVOKE event, or its registration): it
// stays not ready NotReadyFor longer, then answers its first NotReady value
// requests as not ready still.
type Startup struct {
	NotReady    int
	NotReadyFor time.Duration
}

// loader is a Fake whose startup has stages, as the Cloud Extensions
// runtime loads its profile, then its extensions: Loading(d) is told that
// it stays not ready d longer.
type loader interface{ Loading(d time.Duration) }

// Ready makes f serve as s says; why names the moment, for the log line
// it writes when f serves. Call it once.
func (s Startup) Ready(f Fake, logger *log.Logger, why string) {
	if s.NotReadyFor > 0 {
		if l, ok := f.(loader); ok {
			l.Loading(s.NotReadyFor)
		}
		time.AfterFunc(s.NotReadyFor, func() { s.serve(f, logger, why) })
		return
	}
	s.serve(f, logger, why)
}

func (s Startup) serve(f Fake, logger *log.Logger, why string) {
	if s.NotReady > 0 {
		f.NotReadyFor(s.NotReady)
	} else {
		f.SetReady(true)
	}
	logger.Printf("ready (%s)", why)
}
