// Command mw-extension is a local stand-in for the AWS Parameters and
// Secrets Lambda Extension (and for the aws-secretsmanager-agent). It serves
// the values of a JSON file over the extension's HTTP protocol, using the
// same fake as package mwtest, and can inject the extension's faults.
//
// Run it alone for local development:
//
//	AWS_SESSION_TOKEN=local mw-extension -values cmd/mw-extension/testdata/values.json
//
// or put it in /opt/extensions, where Lambda (or the Lambda Runtime
// Interface Emulator) starts it as an external extension: when
// AWS_LAMBDA_RUNTIME_API is set it registers with the Extensions API,
// answers the managed extension's generic 400 until its first INVOKE event,
// as the real one does during INIT, and exits on SHUTDOWN. Started that way
// it gets no arguments: every flag can be set by an environment variable.
//
// Run mw-extension -h for the flags and the values-file format.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

const (
	portEnv           = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
	tokenEnv          = "AWS_SESSION_TOKEN"
	runtimeAPIEnv     = "AWS_LAMBDA_RUNTIME_API"
	maxConcurrencyEnv = "AWS_LAMBDA_MAX_CONCURRENCY"
	defaultPort       = 2773
)

type config struct {
	values      string
	dialect     mwtest.Dialect
	host        string
	port        int
	token       string
	lambda      string // auto, on, off
	notReady    int
	notReadyFor time.Duration
	latency     time.Duration
	faults      mwtest.Faults
	hang        bool
	quiet       bool
}

// dialectFlag is a flag.Value for mwtest.Dialect.
type dialectFlag struct{ d *mwtest.Dialect }

func (f dialectFlag) String() string {
	if f.d == nil {
		return mwtest.Managed.String()
	}
	return f.d.String()
}

