package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A tier is the quotas one account has for the calls mw makes, per
// second, as AWS's quota pages state them (SCALE.md cites them). Each
// bucket is a token bucket; ops that share a bucket name share its tokens.
type tier struct {
	name    string
	items   string            // "parameter" or "secret": what the items are
	buckets map[string]bucket // by op
}

type bucket struct {
	name string  // ops with the same name share one bucket
	rate float64 // requests per second
}

var tiers = []tier{
	{name: "ps-standard", items: "parameter", buckets: map[string]bucket{
		// "This default maximum of 40 TPS is shared by all three API actions."
		"GetParameter":        {"ssm-get", 40},
		"GetParameters":       {"ssm-get", 40},
		"GetParametersByPath": {"ssm-get", 40},
	}},
	{name: "ps-high", items: "parameter", buckets: map[string]bucket{
		// "Higher throughput enabled: GetParameter: 10,000 GetParameters:
		// 1,000 GetParametersByPath: 100", taken as separate buckets.
		"GetParameter":        {"GetParameter", 10000},
		"GetParameters":       {"GetParameters", 1000},
		"GetParametersByPath": {"GetParametersByPath", 100},
	}},
	{name: "sm", items: "secret", buckets: map[string]bucket{
		"GetSecretValue":      {"GetSecretValue", 10000},
		"BatchGetSecretValue": {"BatchGetSecretValue", 100},
	}},
}

func tierByName(name string) (tier, bool) {
	for _, t := range tiers {
		if t.name == name {
			return t, true
		}
	}
	return tier{}, false
}

// tokens is a token bucket on the simulated clock: it holds up to burst
// tokens and gains rate a simulated second.
type tokens struct {
	mu    sync.Mutex
	clock *clock
	rate  float64
	burst float64
	have  float64
	at    time.Duration // simulated time of the last update
}

func (b *tokens) take() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.now()
	b.have = min(b.burst, b.have+b.rate*(now-b.at).Seconds())
	b.at = now
	if b.have < 1 {
		return false
	}
	b.have--
	return true
}

// upstream is the simulated AWS endpoint: Parameter Store and Secrets
// Manager over the AWS JSON 1.1 protocol (X-Amz-Target), for the calls mw's
// sources and the stand-in extension make. It holds every name it is
// asked for, with a value derived from the name, enforces the tier's
// quotas, and answers a call over quota as AWS does: HTTP 400
// {"__type":"ThrottlingException","message":"Rate exceeded"}.
type upstream struct {
	clock   *clock
	latency time.Duration // simulated, each call, ± a third, throttled or not
	buckets map[string]*tokens

	calls     sync.Map // op -> *atomic.Int64
	throttled sync.Map // op -> *atomic.Int64
}

func newUpstream(c *clock, t tier, burst float64, latency time.Duration) *upstream {
	u := &upstream{clock: c, latency: latency, buckets: map[string]*tokens{}}
	shared := map[string]*tokens{}
	for op, b := range t.buckets {
		tb := shared[b.name]
		if tb == nil {
			tb = &tokens{clock: c, rate: b.rate, burst: max(1, b.rate*burst), have: max(1, b.rate*burst)}
			shared[b.name] = tb
		}
		u.buckets[op] = tb
	}
	return u
}

func count(m *sync.Map, op string) {
	v, _ := m.LoadOrStore(op, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func total(m *sync.Map) int64 {
	var n int64
	m.Range(func(_, v any) bool { n += v.(*atomic.Int64).Load(); return true })
	return n
}

// The request fields the calls carry, as the AWS APIs spell them.
type awsRequest struct {
	Name         string
	Names        []string
	Path         string
	SecretId     string // the API's spelling
	SecretIdList []string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op := target[strings.LastIndexByte(target, '.')+1:]
	var q awsRequest
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(body, &q); err != nil {
		awsError(w, 400, "SerializationException", "the request body is not JSON")
		return
	}
	if u.buckets[op] == nil {
		awsError(w, 400, "UnknownOperationException", "the simulation does not serve "+target)
		return
	}
	switch err := u.call(r.Context(), op); {
	case err == errThrottled:
		awsError(w, 400, "ThrottlingException", "Rate exceeded")
		return
	case err != nil:
		return
	}
	var out any
	switch op {
	case "GetParameter":
		out = map[string]any{"Parameter": parameter(q.Name)}
	case "GetParameters":
		ps := []any{}
		for _, n := range q.Names {
			ps = append(ps, parameter(n))
		}
		out = map[string]any{"Parameters": ps, "InvalidParameters": []string{}}
	case "GetParametersByPath":
		out = map[string]any{"Parameters": []any{parameter(strings.TrimSuffix(q.Path, "/") + "/only")}}
	case "GetSecretValue":
		out = secret(q.SecretId)
	case "BatchGetSecretValue":
		ss := []any{}
		for _, id := range q.SecretIdList {
			ss = append(ss, secret(id))
		}
		out = map[string]any{"SecretValues": ss, "Errors": []any{}}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// errThrottled is a call over quota.
var errThrottled = errors.New("ThrottlingException: Rate exceeded")

// call is one call of op: it counts it, takes a token from its bucket,
// holds the answer for the call's latency, and says whether it was
// throttled (errThrottled) or its caller left (ctx's error). The stand-in
// extensions call it in process, as the answer over HTTP would cost this
// machine's CPU more than the simulated call; the SDK source's calls come
// over HTTP (ServeHTTP).
func (u *upstream) call(ctx context.Context, op string) error {
	count(&u.calls, op)
	ok := u.buckets[op].take()
	d := u.latency + time.Duration((rand.Float64()-0.5)*2/3*float64(u.latency))
	t := time.NewTimer(u.clock.real(d))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	if !ok {
		count(&u.throttled, op)
		return errThrottled
	}
	return nil
}

func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

const (
	account = "123456789012"
	region  = "us-east-1"
	created = 1764374400 // 2025-11-29, epoch seconds as JSON 1.1 sends timestamps
)

func valueOf(name string) string { return "value-of-" + name }

func parameter(name string) map[string]any {
	return map[string]any{
		"Name": name, "Type": "SecureString", "Value": valueOf(name), "Version": 1, "DataType": "text",
		"ARN":              "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(name, "/"),
		"LastModifiedDate": created,
	}
}

func secret(id string) map[string]any {
	return map[string]any{
		"Name": id, "SecretString": valueOf(id), "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"},
		"ARN":         "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + id + "-AbCdEf",
		"CreatedDate": created,
	}
}
