package awssdk

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lambda-mw/mw"
)

// Source fetches parameters and secrets by calling AWS Systems Manager
// Parameter Store and AWS Secrets Manager through the AWS SDK for Go v2.
// Give it to mw.WithSource. An item with an mw.RoleARN is read as that
// role: the Source assumes it with sts:AssumeRole (see the package
// documentation). Its methods are safe for concurrent use.
type Source struct {
	cfg  aws.Config
	opts options
	own  *clients // the aws.Config's credentials

	mu    sync.Mutex
	roles map[string]*clients // by role ARN, made on first use, kept for the Source's life

	listings *listings        // the listings of paths cut short, of every role
	now      func() time.Time // time.Now, but in tests
}

var _ mw.Source = (*Source)(nil)

// clients are the Source's SDK clients for one identity: the aws.Config's
// credentials (role ""), or a role's.
type clients struct {
	src    *Source
	role   string
	region string
	ssm    *ssm.Client
	sm     *secretsmanager.Client
}

// An Option configures a Source.
type Option func(*options)

type options struct {
	ssm    []func(*ssm.Options)
	sm     []func(*secretsmanager.Options)
	sts    []func(*sts.Options)
	assume []func(*stscreds.AssumeRoleOptions)
}

// WithSSMOptions applies fns to the options of the Source's Parameter Store
// clients, after those taken from the aws.Config, as ssm.NewFromConfig does:
// an endpoint, an HTTP client, middleware. Retries stay off whatever fns
// set (see the package documentation).
func WithSSMOptions(fns ...func(*ssm.Options)) Option {
	return func(o *options) { o.ssm = append(o.ssm, fns...) }
}

// WithSecretsManagerOptions applies fns to the options of the Source's
// Secrets Manager clients, as WithSSMOptions does for Parameter Store.
func WithSecretsManagerOptions(fns ...func(*secretsmanager.Options)) Option {
	return func(o *options) { o.sm = append(o.sm, fns...) }
}

// WithSTSOptions applies fns to the options of the STS client that assumes
// the roles items name (mw.RoleARN), as WithSSMOptions does for Parameter
// Store: a regional or VPC endpoint, an HTTP client. Retries stay off.
func WithSTSOptions(fns ...func(*sts.Options)) Option {
	return func(o *options) { o.sts = append(o.sts, fns...) }
}

// WithAssumeRoleOptions applies fns to the options of each role's
// sts:AssumeRole, after the Source's own (RoleSessionName "mw", and the
// SDK's default Duration, 15 minutes): an ExternalID the role's trust
// policy requires, a session name, a duration, session tags. Each fn sees
// the role in AssumeRoleOptions.RoleARN, and may set options by role.
func WithAssumeRoleOptions(fns ...func(*stscreds.AssumeRoleOptions)) Option {
	return func(o *options) { o.assume = append(o.assume, fns...) }
}

// New returns a Source that calls the AWS APIs with cfg's region,
// credentials, endpoint and HTTP client, as config.LoadDefaultConfig
// resolves them. It does no I/O: credentials are resolved by the first call.
func New(cfg aws.Config, opts ...Option) *Source {
	s := &Source{cfg: cfg, roles: make(map[string]*clients), listings: new(listings), now: time.Now}
	for _, opt := range opts {
		opt(&s.opts)
	}
	s.own = s.newClients("", cfg)
	return s
}

// newClients makes the clients that call AWS with cfg's credentials, as
// role.
func (s *Source) newClients(role string, cfg aws.Config) *clients {
	return &clients{
		src:    s,
		role:   role,
		region: cfg.Region,
		ssm: ssm.NewFromConfig(cfg, append(slices.Clip(s.opts.ssm), func(o *ssm.Options) {
			o.Retryer, o.RetryMaxAttempts = noRetries()
			o.ClientLogMode = noBodies(o.ClientLogMode)
		})...),
		sm: secretsmanager.NewFromConfig(cfg, append(slices.Clip(s.opts.sm), func(o *secretsmanager.Options) {
			o.Retryer, o.RetryMaxAttempts = noRetries()
			o.ClientLogMode = noBodies(o.ClientLogMode)
		})...),
	}
}

// roleSessionName is the session name of every role the Source assumes,
// unless WithAssumeRoleOptions sets another: what CloudTrail shows of the
// caller (assumed-role/<role name>/mw).
const roleSessionName = "mw"

// credentialsExpiryWindow is how long before a role's credentials expire
// the SDK's cache replaces them, so that no call starts with credentials
// about to expire.
const credentialsExpiryWindow = time.Minute

// as returns the clients that read as role ("" for the aws.Config's own
// credentials), made on first use. A role's clients sign with the
// credentials sts:AssumeRole gives, called with the aws.Config's own,
// which the SDK's credentials cache keeps and renews before they expire,
// for the Source's life.
func (s *Source) as(role string) *clients {
	if role == "" {
		return s.own
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.roles[role]; c != nil {
		return c
	}
	stsClient := sts.NewFromConfig(s.cfg, append(slices.Clip(s.opts.sts), func(o *sts.Options) {
		o.Retryer, o.RetryMaxAttempts = noRetries()
		o.ClientLogMode = noBodies(o.ClientLogMode) // an answer holds the role's credentials
	})...)
	provider := stscreds.NewAssumeRoleProvider(stsClient, role, append([]func(*stscreds.AssumeRoleOptions){
		func(o *stscreds.AssumeRoleOptions) { o.RoleSessionName = roleSessionName },
	}, s.opts.assume...)...)
	cfg := s.cfg.Copy()
	cfg.Credentials = aws.NewCredentialsCache(roleProvider{role: role, p: provider}, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = credentialsExpiryWindow
	})
	c := s.newClients(role, cfg)
	s.roles[role] = c
	return c
}

