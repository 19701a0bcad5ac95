package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailed  = 1 // the function failed
	exitUsage   = 2 // a usage or setup error
	exitStopped = 130
)

// lambdaPath is PATH in Lambda's provided.al2023 runtime.
const lambdaPath = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"

// run is mw-local; it returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	logw := &syncWriter{w: stderr}
	cfg, err := parseFlags(args, logw)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(logw, "mw-local: %v\n", err)
		return exitUsage
	}
	l := &local{cfg: cfg, stdout: stdout, logw: logw, say: log.New(logw, "mw-local: ", 0)}
	return l.run(ctx, stdin)
}

// local is one run.
type local struct {
	cfg    config
	stdout io.Writer
	logw   io.Writer   // standard error, shared by every logger
	say    *log.Logger // mw-local's own lines
}

func (l *local) run(ctx context.Context, stdin io.Reader) int {
	events, err := readEvents(l.cfg.events, stdin)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	userEnv, err := parseEnv(l.cfg.env, os.LookupEnv)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	if runtime.GOOS != "linux" {
		l.say.Printf("RIE runs on Linux only (this is %s): run mw-local in a Linux container or virtual machine", runtime.GOOS)
		return exitUsage
	}
	work, err := os.MkdirTemp("", "mw-local-")
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	defer os.RemoveAll(work)

	bootstrap, name, err := function(ctx, l.cfg, work, l.logw)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	rieBin, err := installRIE(ctx, l.cfg, l.logw)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	creds := newCredentials(userEnv)
	servers, err := l.serve(creds)
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	env, err := functionEnv(l.cfg, name, creds, userEnv, servers)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	if l.cfg.verbose {
		l.say.Printf("the function's environment: %s", describeEnv(env, userEnv, creds.made))
	}
	out, err := newOutput(l.logw)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	defer out.close()
	rlog, err := newRIELog(l.logw, l.cfg.verbose)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	defer rlog.close()
	r, api, err := l.start(rieBin, work, bootstrap, env, servers, out, rlog)
	if err != nil {
		l.say.Print(err)
		return exitUsage
	}
	defer api.close()
	defer r.stop()
	l.say.Printf("%s runs under RIE, invoked at http://%s%s", name, r.addr, rieInvokePath)
	return l.invokeAll(ctx, r, api, out, rlog, events)
}

// serve starts the dialects -serve names.
func (l *local) serve(creds credentials) ([]*served, error) {
	ds, err := pickDialects(l.cfg.serve)
	if err != nil {
		return nil, err
	}
	var servers []*served
	for _, d := range ds {
		s, err := d.start(setup{
			values:  l.cfg.values,
			creds:   creds,
			port:    l.cfg.cloudextPort,
			startup: l.cfg.startup,
			logger:  log.New(l.logw, "["+d.name+"] ", 0),
			verbose: l.cfg.verbose,
		})
		if err != nil {
			return servers, fmt.Errorf("%s: %w", d.name, err)
		}
		s.name = d.name
		servers = append(servers, s)
	}
	return servers, nil
}

// start starts RIE, on ports free a moment before; it tries again when one
// was taken meanwhile.
func (l *local) start(bin, work, bootstrap string, env []string, servers []*served, out *output, rlog *rieLog) (*rie, *runtimeAPI, error) {
	firstInvoke := func() {
		for _, s := range servers {
			if s.invoke != nil {
				s.invoke()
			}
		}
	}
	var lastErr error
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		apiAddr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		api, proxyAddr, err := startRuntimeAPI(apiAddr, firstInvoke)
		if err != nil {
			return nil, nil, err
		}
		shim, err := writeShim(work, proxyAddr, bootstrap)
		if err != nil {
			api.close()
			return nil, nil, err
		}
		r, err := startRIE(bin, addr, apiAddr, shim, env, out, rlog, l.cfg.timeout)
		if err == nil {
			return r, api, nil
		}
		api.close()
		if lastErr = err; !errAddrInUse(err, rlog) {
			break
		}
	}
	return nil, nil, lastErr
}

