package awssdk

import (
	"context"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/lambda-mw/mw"
)

// Source fetches parameters and secrets by calling AWS Systems Manager
// Parameter Store and AWS Secrets Manager through the AWS SDK for Go v2.
// Give it to mw.WithSource. Its methods are safe for concurrent use.
type Source struct {
	region string
	ssm    *ssm.Client
	sm     *secretsmanager.Client

	listings *listings        // the listings of paths cut short
	now      func() time.Time // time.Now, but in tests
}

var _ mw.Source = (*Source)(nil)

// An Option configures a Source.
type Option func(*options)

type options struct {
	ssm []func(*ssm.Options)
	sm  []func(*secretsmanager.Options)
}

// WithSSMOptions applies fns to the options of the Source's Parameter Store
// client, after those taken from the aws.Config, as ssm.NewFromConfig does:
// an endpoint, an HTTP client, middleware. Retries stay off whatever fns
// set (see the package documentation).
func WithSSMOptions(fns ...func(*ssm.Options)) Option {
	return func(o *options) { o.ssm = append(o.ssm, fns...) }
}

// WithSecretsManagerOptions applies fns to the options of the Source's
// Secrets Manager client, as WithSSMOptions does for Parameter Store.
func WithSecretsManagerOptions(fns ...func(*secretsmanager.Options)) Option {
	return func(o *options) { o.sm = append(o.sm, fns...) }
}

// New returns a Source that calls the AWS APIs with cfg's region,
// credentials, endpoint and HTTP client, as config.LoadDefaultConfig
// resolves them. It does no I/O: credentials are resolved by the first call.
func New(cfg aws.Config, opts ...Option) *Source {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Source{
		region:   cfg.Region,
		listings: new(listings),
		now:      time.Now,
		ssm: ssm.NewFromConfig(cfg, append(o.ssm, func(o *ssm.Options) {
			o.Retryer, o.RetryMaxAttempts = noRetries()
			o.ClientLogMode = noBodies(o.ClientLogMode)
		})...),
		sm: secretsmanager.NewFromConfig(cfg, append(o.sm, func(o *secretsmanager.Options) {
			o.Retryer, o.RetryMaxAttempts = noRetries()
			o.ClientLogMode = noBodies(o.ClientLogMode)
		})...),
	}
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

// Name returns "awssdk".
func (s *Source) Name() string { return "awssdk" }

// Fetch makes the calls that op names for items (see Plan), once each,
// without retrying, and returns one Result per item, in the order of items.
// Calls for more items than one call takes run concurrently. A failure of a
// whole call is the same *mw.SourceError in the Result of each item it
// carried; a failure the answer reports for one item (not found in
// GetParameters' InvalidParameters, an entry of BatchGetSecretValue's
// Errors) is that item's alone. Fetch returns when ctx ends.
func (s *Source) Fetch(ctx context.Context, op string, items []mw.Item) []mw.Result {
	res := make([]mw.Result, len(items))
	switch op {
	case opGetParameters:
		s.getParameters(ctx, items, res)
	case opBatchGetSecretValue:
		s.batchGetSecretValue(ctx, items, res)
	case opGetSecretValue:
		each(items, res, func(it mw.Item) mw.Result { return s.getSecretValue(ctx, it) })
	case opGetParametersByPath:
		each(items, res, func(it mw.Item) mw.Result { return s.getParametersByPath(ctx, it) })
	default:
		err := unknownOp(op)
		for i := range res {
			res[i].Err = err
		}
	}
	return res
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
