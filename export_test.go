package mw

import (
	"time"

	"github.com/lambda-mw/mw/internal/cache"
	"github.com/lambda-mw/mw/internal/gate"
)

// Internals that the external tests (package mw_test) need: limits to test
// against, and a settable clock.
var (
	MaxBody          = maxBody
	RetryFailedAfter = cache.RetryFailedAfter
	StaleBudget      = staleBudget
	ProbeEvery       = gate.ProbeEvery
)

// WithClock makes a Wrap read time from now (tests only).
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now, c.realClock = now, false })
}

// WithAwaitHook makes a Wrap call f each time a caller starts waiting for
// a fetch another caller leads (tests only).
func WithAwaitHook(f func()) Option {
	return optionFunc(func(c *config) { c.onAwait = f })
}

// WithLandHook makes a Wrap call f after each fetch of an item lands, with
// whether it was a forced refresh (tests only).
func WithLandHook(f func(forced bool)) Option {
	return optionFunc(func(c *config) { c.onLand = f })
}

// NewExtensionSource returns mw's own source for the extension at
// endpoint, or the agent, with a fixed token: for the conformance suite.
func NewExtensionSource(endpoint string, agent bool, token string) Source {
	return newExtension(extensionConfig{endpoint: endpoint, agent: agent, token: token, hasToken: true})
}

// NewAppConfigSource returns mw's own source for the AppConfig extension at
// endpoint: for the conformance suite.
func NewAppConfigSource(endpoint string) Source {
	return newAppConfig(appConfigConfig{endpoint: endpoint}, nil)
}

// WithLocalAnswer sets the longest an answer may take and still be taken
// for a loopback one (tests only): a loaded machine may slow a test's
// loopback fake past the default.
func WithLocalAnswer(d time.Duration) Option {
	return optionFunc(func(c *config) { c.localAnswer = d })
}
