package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// extension stands in for one environment's AWS Parameters and Secrets
// Lambda Extension: mwtest's fake (the managed dialect) answers, stocked
// with every item, behind a front that does what the fake does not:
//
//   - it answers the generic 400 until ready, as at a cold start;
//   - it keeps its own cache, TTL ttl (SSM_PARAMETER_STORE_TTL and
//     SECRETS_MANAGER_TTL, 300 s by default), and asks AWS (the simulated
//     upstream) on a miss, at most conns calls at once
//     (PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS, 3 by default);
//   - when AWS throttles it, it answers its generic 400 (the most likely
//     answer, unverified), or with throttle429 a 429
//     with AWS's ThrottlingException body.
type extension struct {
	fake        *mwtest.Extension
	clock       *clock
	aws         *upstream
	ttl         time.Duration
	readyAt     time.Duration // simulated
	throttle429 bool
	conns       chan struct{}

	mu     sync.Mutex
	ready  bool
	cached map[string]time.Duration // key -> simulated expiry
}

func newExtension(c *clock, aws *upstream, names []string, kind string, readyAt, ttl time.Duration, conns int, throttle429 bool) *extension {
	fake := mwtest.New(mwtest.Managed)
	fake.SetToken("")
	fake.SetReady(false)
	for _, n := range names {
		if kind == "secret" {
			fake.PutSecret(n, valueOf(n))
		} else {
			fake.PutParameter(n, "SecureString", valueOf(n))
		}
	}
	return &extension{fake: fake, clock: c, aws: aws, ttl: ttl, readyAt: readyAt, throttle429: throttle429,
		conns: make(chan struct{}, conns), cached: map[string]time.Duration{}}
}

func (x *extension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := x.clock.now()
	x.mu.Lock()
	if !x.ready && now >= x.readyAt {
		x.ready = true
		x.fake.SetReady(true)
	}
	ready := x.ready
	q := r.URL.Query()
	secret := strings.HasSuffix(r.URL.Path, "/secretsmanager/get")
	key := q.Get("name")
	if secret {
		key = q.Get("secretId")
	}
	hit := x.cached[key] > now
	x.mu.Unlock()
	if !ready || hit || key == "" {
		x.fake.ServeHTTP(w, r)
		return
	}
	if err := x.ask(r.Context(), secret, key); err != nil {
		if x.throttle429 && err == errThrottled {
			awsError(w, http.StatusTooManyRequests, "ThrottlingException", "Rate exceeded")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(mwtest.GenericError))
		return
	}
	x.mu.Lock()
	x.cached[key] = x.clock.now() + x.ttl
	x.mu.Unlock()
	x.fake.ServeHTTP(w, r)
}

// ask fetches key from AWS, as the extension does on a cache miss, with
// no retry: whether the managed extension retries a throttled call itself
// is not documented.
func (x *extension) ask(ctx context.Context, secret bool, key string) error {
	select {
	case x.conns <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-x.conns }()
	op := "GetParameter"
	if secret {
		op = "GetSecretValue"
	}
	return x.aws.call(ctx, op)
}
