package mw

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/lambda-mw/mw/internal/gate"
	"github.com/lambda-mw/mw/internal/loopback"
)

// Defaults. They match the extension's own where it has one.
const (
	// DefaultTTL is how long a fetched value is served from memory before
	// the next invoke refreshes it: five minutes, like the extension's cache.
	DefaultTTL = 5 * time.Minute

	// DefaultStartupWindow is how long after a Wrap's first invoke an
	// answer that may mean "not ready yet", such as the managed extension's
	// bare HTTP 400, is taken to mean it. After it, such an answer is final.
	DefaultStartupWindow = 2 * time.Second

	// DefaultFetchTimeout bounds the time spent on one item, retries
	// included, when the invoke's deadline does not bound it sooner.
	DefaultFetchTimeout = 10 * time.Second

	// DefaultMaxStale is how long past its TTL an item's last good value
	// is still served when refreshing it fails. An outage of the extension
	// or of AWS then costs fresh values, not invokes.
	DefaultMaxStale = time.Hour
)

// An Option configures Wrap: what to fetch (WithSecrets, WithParameters,
// ...), where from (WithSource, WithEndpoint, ...), how long to keep it
// (WithTTL, ...) and where telemetry goes (WithTracerProvider, ...).
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options of one Wrap set, with the defaults applied.
type config struct {
	items         []item
	ttl           time.Duration
	startupWindow time.Duration
	fetchTimeout  time.Duration // noFetchTimeout for WithFetchTimeout(0)
	maxStale      time.Duration
	refreshAhead  time.Duration
	sources       []sourceChoice
	tp            trace.TracerProvider
	mp            metric.MeterProvider

	// The extension or agent, mw's own source of parameters and secrets.
	ext extensionConfig
	// The AppConfig extension, mw's own source of AppConfig profiles.
	appConfig appConfigConfig

	// noEnv: Wrap reads no MW_* variable.
	noEnv bool

	// now is the clock, onAwait runs when a caller starts waiting for a
	// flight another leads, onLand after a flight lands, and localAnswer is the longest an answer may
	// take and still be a loopback one (probeLocal): seams for this
	// package's tests, whose loopback fakes a loaded machine may slow.
	now         func() time.Time
	realClock   bool // now is time.Now: the warm path may read less of it
	onAwait     func()
	onLand      func(forced bool)
	localAnswer time.Duration
}

// ttlOf is the TTL of it: its own, or the Wrap's.
func (c *config) ttlOf(it item) time.Duration {
	if it.hasTTL {
		return it.ttl
	}
	return c.ttl
}