// invokeAll sends the invokes, one at a time, and says how each went.
func (l *local) invokeAll(ctx context.Context, r *rie, api *runtimeAPI, out *output, rlog *rieLog, events [][]byte) int {
	total := len(events) * l.cfg.repeat
	code := exitOK
	for i := range total {
		n := fmt.Sprintf("invoke %d of %d", i+1, total)
		id := newRequestID()
		start := time.Now()
		status, body, err := r.invoke(ctx, id, events[i%len(events)])
		took := time.Since(start)
		out.mark()
		rlog.mark()
		lines, rieSays := out.take(), rlog.lastFailure()
		if ctx.Err() != nil {
			l.say.Printf("%s: interrupted", n)
			return exitStopped
		}
		if err != nil {
			l.say.Printf("%s: %v", n, err)
			return exitFailed
		}
		delivered, outcome := api.seen(id)
		switch {
		case outcome == "response":
			l.respond(body)
			l.say.Printf("%s: answered in %s%s", n, took.Round(time.Millisecond), coldStart(lines, id))
		case outcome == "error":
			l.respond(body)
			l.say.Printf("%s: the function returned an error%s (on standard output)", n, errorType(body))
			code = exitFailed
		case !delivered:
			l.initFailed(n, status, body, lines, rieSays, api.reportedInitError(), api.lostRequest())
			return exitFailed
		default:
			if len(body) > 0 {
				l.respond(body)
			}
			l.say.Printf("%s: %s", n, noAnswer(status, body, rieSays, l.cfg.timeout))
			code = exitFailed
		}
	}
	return code
}

// errorType returns ", <errorType>" from a function error's body, as the
// runtime posts it ({"errorMessage": …, "errorType": …}), or "".
func errorType(body []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal(body, &e) != nil || e.ErrorType == "" {
		return ""
	}
	return ", " + e.ErrorType
}

// noAnswer says why the function posted no answer to an event it got: it
// timed out (RIE answers 200 "Task timed out after …"), or it exited.
func noAnswer(status int, body []byte, rieSays string, timeout time.Duration) string {
	if bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return fmt.Sprintf("the function timed out: it had not answered after -timeout %s", timeout)
	}
	why := fmt.Sprintf("the function got its event but posted no answer: RIE answered HTTP %d", status)
	if rieSays != "" {
		why += "; RIE says: " + rieSays
	}
	return why
}

// respond prints a response, one a line.
func (l *local) respond(body []byte) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	_, _ = l.stdout.Write(body)
}

// initFailed says that the function's INIT failed, with what it printed.
func (l *local) initFailed(n string, status int, body []byte, lines []string, rieSays string, reported []byte, lost error) {
	answer := fmt.Sprintf("HTTP %d with an empty body", status)
	if len(body) > 0 {
		answer = fmt.Sprintf("HTTP %d, %q", status, body)
	}
	if lost != nil {
		l.say.Printf("%s: INIT failed: mw-local could not pass the function's request on to RIE's Runtime API (%v), "+
			"a fault of mw-local or RIE, not of the function: run it again. RIE answered %s.", n, lost, answer)
	} else {
		l.say.Printf("%s: INIT failed: the function never asked for its event. RIE answered %s, as it answers any INIT that failed.", n, answer)
	}
	if rieSays != "" {
		l.say.Printf("RIE says: %s", rieSays)
	}
	if len(reported) > 0 {
		l.say.Printf("the function reported (init/error): %s", reported)
	}
	var own []string
	for _, line := range lines {
		if !isRIELine(line) {
			own = append(own, line)
		}
	}
	if len(own) == 0 {
		l.say.Print("the function printed nothing during its INIT")
	} else {
		l.say.Print("what the function printed during its INIT:")
		for _, line := range own {
			l.say.Print("  | " + line)
		}
	}
	l.say.Print("no more invokes: each would run the same INIT again (-v shows RIE's own log)")
}

// isRIELine tells RIE's own lines on its standard output from the
// function's.
func isRIELine(line string) bool {
	for _, p := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// coldStart says ", a cold start" when RIE's REPORT line for id carries
// an Init Duration (a figure RIE does not measure as Lambda does).
func coldStart(lines []string, id string) string {
	for _, line := range lines {
		if !strings.HasPrefix(line, "REPORT RequestId: "+id) {
			continue
		}
		if strings.Contains(line, "\tInit Duration: ") {
			return ", a cold start"
		}
	}
	return ""
}

// readEvents reads each -event: JSON, @file or - (standard input).
func readEvents(specs []string, stdin io.Reader) ([][]byte, error) {
	var events [][]byte
	for i, spec := range specs {
		var (
			data []byte
			err  error
			from = fmt.Sprintf("-event %d", i+1)
		)
		switch {
		case spec == "-":
			from = "-event - (standard input)"
			data, err = io.ReadAll(stdin)
		case strings.HasPrefix(spec, "@"):
			from = "-event " + spec
			data, err = os.ReadFile(spec[1:])
		default:
			data = []byte(spec)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", from, err)
		}
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%s is not JSON (%v): Lambda's events are", from, err)
		}
		events = append(events, data)
	}
	return events, nil
}

