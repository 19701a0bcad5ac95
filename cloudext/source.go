package cloudext

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/loopback"
)

// DefaultEndpoint is the runtime's base URL: AWS's SDKs for the AppConfig
// extension "By default, send requests to http://localhost:5333/appconfig",
// and every page of the Cloud Extensions User Guide uses port 5333.
const DefaultEndpoint = "http://localhost:5333"

// DefaultSSRFHeader is the header that carries the SSRF token to the
// Secrets Manager extension, the first of its documented SSRF token
// headers ("Using the Secrets Manager extension").
const DefaultSSRFHeader = "X-Aws-Parameters-Secrets-Token"

// DefaultAppConfigSigningName is the SigV4 service name requests to the
// AppConfig extension are signed for. AWS documents none (its curl
// examples send no credentials); "appconfig" is AWS AppConfig's own
// signing name. WithAppConfigSigningName sets another.
const DefaultAppConfigSigningName = "appconfig"

// The SigV4 service names of the Secrets Manager and Parameter Store
// extensions, as AWS's curl examples sign for them.
const (
	signingSecretsManager = "secretsmanager"
	signingParameterStore = "ssm"
)

// Source reads parameters, secrets and AppConfig profiles through the AWS
// Systems Manager Cloud Extensions runtime: its Secrets Manager, Parameter
// Store and AppConfig extensions on localhost:5333. Give it to
// mw.WithSource. It also evaluates feature flags against a caller's
// context (EvaluateFlag, an mw.FlagEvaluator). Its methods are safe for
// concurrent use.
type Source struct {
	base      string
	hc        *http.Client
	signer    atomic.Pointer[keyedSigner]
	region    string
	creds     credentials // nil: no authentication
	keyMode   bool        // creds are an extension key
	ssrf      ssrf
	acSigning string
	// badEndpoint is the error of every request when WithEndpoint's URL
	// is not a base URL, such as one without its scheme; nil when it is.
	badEndpoint *mw.SourceError
}

var (
	_ mw.Source        = (*Source)(nil)
	_ mw.FlagEvaluator = (*Source)(nil)
)

// ssrf is the SSRF token the Secrets Manager extension's requests carry,
// if one is configured.
type ssrf struct{ header, token string }

// An Option configures a Source.
type Option func(*options)

type options struct {
	endpoint  string
	hc        *http.Client
	key       aws.CredentialsProvider
	none      bool
	ssrf      ssrf
	acSigning string
	region    string
}

// WithEndpoint sets the runtime's base URL, such as http://localhost:5333
// (DefaultEndpoint) or a test server's URL. The runtime owns its port;
// AWS documents no setting that moves it. Each request carries a SigV4
// signature made with the function's credentials, their session token and
// any SSRF token: unlike mw's own MW_ENDPOINT, this URL comes from code
// alone, never the environment, so a host other than a loopback one is
// the caller's deliberate choice. A URL that is not a base URL, such as
// localhost:5333 without its scheme, is refused by Plan, and every request
// fails as mw.ClassConfig, without being sent.
func WithEndpoint(baseURL string) Option {
	return func(o *options) { o.endpoint = baseURL }
}

// WithHTTPClient sets the HTTP client requests are sent with. The Source
// never follows a redirect, whatever the client's CheckRedirect says. The
// default is a client of the Source's own that never uses a proxy.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.hc = hc }
}

// WithExtensionKey signs requests with the profile's extension key (its
// authentication is extensionKey), the CXEK… access key ID and its secret
// key, as key provides them: ExtensionKey, ExtensionKeyFromEnv or
// ExtensionKeyFromSecret. Without it, requests are signed with the
// aws.Config's credentials (runtimeCredentials, the profile's default).
func WithExtensionKey(key aws.CredentialsProvider) Option {
	return func(o *options) { o.key, o.none = key, false }
}

// WithoutAuthentication sends requests unsigned, for a profile whose
// authentication is none. AWS's best practices then keep the Secrets
// Manager extension's SSRF token check on: see WithSSRFToken.
func WithoutAuthentication() Option {
	return func(o *options) { o.none, o.key = true, nil }
}

// WithSSRFToken sends token, in the header DefaultSSRFHeader names (or
// WithSSRFHeader's), with each request to the Secrets Manager extension,
// whose SSRF token check is on by default. The token is the one the
// profile entry's settings hold; it is not AWS_SESSION_TOKEN. Without this
// option no token header is sent.
func WithSSRFToken(token string) Option {
	return func(o *options) { o.ssrf.token = token }
}

// WithSSRFHeader sets the header WithSSRFToken's token goes in: one of the
// profile entry's SSRF token headers. The default is DefaultSSRFHeader.
func WithSSRFHeader(name string) Option {
	return func(o *options) { o.ssrf.header = name }
}

// WithAppConfigSigningName sets the SigV4 service name requests to the
// AppConfig extension are signed for; DefaultAppConfigSigningName by
// default, which AWS's documentation neither confirms nor denies.
func WithAppConfigSigningName(name string) Option {
	return func(o *options) { o.acSigning = name }
}

