package awssdk

import "time"

// ResumeWithin is how long after its first page a cut listing may be
// resumed.
const ResumeWithin = resumeWithin

// SetClock makes s read the time from now.
func SetClock(s *Source, now func() time.Time) { s.now = now }

// OnHandOver makes s call f when a Fetch starts waiting for the listing of
// a Fetch whose context has ended.
func OnHandOver(s *Source, f func()) { s.listings.onHandOver = f }
