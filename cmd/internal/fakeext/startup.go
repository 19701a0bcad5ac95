package fakeext

import (
	"log"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// Startup is how a fake extension comes to serve, counted from the moment
// the real one would (its first INVOKE event, or its registration): it
// stays not ready NotReadyFor longer, then answers its first NotReady value
// requests as not ready still.
type Startup struct {
	NotReady    int
	NotReadyFor time.Duration
}

// Ready makes ext serve as s says; why names the moment, for the log line
// it writes when ext serves. Call it once.
func (s Startup) Ready(ext *mwtest.Extension, logger *log.Logger, why string) {
	if s.NotReadyFor > 0 {
		time.AfterFunc(s.NotReadyFor, func() { s.serve(ext, logger, why) })
		return
	}
	s.serve(ext, logger, why)
}

func (s Startup) serve(ext *mwtest.Extension, logger *log.Logger, why string) {
	if s.NotReady > 0 {
		ext.NotReadyFor(s.NotReady)
	} else {
		ext.SetReady(true)
	}
	logger.Printf("ready (%s)", why)
}
