package awssdk_test

// The SDK source's cold start, for BENCHMARKS.md: a fresh mw.Wrap and its
// first invoke, N parameters or M secrets, every API call answered after
// benchLatency, beside the extension source (mwtest's fake, managed dialect)
// at the same latency. Each op reports the calls it made (calls/op, counted
// by the server) and its time as a multiple of one call's latency
// (ratio-to-one-call). They are not timed assertions, and run only with
// -bench.
//
// The AWS APIs are served here by serveAnswers, in Go, not by moto: moto
// takes 8 to 13 ms of its own to answer one call on the machine these
// figures come from, and answers concurrent calls one at a time (5
// GetParameters calls: 34 ms at no added latency), which would measure moto
// rather than mw. The tests count the same calls against moto.

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/awssdk/internal/moto"
	"github.com/lambda-mw/mw/mwtest"
)

// benchLatency is what every call waits before it is answered: one call's
// latency, the unit of ratio-to-one-call. The root module's cold-start
// benchmarks use the same.
const benchLatency = 20 * time.Millisecond

// The cold starts measured: N parameters, or M secrets.
var (
	benchParameters = []int{1, 10, 50}
	benchSecrets    = []int{1, 10, 40}
)

// coldFixture is one source's world: items seeded, and the options that
// declare them and point mw at it, for a fresh Wrap each op.
type coldFixture struct {
	opts  func() []mw.Option // a fresh source each op, as a new process has
	calls func() int64       // requests so far
	reset func()             // untimed, between ops: close idle connections
}

func BenchmarkColdStart(b *testing.B) {
	for _, src := range []string{"sdk", "extension"} {
		for _, kind := range []string{"parameters", "secrets"} {
			sizes := benchParameters
			if kind == "secrets" {
				sizes = benchSecrets
			}
			for _, n := range sizes {
				b.Run(fmt.Sprintf("%s/%s=%d", src, kind, n), func(b *testing.B) {
					var f coldFixture
					if src == "sdk" {
						f = sdkFixture(b, kind, n)
					} else {
						f = extensionFixture(b, kind, n)
					}
					benchCold(b, f)
				})
			}
		}
	}
}

// names returns n names of kind.
func names(kind string, n int) []string {
	out := make([]string, n)
	for i := range out {
		if kind == "parameters" {
			out[i] = fmt.Sprintf("/bench/p%02d", i)
		} else {
			out[i] = fmt.Sprintf("bench/s%02d", i)
		}
	}
	return out
}

// declare is the option that declares names of kind.
func declare(kind string, names []string) mw.Option {
	if kind == "parameters" {
		return mw.WithParameters(names...)
	}
	return mw.WithSecrets(names...)
}

func sdkFixture(b *testing.B, kind string, n int) coldFixture {
	values := map[string]string{}
	ns := names(kind, n)
	for _, name := range ns {
		values[name] = "value-of-" + name
	}
	var calls atomic.Int64
	srv := serveAnswers(b, benchLatency, map[string]func(map[string]any) any{
		"GetParameters":       func(req map[string]any) any { return getParameters(values, req) },
		"BatchGetSecretValue": func(req map[string]any) any { return batchGetSecretValue(values, req) },
	}, &calls)
	return coldFixture{
		opts: func() []mw.Option {
			// A new Source has new SDK clients, with HTTP clients of their
			// own: every first invoke dials, as a new process does.
			return []mw.Option{mw.WithSource(awssdk.New(moto.Config(srv.URL))), declare(kind, ns)}
		},
		calls: calls.Load,
		reset: func() {},
	}
}

// getParameters answers a GetParameters request from values, as AWS does.
func getParameters(values map[string]string, req map[string]any) any {
	var found []map[string]any
	invalid := []string{}
	for _, n := range req["Names"].([]any) {
		name := n.(string)
		v, ok := values[name]
		if !ok {
			invalid = append(invalid, name)
			continue
		}
		found = append(found, map[string]any{"Name": name, "Type": "SecureString", "Value": v, "Version": 1,
			"ARN": moto.ParameterARN(name), "DataType": "text"})
	}
	return map[string]any{"Parameters": found, "InvalidParameters": invalid}
}

// batchGetSecretValue answers a BatchGetSecretValue request by ids from
// values, as AWS does.
func batchGetSecretValue(values map[string]string, req map[string]any) any {
	var found, errs []map[string]any
	for _, n := range req["SecretIdList"].([]any) {
		id := n.(string)
		v, ok := values[id]
		if !ok {
			errs = append(errs, map[string]any{"SecretId": id, "ErrorCode": "ResourceNotFoundException",
				"Message": "Secrets Manager can't find the specified secret."})
			continue
		}
		found = append(found, map[string]any{"Name": id, "SecretString": v, "VersionId": "v1",
			"VersionStages": []string{"AWSCURRENT"},
			"ARN":           "arn:aws:secretsmanager:" + moto.Region + ":" + moto.AccountID + ":secret:" + id + "-AbCdEf"})
	}
	return map[string]any{"SecretValues": found, "Errors": errs}
}

func extensionFixture(b *testing.B, kind string, n int) coldFixture {
	ext, srv := mwtest.Start(b, mwtest.Managed)
	ext.SetToken("") // no token check: the benchmarks leave AWS_SESSION_TOKEN alone
	ns := names(kind, n)
	for _, name := range ns {
		if kind == "parameters" {
			ext.PutParameter(name, "SecureString", "value-of-"+name)
		} else {
			ext.PutSecret(name, "value-of-"+name)
		}
	}
	ext.SetLatency(benchLatency)
	return coldFixture{
		opts:  func() []mw.Option { return []mw.Option{mw.WithEndpoint(srv.URL), declare(kind, ns)} },
		calls: ext.Requests,
		// mw's own HTTP client is shared by every Wrap: close its
		// connections so that each first invoke dials.
		reset: func() { closeConnections(srv) },
	}
}

func closeConnections(srv *httptest.Server) { srv.CloseClientConnections() }

// benchCold measures a fresh Wrap's first invoke, b.N times.
func benchCold(b *testing.B, f coldFixture) {
	handler := func(context.Context) error { return nil }
	before := f.calls()
	var elapsed time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h := mw.WrapFunc(handler, append(f.opts(), mw.WithoutEnvironment())...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := h(ctx)
		elapsed += time.Since(start)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		f.reset()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(f.calls()-before)/float64(b.N), "calls/op")
	b.ReportMetric(float64(elapsed)/float64(b.N)/float64(benchLatency), "ratio-to-one-call")
}
