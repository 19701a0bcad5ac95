package mw

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/resolved"
)

// Defaults. They match the extension's own where it has one.
const (
	// DefaultTTL is how long a fetched value is served from memory before
	// the next invoke refreshes it: five minutes, like the extension's cache.
	DefaultTTL = 5 * time.Minute

	// DefaultStartupWindow is how long after a Wrap's first invoke a bare
	// HTTP 400 from the extension is taken to mean "not ready yet" and
	// retried. After it, a bare 400 means "not found or not allowed".
	DefaultStartupWindow = 2 * time.Second

	// DefaultFetchTimeout bounds the time spent on one item, retries
	// included, when the invoke's deadline does not bound it sooner.
	DefaultFetchTimeout = 10 * time.Second
)

// An Option configures Wrap.
type Option func(*config)

type config struct {
	items         []item
	ttl           time.Duration
	startupWindow time.Duration
	fetchTimeout  time.Duration
	endpoint      string
	tp            trace.TracerProvider
	httpClient    *http.Client

	// Seams for this package's tests; never set by users.
	src fetcher
	now func() time.Time
}

func newConfig(opts []Option) *config {
	c := &config{
		ttl:           DefaultTTL,
		startupWindow: DefaultStartupWindow,
		fetchTimeout:  DefaultFetchTimeout,
		now:           time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.src == nil {
		c.src = newExtensionClient(c.endpoint, c.httpClient)
	}
	return c
}

// WithParameters declares SSM Parameter Store parameters, by name or ARN,
// to fetch on the first invoke. SecureString parameters are decrypted.
// Handlers read them with Parameter, by the same string.
func WithParameters(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.items = append(c.items, item{kind: resolved.Parameter, name: n})
		}
	}
}

// WithSecrets declares Secrets Manager secrets, by name or ARN, to fetch on
// the first invoke. Handlers read them with Secret, by the same string.
func WithSecrets(ids ...string) Option {
	return func(c *config) {
		for _, id := range ids {
			c.items = append(c.items, item{kind: resolved.Secret, name: id})
		}
	}
}

// WithTracerProvider sets the provider of mw's tracer. The default is the
// global provider, otel.GetTracerProvider(), read when Wrap is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithTTL sets how long fetched values are served from memory. An invoke
// that starts after an item's TTL has passed fetches it again before the
// handler runs. The default is DefaultTTL. A TTL of zero or less fetches on
// every invoke.
func WithTTL(d time.Duration) Option {
	return func(c *config) { c.ttl = d }
}

// WithStartupWindow sets how long after the first invoke a bare HTTP 400
// from the managed extension is retried as "not ready yet". The managed
// extension answers 400 both while it starts and for a missing or forbidden
// item, so the window is the price of telling the two apart: keep it short.
// The default is DefaultStartupWindow; zero never retries a bare 400.
func WithStartupWindow(d time.Duration) Option {
	return func(c *config) { c.startupWindow = d }
}

// WithFetchTimeout bounds the time spent fetching one item, retries
// included. The invoke's deadline always bounds it too: mw keeps a small
// part of the remaining time so that the invoke can still return its error
// before Lambda times it out. The default is DefaultFetchTimeout.
func WithFetchTimeout(d time.Duration) Option {
	return func(c *config) { c.fetchTimeout = d }
}

// WithEndpoint sets the base URL of the extension, such as
// "http://localhost:2773". By default mw reads the port from
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 when unset) on each fetch.
func WithEndpoint(baseURL string) Option {
	return func(c *config) { c.endpoint = baseURL }
}

// WithHTTPClient sets the client used to call the extension, for example
// one whose transport is instrumented. By default mw uses its own client,
// which never goes through a proxy.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}