// roleProvider is a role's credentials provider, whose failures say that
// assuming the role failed.
type roleProvider struct {
	role string
	p    aws.CredentialsProvider
}

func (r roleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.p.Retrieve(ctx)
	if err != nil {
		return c, &assumeRoleError{role: r.role, err: err}
	}
	return c, nil
}

// noRetries is the retryer of the Source's clients: mw owns retries,
// bounded by the invoke's deadline, with jitter for throttles, so the SDK
// makes exactly one attempt per call. aws.NopRetryer rather than
// retry.AddWithMaxAttempts(o.Retryer, 1): the latter keeps the configured
// retryer's GetAttemptToken, which in adaptive mode waits on a client-side
// rate limiter, and its retry-quota bucket, neither of which mw can see or
// bound; NopRetryer takes no token and never waits. RetryMaxAttempts is
// zeroed so that the client does not wrap the NopRetryer again
// (finalizeRetryMaxAttempts).
func noRetries() (aws.Retryer, int) { return aws.NopRetryer{}, 0 }

// noBodies drops the log modes that would log request and response bodies,
// which hold values.
func noBodies(m aws.ClientLogMode) aws.ClientLogMode {
	return m &^ (aws.LogRequestWithBody | aws.LogResponseWithBody)
}

// String describes the Source by its Region, never with a credential:
// `awssdk.Source(eu-west-1)`.
func (s *Source) String() string { return "awssdk.Source(" + s.cfg.Region + ")" }

// Format prints String for every verb: the aws.Config a Source holds may
// hold credentials (a static provider holds the secret access key and the
// session token), which no verb may print.
func (s *Source) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// Name returns "awssdk".
func (s *Source) Name() string { return "awssdk" }

// Fetch makes the calls that op names for items (see Plan), once each,
// without retrying, and returns one Result per item, in the order of items.
// Calls for more items than one call takes run concurrently, and so do the
// calls of items read as different roles, which never share a call. A
// failure of a whole call is the same *mw.SourceError in the Result of each
// item it carried; a failure the answer reports for one item (not found in
// GetParameters' InvalidParameters, an entry of BatchGetSecretValue's
// Errors) is that item's alone. Fetch returns when ctx ends.
func (s *Source) Fetch(ctx context.Context, op string, items []mw.Item) []mw.Result {
	res := make([]mw.Result, len(items))
	roles, byRole := requests(items, func(it mw.Item) string { return it.RoleARN })
	if len(roles) == 1 {
		s.as(roles[0]).fetch(ctx, op, items, res)
		return res
	}
	var wg sync.WaitGroup
	for _, role := range roles {
		wg.Go(func() {
			idx := byRole[role]
			sub, subRes := make([]mw.Item, len(idx)), make([]mw.Result, len(idx))
			for j, i := range idx {
				sub[j] = items[i]
			}
			s.as(role).fetch(ctx, op, sub, subRes)
			for j, i := range idx {
				res[i] = subRes[j]
			}
		})
	}
	wg.Wait()
	return res
}

// fetch makes the calls that op names for items, all read as c's identity.
func (c *clients) fetch(ctx context.Context, op string, items []mw.Item, res []mw.Result) {
	switch op {
	case opGetParameters:
		c.getParameters(ctx, items, res)
	case opBatchGetSecretValue:
		c.batchGetSecretValue(ctx, items, res)
	case opGetSecretValue:
		each(items, res, func(it mw.Item) mw.Result { return c.getSecretValue(ctx, it) })
	case opGetParametersByPath:
		each(items, res, func(it mw.Item) mw.Result { return c.getParametersByPath(ctx, it) })
	default:
		err := unknownOp(op)
		for i := range res {
			res[i].Err = err
		}
	}
}

// each fetches every item with one call of get, concurrently.
func each(items []mw.Item, res []mw.Result, get func(mw.Item) mw.Result) {
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { res[i] = get(it) })
	}
	wg.Wait()
}

// requests returns the distinct requests items make, in order, and the
// indexes of the items that make each.
func requests(items []mw.Item, request func(mw.Item) string) ([]string, map[string][]int) {
	var reqs []string
	idx := make(map[string][]int)
	for i, it := range items {
		r := request(it)
		if _, ok := idx[r]; !ok {
			reqs = append(reqs, r)
		}
		idx[r] = append(idx[r], i)
	}
	return reqs, idx
}

// fanOut makes call for each group of requests, concurrently, and gives
// each request's Result to the items that made it (idx, from requests).
func fanOut(groups [][]string, idx map[string][]int, res []mw.Result, call func([]string) map[string]mw.Result) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() {
			got := call(g)
			mu.Lock()
			defer mu.Unlock()
			for r, result := range got {
				for _, i := range idx[r] {
					res[i] = result
				}
			}
		})
	}
	wg.Wait()
}
