package jaeger

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestTraceInJaeger runs examples/tracing under mw-local (a cold invoke,
// then a warm one), its spans exported over OTLP to a real Jaeger, and
// reads them back from Jaeger's query API: otellambda's root span, mw's
// spans under it as TELEMETRY.md names them, one mw.fetch per item with its
// attempts and a retry event per attempt the emulator answered as not
// ready, the warm invoke's cache hits, and no value anywhere.
//
// It builds Jaeger (minutes, once: the binary is cached) and needs
// MW_JAEGER=1. Where Jaeger cannot be built it skips, saying why; under
// CI=true it fails. MW_JAEGER_PICTURE=<file.svg> also draws the two traces.
func TestTraceInJaeger(t *testing.T) {
	if os.Getenv("MW_JAEGER") != "1" {
		t.Skip("MW_JAEGER=1 runs it: it builds Jaeger (minutes, the first time) and runs examples/tracing under mw-local")
	}
	jaegerBin := jaegerBinary(t)
	mwLocal := mwLocalBinary(t)
	j := startJaeger(t, jaegerBin)

	secret := "canary-secret-" + randomHex(6)
	greeting := "canary-greeting-" + randomHex(6)
	token := "canary-token-" + randomHex(6)
	service := "mw-jaeger-" + randomHex(4)
	values := filepath.Join(t.TempDir(), "values.json")
	writeFile(t, values, fmt.Sprintf(`{"parameters": {"/app/greeting": {"value": %q}}, "secrets": {"prod/db": {"string": %q}}}`, greeting, secret))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	since := time.Now()
	cmd := exec.CommandContext(ctx, mwLocal,
		"-values", values,
		"-not-ready", "2", // the emulator answers the first two value requests as during INIT: mw retries
		"-event", `{"name":"ana"}`, "-repeat", "2",
		"-env", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+j.otlp,
		"-env", "OTEL_SERVICE_NAME="+service,
		"-env", "AWS_SESSION_TOKEN="+token,
		"./examples/tracing")
	cmd.Dir = "../.."
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mw-local: %v\n%s", err, stderr.String())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("mw-local's standard error:\n%s", stderr.String())
		}
	})
	if want := `{"greeting":"` + greeting + `, ana"}`; stdout.String() != want+"\n"+want+"\n" {
		t.Fatalf("responses %q, want two of %s", stdout.String(), want)
	}
	ids := requestIDs(stderr.String())
	if len(ids) != 2 {
		t.Fatalf("request ids %q, want 2 (RIE's START lines)", ids)
	}
	raw, traces := j.waitTraces(t, service, since, map[string]int{ids[0]: 5, ids[1]: 3})

	cold, warm := traces[ids[0]], traces[ids[1]]
	items := []string{"parameter:/app/greeting", "secret:prod/db"}
	ext := parseSummary(t, stderr.String())
	if ext.notReady == 0 {
		t.Errorf("the emulator answered no request as not ready (-not-ready 2): no retry to see")
	}
	checkCold(t, cold, checkRoot(t, cold, "tracing", ids[0]), items, ext)
	checkWarm(t, warm, checkRoot(t, warm, "tracing", ids[1]), len(items))
	checkNames(t, append(slices.Clone(cold), warm...))
	for _, canary := range []string{secret, greeting, token} {
		if bytes.Contains(raw, []byte(canary)) {
			t.Errorf("Jaeger's trace JSON holds the canary %q", canary)
		}
	}
	if path := os.Getenv("MW_JAEGER_PICTURE"); path != "" {
		writeFile(t, path, picture(cold, warm))
		t.Logf("drew the traces into %s", path)
	}
}

// checkRoot checks otellambda's root span of one invoke, and returns it.
func checkRoot(t *testing.T, spans []span, function, id string) span {
	t.Helper()
	var roots []span
	for _, s := range spans {
		if s.ParentID == "" {
			roots = append(roots, s)
		}
	}
	if len(roots) != 1 {
		t.Fatalf("invoke %s: %d root spans, want 1", id, len(roots))
	}
	r := roots[0]
	if r.Name != function || r.Kind != kindServer || !strings.HasSuffix(r.Scope, "/otellambda") || r.Attrs["faas.invocation_id"] != id {
		t.Errorf("root span %s (kind %d, scope %s, %v), want otellambda's SERVER span %s for invoke %s", r.Name, r.Kind, r.Scope, r.Attrs, function, id)
	}
	return r
}

// summary is what mw-local said the emulated extension answered.
type summary struct{ requests, notReady int64 }

func parseSummary(t *testing.T, stderr string) summary {
	t.Helper()
	m := regexp.MustCompile(`\[extension\] (\d+) requests(?:;.*; (\d+) answered as not ready)?`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatal("mw-local printed no summary of the extension's requests")
	}
	var s summary
	fmt.Sscan(m[1], &s.requests)
	if m[2] != "" {
		fmt.Sscan(m[2], &s.notReady)
	}
	return s
}