// WithRegion sets the Region of the signatures' credential scope. The
// default is the aws.Config's Region, or us-east-1 when it has none: AWS
// does not document whether the runtime checks it.
func WithRegion(region string) Option {
	return func(o *options) { o.region = region }
}

// New returns a Source that calls the Cloud Extensions runtime at
// DefaultEndpoint, signing requests with cfg's credentials (the function's
// own, session token included) for cfg's Region, unless opts say
// otherwise. It does no I/O: credentials are resolved by the first request.
func New(cfg aws.Config, opts ...Option) *Source {
	o := options{endpoint: DefaultEndpoint, ssrf: ssrf{header: DefaultSSRFHeader}, acSigning: DefaultAppConfigSigningName, region: cfg.Region}
	for _, opt := range opts {
		opt(&o)
	}
	if o.region == "" {
		o.region = "us-east-1"
	}
	if o.ssrf.header == "" {
		o.ssrf.header = DefaultSSRFHeader
	}
	if o.acSigning == "" {
		o.acSigning = DefaultAppConfigSigningName
	}
	raw := strings.TrimSuffix(o.endpoint, "/")
	base, err := loopback.CheckEndpoint(raw, true, "")
	if err != nil {
		base = raw
	}
	s := &Source{
		base:      base,
		hc:        loopback.NoRedirects(o.hc),
		region:    o.region,
		ssrf:      o.ssrf,
		acSigning: o.acSigning,
	}
	if err != nil {
		s.badEndpoint = &mw.SourceError{Class: mw.ClassConfig,
			Err: fmt.Errorf("cloudext.WithEndpoint(%q) is not a base URL", s.printedBase()),
			Hint: "give cloudext.WithEndpoint the runtime's base URL, with its scheme and no query: http://host:port, such as " +
				DefaultEndpoint + " (cloudext.DefaultEndpoint)"}
	}
	switch {
	case o.none:
	case o.key != nil:
		s.creds, s.keyMode = keyCredentials{o.key}, true
	default:
		s.creds = runtimeCredentials{cfg.Credentials}
	}
	return s
}

// Name returns "cloudext".
func (s *Source) Name() string { return "cloudext" }

// Fetch makes the requests that op names for items (see Plan), once each,
// without retrying, and returns one Result per item, in the order of
// items. A failure of a whole request is the same *mw.SourceError in the
// Result of each item it carried; a parameter GetParameters lists in
// InvalidParameters fails alone. Fetch returns when ctx ends.
func (s *Source) Fetch(ctx context.Context, op string, items []mw.Item) []mw.Result {
	res := make([]mw.Result, len(items))
	switch op {
	case opGetParameters:
		s.getParameters(ctx, items, res)
	case opGetSecret:
		for i, it := range items {
			res[i] = s.getSecret(ctx, it)
		}
	case opGetConfiguration:
		for i, it := range items {
			res[i] = s.getConfiguration(ctx, it)
		}
	default:
		err := unknownOp(op)
		for i := range res {
			res[i].Err = err
		}
	}
	return res
}

// String describes the Source by its endpoint and authentication, never
// with a credential or a token.
func (s *Source) String() string {
	auth := "runtime credentials"
	switch {
	case s.keyMode:
		// Only this package's providers print themselves: another's
		// fields, such as a static provider's, may hold the secret key.
		switch p := s.creds.(keyCredentials).p; p.(type) {
		case staticKey, envKey, *secretKey:
			auth = fmt.Sprint("extension key ", p)
		default:
			auth = fmt.Sprintf("extension key from a %T", p)
		}
	case s.creds == nil:
		auth = "no authentication"
	}
	if s.ssrf.token != "" {
		auth += ", an SSRF token in " + s.ssrf.header
	}
	return "cloudext.Source(" + s.printedBase() + ", " + auth + ")"
}

// Format prints String for every verb: no field of the Source, which may
// hold a key or a token, is ever printed.
func (s *Source) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// keyedSigner is a SigV4 signer and the credentials it last signed with.
// The AWS SDK's signer caches the signing key it derives by access key ID
// and day, not by secret key: an extension key's ID stays the same when
// the profile rotates its secret key, so a signer that signed with the old
// secret key would go on signing with it all day.
type keyedSigner struct {
	fp     [sha256.Size]byte
	signer *v4.Signer
}

// signerFor returns a signer for c: the last one, if c's keys are those
// it signed with, else a new one.
func (s *Source) signerFor(c aws.Credentials) *v4.Signer {
	fp := sha256.Sum256([]byte(c.AccessKeyID + "\x00" + c.SecretAccessKey))
	if ks := s.signer.Load(); ks != nil && ks.fp == fp {
		return ks.signer
	}
	ks := &keyedSigner{fp: fp, signer: v4.NewSigner()}
	s.signer.Store(ks)
	return ks.signer
}