// newConfig applies opts, then what the environment declares, then the
// defaults. A mistake in code is returned as a *DeclarationError with fromEnv
// false; otherwise the first malformed environment entry, if any.
func newConfig(opts []Option) (*config, *DeclarationError) {
	c := &config{
		ttl:           DefaultTTL,
		startupWindow: DefaultStartupWindow,
		fetchTimeout:  DefaultFetchTimeout,
		maxStale:      DefaultMaxStale,
		now:           time.Now,
		realClock:     true,
		localAnswer:   gate.DefaultLocal,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	// The environment's switches first: MW_ALLOW_REMOTE_ENDPOINT applies
	// to the endpoints of code as to MW_ENDPOINT.
	code := c.ext.endpoint
	var bad *DeclarationError
	if !c.noEnv {
		var items []item
		items, bad = readEnv(&c.ext)
		c.items = append(c.items, items...)
	}
	if code != "" {
		u, err := loopback.CheckEndpoint(code, c.ext.remote, allowRemote(c.noEnv))
		if err != nil {
			bad = worse(bad, &DeclarationError{msg: fmt.Sprintf("WithEndpoint(%q): %v", loopback.RedactURL(code), err)})
		}
		c.ext.endpoint = u
	}
	if raw := c.appConfig.endpoint; raw != "" {
		u, err := checkAppConfigEndpoint(raw, c.ext.remote, allowRemote(c.noEnv))
		if err != nil {
			bad = worse(bad, &DeclarationError{msg: fmt.Sprintf("WithAppConfigEndpoint(%q): %v", loopback.RedactURL(raw), err)})
		}
		c.appConfig.endpoint = u
	}
	bad = worse(bad, checkDurations(c))
	if c.fetchTimeout == 0 {
		c.fetchTimeout = noFetchTimeout
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	c.sources = append(c.sources, sourceChoice{src: newExtension(c.ext)}, sourceChoice{src: newAppConfig(c.appConfig, c.ext.client)})
	return c, bad
}

// WithAppConfigEndpoint sets the base URL of the AppConfig extension, such
// as "http://localhost:2772", for the profiles WithAppConfig declares.
// Without it, mw reads the port from AWS_APPCONFIG_EXTENSION_HTTP_PORT
// (2772 when unset) on each fetch, as the extension does. The extension
// listens on loopback: another host is refused unless WithRemoteEndpoint
// or MW_ALLOW_REMOTE_ENDPOINT=true allows it, and localhost is sent as
// WithEndpoint sends it. Wrap panics if baseURL is not an http or https
// base URL, or is refused.
func WithAppConfigEndpoint(baseURL string) Option {
	return optionFunc(func(c *config) { c.appConfig.endpoint = baseURL })
}

// WithSource adds a source of values, for items of the kinds given, or,
// with none, for every kind it serves:
//
//	mw.WithSource(awssdk.New(cfg), mw.KindParametersByPath) // trees through the SDK, the rest as before
//
// Each declared item is fetched by the source its From option names, if
// it has one; else by the first source, in the order of the WithSource
// options, that is for its kind and whose Plan serves it; else by mw's own:
// the AWS Parameters and Secrets Lambda Extension (or the Secrets Manager
// Agent, see WithSecretsManagerAgent) for parameters and secrets, and the
// AWS AppConfig Agent Lambda extension for AppConfig profiles. An item no
// source serves makes Wrap panic, naming what would serve it.
func WithSource(s Source, kinds ...Kind) Option {
	return optionFunc(func(c *config) {
		if s != nil {
			c.sources = append(c.sources, sourceChoice{src: s, kinds: kinds})
		}
	})
}

// sourceChoice is a source WithSource gave, and the kinds it is for: all
// when none is named.
type sourceChoice struct {
	src   Source
	kinds []Kind
}

// serves reports whether the choice is for items of kind k.
func (c sourceChoice) serves(k Kind) bool { return len(c.kinds) == 0 || slices.Contains(c.kinds, k) }

// WithTracerProvider sets the provider of mw's tracer. The default is the
// global provider, otel.GetTracerProvider(), read when Wrap is called.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithMeterProvider sets the provider of mw's meter, whose instruments
// count cache lookups, refreshes, fetch errors and retries, and time the
// fetches (TELEMETRY.md lists them). The default is the global provider,
// otel.GetMeterProvider(), read when Wrap is called. Metric attributes name
// the declared items, never their values.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.mp = mp })
}

// WithTTL sets how long fetched values are served from memory. An invoke
// that starts after an item's TTL has passed fetches it again before the
// handler runs. The default is DefaultTTL. Zero fetches on every invoke.
// Wrap panics on a negative TTL, and on one below a millisecond, almost
// surely a unit mistake: WithTTL(300) is 300 ns; write 300 * time.Second.
func WithTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.ttl = d })
}

// WithStartupWindow sets how long after the first invoke an answer that may
// mean "not ready yet" is taken to mean it, and polled for readiness. The
// managed extension answers a bare HTTP 400 both while it starts and for a
// missing or forbidden item, so the window is the price of telling the two
// apart: keep it short. Once the extension has answered any item, it is
// ready, and a bare 400 is final at once, unless it took longer than a
// loopback answer: the extension asked AWS, which may have throttled it,
// as it does when many environments start at once, so a required item
// retries it as throttling for up to a second (SCALE.md). The default is
// DefaultStartupWindow; zero never waits: the first bare 400 is final.
// Wrap panics on a negative window, and on one below a millisecond.
func WithStartupWindow(d time.Duration) Option {
	return optionFunc(func(c *config) { c.startupWindow = d })
}

// WithFetchTimeout bounds the time spent fetching one item, retries
// included. The invoke's deadline always bounds it too: mw keeps a small
// part of the remaining time so that the invoke can still return its error
// before Lambda times it out. The default is DefaultFetchTimeout. Zero
// leaves the invoke's deadline alone to bound a fetch: it stands for 15
// minutes, the longest timeout Lambda gives a function, which still bounds
// a fetch no deadline does (a context without one, a refresh that runs
// apart from its invoke). Wrap panics on a negative timeout, and on one
// below a millisecond.
func WithFetchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.fetchTimeout = d })
}

// WithMaxStale sets how long past its TTL an item's last good value may be
// served when refreshing it fails; the span of the invoke says so. Beyond
// that the invoke fails as it would with no value. The default is
// DefaultMaxStale; zero never serves a stale value. Wrap panics on a
// negative duration, and on one below a millisecond.
func WithMaxStale(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxStale = d })
}

// WithRefreshAhead makes an invoke that starts within d of an item's expiry
// refresh it concurrently with the handler, so that no invoke waits for it.
// The refresh ends before the invoke returns, since Lambda may freeze the
// process between invokes. The default, zero, refreshes items only once
// they have expired: zero turns refreshing ahead off. A d as long as an
// item's TTL refreshes it on every invoke: keep it a small part of the TTL.
// Wrap panics on a negative d, and on one below a millisecond.
func WithRefreshAhead(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshAhead = d })
}