// checkCold checks the cold invoke of a function that declares items
// (kind:name, sorted): mw.resolve and mw.handler under the root; under
// mw.resolve one mw.fetch per item, whose attempts and retry events add up
// to the requests the emulator received and answered as not ready.
func checkCold(t *testing.T, spans []span, root span, items []string, ext summary) {
	t.Helper()
	resolve := only(t, spans, "mw.resolve")
	handler := only(t, spans, "mw.handler")
	if resolve.ParentID != root.SpanID || handler.ParentID != root.SpanID {
		t.Errorf("mw.resolve and mw.handler are not children of the invocation span")
	}
	wantAttrs(t, resolve, map[string]any{
		"mw.cold_start": true, "mw.items": int64(len(items)), "mw.cache.hits": int64(0), "mw.cache.misses": int64(len(items)),
		"mw.cache.miss_items": anys(items),
	})
	fetches := named(spans, "mw.fetch")
	if len(fetches) != len(items) {
		t.Fatalf("%d mw.fetch spans, want one per item (%d)", len(fetches), len(items))
	}
	var fetched []string
	var attempts, retries int64
	for _, f := range fetches {
		fetched = append(fetched, fmt.Sprint(f.Attrs["mw.item.kind"], ":", f.Attrs["mw.item.name"]))
		if f.ParentID != resolve.SpanID || f.Kind != kindClient {
			t.Errorf("mw.fetch %v: kind %d, parent %s; want a CLIENT span under mw.resolve", f.Attrs["mw.item.name"], f.Kind, f.ParentID)
		}
		wantAttrs(t, f, map[string]any{"mw.source": "extension", "http.response.status_code": int64(200), "mw.fetch.batch_size": int64(1)})
		a, _ := f.Attrs["mw.fetch.attempts"].(int64)
		r, _ := f.Attrs["mw.fetch.retries"].(int64)
		if a < 1 || r != a-1 || int64(len(f.Events)) != r {
			t.Errorf("mw.fetch %v: %d attempts, %d retries, %d events; want retries = attempts-1 = events", f.Attrs["mw.item.name"], a, r, len(f.Events))
		}
		for i, e := range f.Events {
			if e.Name != "mw.fetch.retry" || e.Attrs["error.type"] != "rejected" || e.Attrs["http.response.status_code"] != int64(400) || e.Attrs["mw.fetch.attempt"] != int64(i+1) {
				t.Errorf("mw.fetch %v: event %d = %s %v, want mw.fetch.retry of attempt %d, rejected, 400", f.Attrs["mw.item.name"], i, e.Name, e.Attrs, i+1)
			}
		}
		attempts += a
		retries += r
	}
	slices.Sort(fetched)
	if !slices.Equal(fetched, items) {
		t.Errorf("mw.fetch items %q, want %q", fetched, items)
	}
	if attempts != ext.requests || retries != ext.notReady {
		t.Errorf("the spans count %d attempts and %d retries; the emulator got %d requests and answered %d as not ready (want equal)", attempts, retries, ext.requests, ext.notReady)
	}
}

// checkWarm checks a warm invoke of a function that declares n items: every
// item from the cache, no fetch.
func checkWarm(t *testing.T, spans []span, root span, n int) {
	t.Helper()
	resolve := only(t, spans, "mw.resolve")
	only(t, spans, "mw.handler")
	if resolve.ParentID != root.SpanID {
		t.Error("the warm mw.resolve is not a child of the invocation span")
	}
	wantAttrs(t, resolve, map[string]any{"mw.cold_start": false, "mw.cache.hits": int64(n), "mw.cache.misses": int64(0)})
	if fetches := len(named(spans, "mw.fetch")); fetches != 0 {
		t.Errorf("the warm invoke has %d mw.fetch spans, want none", fetches)
	}
}

// checkNames checks that every name mw recorded, span, event or
// attribute, is one TELEMETRY.md lists.
func checkNames(t *testing.T, spans []span) {
	t.Helper()
	doc, err := os.ReadFile("../../TELEMETRY.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := func(name string) bool { return bytes.Contains(doc, []byte("`"+name+"`")) }
	for _, s := range spans {
		if s.Scope != "github.com/lambda-mw/mw" {
			continue
		}
		names := []string{s.Name}
		for k := range s.Attrs {
			names = append(names, k)
		}
		for _, e := range s.Events {
			names = append(names, e.Name)
			for k := range e.Attrs {
				names = append(names, k)
			}
		}
		for _, n := range names {
			if !listed(n) {
				t.Errorf("%s records %q, which TELEMETRY.md does not list", s.Name, n)
			}
		}
	}
}

func only(t *testing.T, spans []span, name string) span {
	t.Helper()
	found := named(spans, name)
	if len(found) != 1 {
		t.Fatalf("%d %s spans, want 1", len(found), name)
	}
	return found[0]
}

func wantAttrs(t *testing.T, s span, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got := s.Attrs[k]
		if list, ok := got.([]any); ok {
			slices.SortFunc(list, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		}
		if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", v) {
			t.Errorf("%s: %s = %#v, want %#v", s.Name, k, got, v)
		}
	}
}

