package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// The patterns compared.
const (
	patternSeed = "seed"   // the handler calls the extension for every item on every invoke, no retry
	patternExt  = "mw-ext" // mw through the extension
	// mw through an extension that passes AWS's throttling on as a 429,
	// which mw retries as throttling, rather than its generic 400
	patternExt429 = "mw-ext429"
	patternSDK    = "mw-sdk" // mw through the AWS SDK source, batching
)

// patterns are the patterns a run compares by default.
var patterns = []string{patternSeed, patternExt, patternSDK}

type handler = func(context.Context, struct{}) (string, error)

// env is one execution environment: its extension, its handler, and what
// happened to its invokes.
type env struct {
	id     int
	start  time.Duration // simulated: its first invoke
	ext    *extension
	handle handler

	// Filled by run.
	done     time.Duration // simulated: when a handler first ran with every value, from start; <0 never
	invokes  int
	failed   int
	overruns int           // invokes that returned after their deadline
	overrun  time.Duration // the worst, simulated
}

// inproc is an http.RoundTripper that serves a request to
// http://localhost/e/<id>/... with environment id's extension, in
// process: the loopback hop to the extension costs nothing here.
type inproc struct{ envs []*env }

func (t inproc) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/e/")
	if !ok {
		return nil, errors.New("inproc: no environment in " + r.URL.Path)
	}
	idx, path, _ := strings.Cut(rest, "/")
	var id int
	if _, err := fmt.Sscan(idx, &id); err != nil || id < 0 || id >= len(t.envs) {
		return nil, errors.New("inproc: no environment " + idx)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + path
	r2.RequestURI = r2.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.envs[id].ext.ServeHTTP(rec, r2)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// newHandler builds environment e's handler for pattern p over names.
func newHandler(p string, e *env, kind string, names []string, hc *http.Client, cfg aws.Config) handler {
	base := fmt.Sprintf("http://localhost/e/%d", e.id)
	ran := func(ctx context.Context, _ struct{}) (string, error) { return "ok", nil }
	declare := mw.WithParameters(names...)
	if kind == "secret" {
		declare = mw.WithSecrets(names...)
	}
	switch p {
	case patternExt, patternExt429:
		return mw.Wrap(ran, declare, mw.WithEndpoint(base), mw.WithHTTPClient(hc), mw.WithoutEnvironment())
	case patternSDK:
		return mw.Wrap(ran, declare, mw.WithSource(awssdk.New(cfg)), mw.WithoutEnvironment())
	}
	return func(ctx context.Context, _ struct{}) (string, error) {
		for _, n := range names {
			if err := seedGet(hc, base, kind, n); err != nil {
				return "", err
			}
		}
		return "ok", nil
	}
}

// seedGet is one call the way the seed makes it: a GET with the token
// header, no timeout, no retry; any answer but 200 fails the invoke.
func seedGet(hc *http.Client, base, kind, name string) error {
	u := base + "/systemsmanager/parameters/get?withDecryption=true&name=" + url.QueryEscape(name)
	if kind == "secret" {
		u = base + "/secretsmanager/get?secretId=" + url.QueryEscape(name)
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Aws-Parameters-Secrets-Token", "")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var v map[string]any
	return json.Unmarshal(body, &v)
}

// run invokes e's handler back to back, as an environment of a function
// under a sustained spike takes its next request as soon as it is free,
// after gap (Lambda's round trip for the next request), from its start
// until a handler runs with every value or the horizon
// passes. Each invoke's context ends at the function's timeout.
func (e *env) run(c *clock, timeout, gap, horizon time.Duration) {
	e.done = -1
	c.until(e.start)
	for c.now() < horizon {
		if e.invokes > 0 {
			time.Sleep(c.real(gap))
		}
		e.invokes++
		ctx, cancel := context.WithTimeout(context.Background(), c.real(timeout))
		dl, _ := ctx.Deadline()
		_, err := e.handle(ctx, struct{}{})
		if late := time.Since(dl); late > 0 {
			e.overruns++
			e.overrun = max(e.overrun, c.sim(late))
		}
		cancel()
		if err == nil {
			e.done = c.now() - e.start
			return
		}
		e.failed++
	}
}

// runAll runs every environment, each in its own goroutine.
func runAll(c *clock, envs []*env, timeout, gap, horizon time.Duration) {
	var wg sync.WaitGroup
	for _, e := range envs {
		wg.Go(func() { e.run(c, timeout, gap, horizon) })
	}
	wg.Wait()
}