// owned are the variables mw-local sets and -env may not.
var owned = map[string]string{
	"AWS_LAMBDA_RUNTIME_API":     "mw-local points the function at RIE's Runtime API itself",
	"AWS_LAMBDA_MAX_CONCURRENCY": "Lambda Managed Instances are not supported: RIE then runs /var/task/bootstrap, whatever the function",
}

// parseEnv reads the -env entries: NAME=VALUE, or NAME for this process's
// value.
func parseEnv(entries []string, lookup func(string) (string, bool)) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range entries {
		name, value, hasValue := strings.Cut(e, "=")
		if name == "" || strings.ContainsAny(name, " \t\n") {
			// The name alone: the value may be a credential.
			return nil, fmt.Errorf("-env with the name %q: want NAME=VALUE, or NAME, a name without spaces", name)
		}
		if why, ok := owned[name]; ok {
			return nil, fmt.Errorf("-env %s: %s", name, why)
		}
		if !hasValue {
			v, ok := lookup(name)
			if !ok {
				return nil, fmt.Errorf("-env %s: %s is not set here, so there is nothing to pass on (or give NAME=VALUE)", name, name)
			}
			value = v
		}
		env[name] = value
	}
	return env, nil
}

// functionEnv is the function's environment (and RIE's, which passes its
// own on): Lambda's variables, its credentials, then -env's, then the
// dialects'.
func functionEnv(cfg config, name string, creds credentials, user map[string]string, servers []*served) ([]string, error) {
	env := map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":    name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT": strconv.Itoa(int(cfg.timeout / time.Second)),
		"AWS_REGION":                  "us-east-1",
		"AWS_DEFAULT_REGION":          "us-east-1",
		"TZ":                          ":UTC",
		"LANG":                        "en_US.UTF-8",
		"PATH":                        lambdaPath,
	}
	maps.Copy(env, creds.env())
	for k, v := range user {
		env[k] = v
	}
	for _, s := range servers {
		for k, v := range s.env {
			if _, given := user[k]; given {
				return nil, fmt.Errorf("-env %s: mw-local sets it, to point the function at the emulated %s (leave it out, or leave %s out of -serve)", k, s.name, s.name)
			}
			env[k] = v
		}
	}
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	slices.Sort(list)
	return list, nil
}

// describeEnv lists env for the log: values mw-local chose, but not the
// credentials made for the run (made names them), nor what -env gave (it
// may hold credentials).
func describeEnv(env []string, user map[string]string, made map[string]bool) string {
	var parts []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch _, given := user[k]; {
		case given:
			parts = append(parts, k+" (from -env)")
		case made[k]:
			parts = append(parts, k+" (made for this run)")
		default:
			parts = append(parts, kv)
		}
	}
	return strings.Join(parts, " ")
}

// writeShim writes the bootstrap RIE runs: a script that points the
// function's runtime at mw-local's Runtime API proxy (RIE sets
// AWS_LAMBDA_RUNTIME_API to its own), then runs the function.
func writeShim(work, proxyAddr, bootstrap string) (string, error) {
	path := filepath.Join(work, "bootstrap-via-mw-local")
	script := "#!/bin/sh\n" +
		"# mw-local: the runtime reaches RIE's Runtime API through mw-local, which watches it.\n" +
		"AWS_LAMBDA_RUNTIME_API=" + proxyAddr + "\n" +
		"export AWS_LAMBDA_RUNTIME_API\n" +
		"exec " + shellQuote(bootstrap) + "\n"
	return path, os.WriteFile(path, []byte(script), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID returns a request id in Lambda's form (a UUID).
func newRequestID() string {
	h := randomHex(16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// syncWriter serialises the writes of the loggers that share standard
// error.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

var discardLog = log.New(io.Discard, "", 0)