// requestIDs returns the request ids of RIE's START lines, in order.
func requestIDs(stderr string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^START RequestId: (\S+)`).FindAllStringSubmatch(stderr, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// jaeger is a running Jaeger.
type jaeger struct {
	otlp, query string // host:port of the OTLP/HTTP receiver and of the query API
}

// startJaeger runs Jaeger with jaeger.yaml on free loopback ports, and
// waits until it says it is ready.
func startJaeger(t *testing.T, bin string) *jaeger {
	t.Helper()
	j := &jaeger{otlp: freeAddr(t), query: freeAddr(t)}
	cmd := exec.Command(bin, "--config", "jaeger.yaml")
	cmd.Env = append(os.Environ(), "JAEGER_OTLP_HTTP="+j.otlp, "JAEGER_QUERY_HTTP="+j.query, "JAEGER_QUERY_GRPC="+freeAddr(t))
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !signalled && strings.Contains(sc.Text(), "Everything is ready") {
				close(ready)
				signalled = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("Jaeger's log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("Jaeger exited before it was ready: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("Jaeger was not ready within a minute")
	}
	return j
}

// waitTraces asks Jaeger's query API v3 for the service's traces until
// each invoke's trace holds the spans expected (its exporter has flushed
// at the end of the invoke; Jaeger stores them a moment later). It returns
// the answer as Jaeger gave it, and the traces by request id.
func (j *jaeger) waitTraces(t *testing.T, service string, since time.Time, spans map[string]int) ([]byte, map[string][]span) {
	t.Helper()
	q := url.Values{
		"query.service_name":   {service},
		"query.start_time_min": {since.Add(-time.Minute).UTC().Format(time.RFC3339Nano)},
		"query.start_time_max": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339Nano)},
		"query.num_traces":     {"20"},
	}
	u := "http://" + j.query + "/api/v3/traces?" + q.Encode()
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(u)
		if err != nil {
			last = err.Error()
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("HTTP %d: %.300s", resp.StatusCode, raw)
		if resp.StatusCode != http.StatusOK {
			continue // 404 until the service has a trace
		}
		byTrace, err := parseTraces(raw)
		if err != nil {
			t.Fatalf("Jaeger's answer: %v", err)
		}
		byID := map[string][]span{}
		for _, spans := range byTrace {
			for _, s := range spans {
				if id, ok := s.Attrs["faas.invocation_id"].(string); ok && s.ParentID == "" {
					byID[id] = spans
				}
			}
		}
		complete := true
		for id, n := range spans {
			complete = complete && len(byID[id]) == n
		}
		if complete {
			return raw, byID
		}
		last = fmt.Sprintf("%d traces, spans by invoke: %v", len(byTrace), counts(byID))
	}
	t.Fatalf("Jaeger did not return the traces expected (%v spans by invoke) within 30 s; last: %s", spans, last)
	return nil, nil
}

func counts(byID map[string][]span) map[string]int {
	m := map[string]int{}
	for id, s := range byID {
		m[id] = len(s)
	}
	return m
}

// jaegerBinary returns Jaeger, built once per version into the user's cache
// (the first build takes minutes).
func jaegerBinary(t *testing.T) string {
	t.Helper()
	version, err := output(".", "go", "list", "-m", "-f", "{{.Version}}", "github.com/jaegertracing/jaeger")
	if err != nil {
		unavailable(t, "Jaeger's version: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "mw-jaeger", "jaeger-"+strings.TrimSpace(version)+"-"+runtime.GOOS+"-"+runtime.GOARCH)
	bin := filepath.Join(dir, "jaeger")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	t.Logf("building Jaeger %s into %s, once: minutes", strings.TrimSpace(version), dir)
	start := time.Now()
	if out, err := output(".", "go", "build", "-o", filepath.Join(tmp, "jaeger"), "github.com/jaegertracing/jaeger/cmd/jaeger"); err != nil {
		unavailable(t, "building Jaeger: %v\n%s", err, out)
	}
	t.Logf("built Jaeger in %s", time.Since(start).Round(time.Second))
	if err := os.Rename(filepath.Join(tmp, "jaeger"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// mwLocalBinary builds cmd/mw-local.
func mwLocalBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mw-local")
	if out, err := output("../../cmd", "go", "build", "-o", bin, "./mw-local"); err != nil {
		t.Fatalf("building mw-local: %v\n%s", err, out)
	}
	return bin
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

func output(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// anys returns ss as the []any an array attribute decodes to.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