func (f dialectFlag) Set(s string) error {
	d, err := mwtest.ParseDialect(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// shareFlag is a float flag that must lie in [0, 1].
type shareFlag struct{ p *float64 }

func (f shareFlag) String() string {
	if f.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f shareFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || v > 1 {
		return fmt.Errorf("want a share between 0 and 1, got %q", s)
	}
	*f.p = v
	return nil
}

// flagEnv names the environment variable behind each flag.
var flagEnv = []struct{ flag, env string }{
	{"values", "MW_EXT_VALUES"},
	{"dialect", "MW_EXT_DIALECT"},
	{"host", "MW_EXT_HOST"},
	{"port", portEnv},
	{"token", tokenEnv},
	{"lambda", "MW_EXT_LAMBDA"},
	{"not-ready", "MW_EXT_NOT_READY"},
	{"not-ready-for", "MW_EXT_NOT_READY_FOR"},
	{"latency", "MW_EXT_LATENCY"},
	{"errors", "MW_EXT_ERRORS"},
	{"throttle", "MW_EXT_THROTTLE"},
	{"resets", "MW_EXT_RESETS"},
	{"seed", "MW_EXT_SEED"},
	{"hang", "MW_EXT_HANG"},
	{"quiet", "MW_EXT_QUIET"},
}

// parseFlags reads the configuration from the environment, then from args,
// which win.
func parseFlags(name string, args []string, getenv func(string) string, out io.Writer) (config, error) {
	cfg := config{dialect: mwtest.Managed, host: "127.0.0.1", port: defaultPort, lambda: "auto"}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.values, "values", "", "the values `file` (JSON, format below); none: no values")
	fs.Var(dialectFlag{&cfg.dialect}, "dialect", "`managed` (the Lambda layer: Parameter Store and Secrets Manager, every error a generic 400) or agent (aws-secretsmanager-agent: secrets only, JSON errors, /ping, /v1/<id>, refreshNow)")
	fs.StringVar(&cfg.host, "host", cfg.host, "the `address` to listen on")
	fs.IntVar(&cfg.port, "port", cfg.port, "the `port` to listen on")
	fs.StringVar(&cfg.token, "token", "", "the `token` requests must carry in X-Aws-Parameters-Secrets-Token; empty: no check")
	fs.StringVar(&cfg.lambda, "lambda", cfg.lambda, "`mode`: on (an external extension: register with the Extensions API at $"+runtimeAPIEnv+", not ready until the first INVOKE, exit on SHUTDOWN), off (serve until SIGINT/SIGTERM), auto (on when $"+runtimeAPIEnv+" is set)")
	fs.IntVar(&cfg.notReady, "not-ready", 0, "answer the first `n` value requests as during INIT (managed: 400 generic; agent: 503), counted from the moment the extension is ready")
	fs.DurationVar(&cfg.notReadyFor, "not-ready-for", 0, "stay not ready for this `duration` longer: after start, or in Lambda mode after the first INVOKE")
	fs.DurationVar(&cfg.latency, "latency", 0, "delay every value request by this `duration`")
	fs.Var(shareFlag{&cfg.faults.ServerError}, "errors", "`share` (0..1) of value requests answered 500")
	fs.Var(shareFlag{&cfg.faults.Throttle}, "throttle", "`share` (0..1) of value requests answered 429")
	fs.Var(shareFlag{&cfg.faults.Reset}, "resets", "`share` (0..1) of value requests whose connection is reset")
	fs.Int64Var(&cfg.faults.Seed, "seed", 0, "`seed` of the fault draws (same seed, same faults)")
	fs.BoolVar(&cfg.hang, "hang", false, "hold every value request until its client gives up (or shutdown)")
	fs.BoolVar(&cfg.quiet, "quiet", false, "do not log one line per request")
	fs.Usage = func() { usage(fs) }

	for _, fe := range flagEnv {
		v := getenv(fe.env)
		if v == "" {
			continue
		}
		if err := fs.Set(fe.flag, v); err != nil {
			return cfg, fmt.Errorf("$%s=%q: %w", fe.env, v, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch cfg.lambda {
	case "auto", "on", "off":
	default:
		return cfg, fmt.Errorf("-lambda: want auto, on or off, got %q", cfg.lambda)
	}
	if cfg.port < 1 || cfg.port > 65535 {
		return cfg, fmt.Errorf("-port: %d is not a port", cfg.port)
	}
	if cfg.notReady < 0 {
		return cfg, fmt.Errorf("-not-ready: %d is negative", cfg.notReady)
	}
	if f := cfg.faults; f.ServerError+f.Throttle+f.Reset > 1 {
		return cfg, errors.New("-errors, -throttle and -resets add up to more than 1")
	}
	return cfg, nil
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: %s [flags]

A local stand-in for the AWS Parameters and Secrets Lambda Extension: serves
the values of a file over the extension's HTTP protocol, on
127.0.0.1:$%s (default %d), checking the token against $%s.

  GET /systemsmanager/parameters/get?name=...&withDecryption=true[&version=N|&label=L]
  GET /secretsmanager/get?secretId=...[&versionId=...|&versionStage=...]
  GET /_mw/stats        request counters as JSON (no token; not counted)
  agent dialect also:   GET /v1/<secretId>, GET /ping, refreshNow=true

Standalone it serves until SIGINT or SIGTERM. As a Lambda external extension
(put it in /opt/extensions; on when $%s is set) it registers for INVOKE and
SHUTDOWN, answers as during INIT (managed: 400 with the generic body; agent:
503) until its first INVOKE event, and exits 0 on SHUTDOWN. Either way it logs
its counters when it stops. Under Lambda Managed Instances
($AWS_LAMBDA_MAX_CONCURRENCY set), where extensions get no INVOKE event, it
registers for SHUTDOWN only and is ready once registered.

Flags (each also read from the environment variable named in brackets; a flag
given on the command line wins):

`, fs.Name(), portEnv, defaultPort, tokenEnv, runtimeAPIEnv)
	env := map[string]string{}
	for _, fe := range flagEnv {
		env[fe.flag] = fe.env
	}
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  -%s %s   [$%s]\n    \t%s", f.Name, name, env[f.Name], help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "0s" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "\n%s\nExample: cmd/mw-extension/testdata/values.json in the mw repository.\n", valuesFormat)
}

func main() {
	name := filepath.Base(os.Args[0])
	cfg, err := parseFlags(name, os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(2)
	}
	logger := log.New(os.Stderr, "["+name+"] ", 0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, name, cfg, os.Getenv(runtimeAPIEnv), os.Getenv(maxConcurrencyEnv), logger)
	logger.Printf("exit %d", code)
	os.Exit(code)
}

// run serves until ctx is done or, in Lambda mode, SHUTDOWN. It returns the
// exit code.
// runtimeAPI and maxConcurrency are $AWS_LAMBDA_RUNTIME_API and
// $AWS_LAMBDA_MAX_CONCURRENCY.
func run(ctx context.Context, name string, cfg config, runtimeAPI, maxConcurrency string, logger *log.Logger) int {
	lambdaMode := cfg.lambda == "on" || (cfg.lambda == "auto" && runtimeAPI != "")
	if lambdaMode && runtimeAPI == "" {
		logger.Printf("-lambda=on needs $%s", runtimeAPIEnv)
		return 2
	}

	ext := mwtest.New(cfg.dialect)
	ext.SetToken(cfg.token)
	if cfg.token == "" {
		logger.Printf("no token set ($%s, -token): the token check is off", tokenEnv)
	}
	if cfg.values != "" {
		l, err := loadValuesFile(cfg.values, ext)
		if err != nil {
			logger.Printf("values: %v", err)
			return 2
		}
		for _, line := range l.lines {
			logger.Print("loaded ", line)
		}
	} else {
		logger.Print("no values file (-values): every item is not found")
	}
	ext.SetLatency(cfg.latency)
	ext.SetFaults(cfg.faults)
	ext.SetHang(cfg.hang)

	var becomeReady sync.Once
	ready := func(why string) {
		becomeReady.Do(func() {
			flip := func() {
				if cfg.notReady > 0 {
					ext.NotReadyFor(cfg.notReady)
				} else {
					ext.SetReady(true)
				}
				logger.Printf("ready (%s)", why)
			}
			if cfg.notReadyFor > 0 {
				time.AfterFunc(cfg.notReadyFor, flip)
			} else {
				flip()
			}
		})
	}
	if lambdaMode || cfg.notReadyFor > 0 {
		ext.SetReady(false)
	}

	addr := net.JoinHostPort(cfg.host, strconv.Itoa(cfg.port))
	ln, lnErr := net.Listen("tcp", addr)
	var handler http.Handler = ext
	if !cfg.quiet {
		handler = logRequests(ext, logger)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	serveDone := make(chan struct{})
	if lnErr == nil {
		logger.Printf("serving the %s dialect on http://%s", cfg.dialect, ln.Addr())
		go func() {
			defer close(serveDone)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Printf("serve: %v", err)
			}
		}()
	} else {
		close(serveDone)
	}

	shutdown := func(reason string) {
		ext.Close() // releases hung and delayed requests
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-serveDone
		stats, _ := json.Marshal(ext.Stats())
		logger.Printf("shutdown (%s): stats %s", reason, stats)
	}

	if !lambdaMode {
		if lnErr != nil {
			logger.Printf("listen: %v", lnErr)
			return 1
		}
		ready("standalone")
		<-ctx.Done()
		shutdown("signal")
		return 0
	}

	// Lambda mode. Listen before registering: Lambda starts the runtime's
	// init once every extension has registered, and init-time calls must
	// meet the 400, not a refused connection.
	//
	// Under Lambda Managed Instances ($AWS_LAMBDA_MAX_CONCURRENCY set)
	// extensions may subscribe to SHUTDOWN only: they never see an invoke.
	// There the emulator is ready once registered, that is from the end of
	// its own init (how the managed layer behaves there is not documented).
	events := []string{eventInvoke, eventShutdown}
	lmi := maxConcurrency != ""
	if lmi {
		events = []string{eventShutdown}
	}
	client := newExtClient(runtimeAPI, &http.Client{})
	if err := client.register(ctx, name, events); err != nil {
		logger.Printf("%v", err)
		shutdown("register failed")
		return 1
	}
	logger.Printf("registered as %q for %v", name, events)
	if lnErr != nil {
		logger.Printf("listen: %v", lnErr)
		if err := client.reportError(context.Background(), "init/error", "Extension.ListenFailed", lnErr); err != nil {
			logger.Printf("init/error: %v", err)
		}
		return 1
	}
	if lmi {
		ready("registered under Lambda Managed Instances, which sends extensions no INVOKE")
	}
	invokes := 0
	for {
		ev, err := client.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				shutdown("signal")
				return 0
			}
			logger.Printf("%v", err)
			_ = client.reportError(context.Background(), "exit/error", "Extension.NextFailed", err)
			shutdown("event/next failed")
			return 1
		}
		switch ev.EventType {
		case eventInvoke:
			invokes++
			ready("first INVOKE " + ev.RequestID)
		case eventShutdown:
			shutdown(fmt.Sprintf("SHUTDOWN event, reason %s, after %d invokes", ev.ShutdownReason, invokes))
			return 0
		default:
			logger.Printf("ignoring event %q", ev.EventType)
		}
	}
}

// logRequests logs one line per request: method, path, the names asked for,
// status and time. Never a value or a token.
func logRequests(h http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := strconv.Itoa(sw.status)
			if sw.status == 0 {
				status = "no answer"
			}
			q := ""
			if r.URL.RawQuery != "" {
				q = "?" + r.URL.RawQuery
			}
			logger.Printf("%s %s%s -> %s (%s)", r.Method, r.URL.Path, q, status, time.Since(start).Round(time.Microsecond))
		}()
		h.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for resets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