// WithoutEnvironment makes Wrap ignore the MW_* variables (MW_SECRETS,
// MW_PARAMETERS, MW_ENDPOINT, MW_AGENT, MW_ALLOW_REMOTE_ENDPOINT), so that a
// handler built in a unit test does not depend on the developer's shell.
func WithoutEnvironment() Option {
	return optionFunc(func(c *config) { c.noEnv = true })
}

// WithEndpoint sets the base URL of the extension or agent, such as
// "http://localhost:2773". Without it, mw takes MW_ENDPOINT from the
// environment, so that one handler runs in Lambda and next to the Secrets
// Manager Agent on ECS, EKS or EC2; without either, it reads the port from
// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT (2773 when unset) on each fetch.
//
// The extension and the agent listen on loopback, and the session token
// goes with every request: a host other than localhost or a loopback
// address is refused unless WithRemoteEndpoint or
// MW_ALLOW_REMOTE_ENDPOINT=true allows it. localhost in any case, or with
// a trailing dot (LocalHost, localhost.), is sent as "localhost", the one
// spelling that Go's proxy rules (http.ProxyFromEnvironment) never send
// through HTTP_PROXY, so that a client of WithHTTPClient that honours it
// sends the token to no proxy. Wrap panics if baseURL is not an http or
// https base URL, or is refused.
func WithEndpoint(baseURL string) Option {
	return optionFunc(func(c *config) { c.ext.endpoint = baseURL })
}

// WithRemoteEndpoint allows an endpoint (WithEndpoint, MW_ENDPOINT or
// WithAppConfigEndpoint) on a host other than localhost or a loopback
// address. Every request carries the session token: allow this only for
// an agent you run on another host you trust, and prefer https.
// MW_ALLOW_REMOTE_ENDPOINT=true in the environment says the same, for the
// same endpoints, unless WithoutEnvironment is given.
func WithRemoteEndpoint() Option {
	return optionFunc(func(c *config) { c.ext.remote = true })
}

// WithToken sets the token mw sends as X-Aws-Parameters-Secrets-Token,
// instead of reading it from the environment (AWS_SESSION_TOKEN, or for the
// agent AWS_TOKEN and the others) on each fetch: for tests against mwtest's
// fake extension, and for an agent configured with a fixed token. The
// token goes to the endpoint and nowhere else, and is never printed.
func WithToken(token string) Option {
	return optionFunc(func(c *config) { c.ext.token, c.ext.hasToken = token, true })
}

// WithHTTPClient sets the client used to call the extension or agent, and
// the AppConfig extension, for example one whose transport is
// instrumented. By default mw uses its own client, shared by every Wrap,
// which never goes through a proxy. Yours may: mw sends a loopback
// endpoint as localhost or a loopback address, which
// http.ProxyFromEnvironment never proxies, but a transport whose Proxy
// proxies those too sends the token to its proxy. mw never follows a
// redirect, with its client or yours: none of them sends one, and the
// token must not go anywhere else. Every request asks for its connection
// to be closed after the answer (Connection: close), with its client or
// yours: a connection kept after an answer mw cannot use could carry the
// rest of it into net/http's log.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) { c.ext.client = hc })
}

// WithSecretsManagerAgent says that the endpoint is the open-source AWS
// Secrets Manager Agent rather than the Lambda extension; MW_AGENT=true in
// the environment says the same. The token then comes from the first set
// of AWS_TOKEN, AWS_SESSION_TOKEN and AWS_CONTAINER_AUTHORIZATION_TOKEN, as
// the agent reads it, where a file://path value names a file that holds it
// (read on each fetch, since it may rotate). RefreshSecret asks the agent to
// bypass its cache (refreshNow=true). The managed Lambda extension has no
// such switch: it serves from its own cache until its SECRETS_MANAGER_TTL
// passes. The agent serves secrets only: Wrap panics if a parameter is
// declared with it.
func WithSecretsManagerAgent() Option {
	return optionFunc(func(c *config) { c.ext.agent = true })
}

// noFetchTimeout is WithFetchTimeout(0): 15 minutes, the longest timeout
// Lambda gives a function ("Lambda quotas"), so that within an invoke its
// deadline (less the reserve) alone bounds a fetch, while a fetch that no
// deadline bounds (a refresh that runs apart from its invoke, a context
// without one) still ends.
const noFetchTimeout = 15 * time.Minute

// checkDurations reports the first duration option of c that is refused,
// as a mistake in code.
func checkDurations(c *config) *DeclarationError {
	for _, v := range [...]struct {
		o durationOption
		d time.Duration
	}{
		{optTTL, c.ttl}, {optStartupWindow, c.startupWindow}, {optFetchTimeout, c.fetchTimeout},
		{optMaxStale, c.maxStale}, {optRefreshAhead, c.refreshAhead},
	} {
		if err := v.o.check(v.d); err != nil {
			return &DeclarationError{msg: err.Error()}
		}
	}
	return nil
}
