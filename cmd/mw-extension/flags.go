package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-mw/mw/cmd/internal/fakeext"
	"github.com/lambda-mw/mw/mwtest"
)

// The configuration: flags, each also read from an environment variable.

type config struct {
	values      string
	dialect     dialect
	host        string
	port        int
	token       string
	lambda      string // auto, on, off
	readyAt     string // invoke, register; "": the dialect's default
	notReady    int
	notReadyFor time.Duration
	latency     time.Duration
	faults      mwtest.Faults
	hang        bool
	quiet       bool
	cloudext    cloudextAuth
}

// cloudextAuth is how the cloudext dialect checks signatures: the
// profile's authentication, and the credentials it accepts.
type cloudextAuth struct {
	mode        string // runtimeCredentials, extensionKey, none
	accessKeyID string // runtimeCredentials: the function's (and the runtime's) credentials
	secretKey   string
	keyID       string // extensionKey: the profile's extension key
	keySecret   string
}

// A dialect is what the emulator serves: mwtest's fake extension in one
// of its dialects, or the Cloud Extensions runtime.
type dialect string

const (
	managed   dialect = "managed"
	agent     dialect = "agent"
	appConfig dialect = "appconfig"
	cloudExt  dialect = "cloudext"
)

// mwtest returns mwtest's dialect d names; not for cloudExt.
func (d dialect) mwtest() mwtest.Dialect {
	md, _ := mwtest.ParseDialect(string(d))
	return md
}

// dialectFlag is a flag.Value for a dialect.
type dialectFlag struct{ d *dialect }

func (f dialectFlag) String() string {
	if f.d == nil {
		return string(managed)
	}
	return string(*f.d)
}

func (f dialectFlag) Set(s string) error {
	switch d := dialect(s); d {
	case managed, agent, appConfig, cloudExt:
		*f.d = d
		return nil
	}
	return fmt.Errorf("unknown dialect %q (want managed, agent, appconfig or cloudext)", s)
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
	{"ready-at", "MW_EXT_READY_AT"},
	{"auth", "MW_EXT_AUTH"},
	{"access-key-id", accessKeyEnv},
	{"secret-access-key", secretKeyEnv},
	{"extension-key-id", "MW_EXT_EXTENSION_KEY_ID"},
	{"extension-secret-key", "MW_EXT_EXTENSION_SECRET_KEY"},
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
	cfg := config{dialect: managed, host: "127.0.0.1", lambda: "auto", cloudext: cloudextAuth{mode: authRuntime}}
	fs := newFlagSet(name, out, &cfg)
	if err := setFromEnv(fs, getenv); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.portFromEnv(fs, getenv); err != nil {
		return cfg, err
	}
	return cfg, cfg.check()
}

// portFromEnv sets the port, unless -port gave it, from the variable of
// the dialect's extension, else to its default: both extensions read their
// own, and two copies of the emulator share one environment in Lambda.
func (cfg *config) portFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "port" })
	if given {
		return nil
	}
	env, port := portEnv, defaultPort
	switch cfg.dialect {
	case appConfig:
		env, port = appConfigPortEnv, appConfigDefaultPort
	case cloudExt:
		env, port = cloudExtPortEnv, fakeext.CloudExtPort
	}
	cfg.port = port
	if v := getenv(env); v != "" {
		if err := fs.Set("port", v); err != nil {
			return fmt.Errorf("$%s=%q: %w", env, v, err)
		}
	}
	return nil
}

// newFlagSet defines the flags, which set cfg.
func newFlagSet(name string, out io.Writer, cfg *config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.values, "values", "", "the values `file` (JSON, format below); none: no values")
	fs.Var(dialectFlag{&cfg.dialect}, "dialect", "`managed` (the Lambda layer: Parameter Store and Secrets Manager, every error a generic 400), agent (aws-secretsmanager-agent: secrets only, JSON errors, /ping, /v1/<id>, refreshNow), appconfig (the AWS AppConfig Agent Lambda extension: the \"appconfig\" section, no token, ready once registered) or cloudext (the AWS Systems Manager Cloud Extensions runtime: its Secrets Manager, Parameter Store and AppConfig extensions, SigV4 checked, 503 PROFILE_LOADING until ready)")
	fs.StringVar(&cfg.host, "host", cfg.host, "the `address` to listen on; one that is not loopback needs a token (cloudext: a signature)")
	fs.IntVar(&cfg.port, "port", 0, "the `port` to listen on (default 2773; appconfig: 2772, from $"+appConfigPortEnv+"; cloudext: 5333, from $"+cloudExtPortEnv+")")
	fs.StringVar(&cfg.token, "token", "", "the `token` requests must carry in X-Aws-Parameters-Secrets-Token; empty: no check; the appconfig dialect takes none; cloudext: the session token of the runtime credentials")
	fs.StringVar(&cfg.lambda, "lambda", cfg.lambda, "`mode`: on (an external extension: register with the Extensions API at $"+runtimeAPIEnv+", not ready until the first INVOKE, exit on SHUTDOWN), off (serve until SIGINT/SIGTERM), auto (on when $"+runtimeAPIEnv+" is set)")
	fs.StringVar(&cfg.readyAt, "ready-at", "", "in Lambda mode, `when` the emulator starts to serve: invoke (its first INVOKE event) or register (once registered, before the function's INIT); default register for appconfig, invoke for the others")
	fs.StringVar(&cfg.cloudext.mode, "auth", cfg.cloudext.mode, "cloudext: the profile's `authentication`: runtimeCredentials (SigV4 with -access-key-id, -secret-access-key and -token), extensionKey (SigV4 with -extension-key-id and -extension-secret-key) or none")
	fs.StringVar(&cfg.cloudext.accessKeyID, "access-key-id", "", "cloudext, runtimeCredentials: the access key `id` requests are signed with: the function's, which Lambda gives the runtime too")
	fs.StringVar(&cfg.cloudext.secretKey, "secret-access-key", "", "cloudext, runtimeCredentials: its secret `key`")
	fs.StringVar(&cfg.cloudext.keyID, "extension-key-id", "", "cloudext, extensionKey: the profile's extension key, its access key `id` (CXEK...)")
	fs.StringVar(&cfg.cloudext.keySecret, "extension-secret-key", "", "cloudext, extensionKey: its secret `key`")
	fs.IntVar(&cfg.notReady, "not-ready", 0, "answer the first `n` value requests as during INIT (managed: 400 generic; agent: 503; cloudext: 503 EXTENSION_LOADING; appconfig, which answers nothing as not ready: no effect), counted from the moment the extension is ready")
	fs.DurationVar(&cfg.notReadyFor, "not-ready-for", 0, "stay not ready for this `duration` longer: after start, or in Lambda mode after the first INVOKE (appconfig: after registering; requests wait meanwhile; cloudext: PROFILE_LOADING for its first half, EXTENSION_LOADING for the second)")
	fs.DurationVar(&cfg.latency, "latency", 0, "delay every value request by this `duration`")
	fs.Var(shareFlag{&cfg.faults.ServerError}, "errors", "`share` (0..1) of value requests answered 500")
	fs.Var(shareFlag{&cfg.faults.Throttle}, "throttle", "`share` (0..1) of value requests answered 429")
	fs.Var(shareFlag{&cfg.faults.Reset}, "resets", "`share` (0..1) of value requests whose connection is reset")
	fs.Int64Var(&cfg.faults.Seed, "seed", 0, "`seed` of the fault draws (same seed, same faults)")
	fs.BoolVar(&cfg.hang, "hang", false, "hold every value request until its client gives up (or shutdown)")
	fs.BoolVar(&cfg.quiet, "quiet", false, "do not log one line per request")
	fs.Usage = func() { usage(fs) }
	return fs
}

// setFromEnv sets each flag whose environment variable is set; the port
// is the dialect's (portFromEnv).
func setFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	for _, fe := range flagEnv {
		v := getenv(fe.env)
		if v == "" || fe.flag == "port" {
			continue
		}
		if err := fs.Set(fe.flag, v); err != nil {
			return fmt.Errorf("$%s=%q: %w", fe.env, v, err)
		}
	}
	return nil
}

// check checks what the flags cannot check one by one.
func (cfg config) check() error {
	switch cfg.lambda {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("-lambda: want auto, on or off, got %q", cfg.lambda)
	}
	switch cfg.readyAt {
	case "", "invoke", "register":
	default:
		return fmt.Errorf("-ready-at: want invoke or register, got %q", cfg.readyAt)
	}
	if cfg.port < 1 || cfg.port > 65535 {
		return fmt.Errorf("-port: %d is not a port", cfg.port)
	}
	if cfg.notReady < 0 {
		return fmt.Errorf("-not-ready: %d is negative", cfg.notReady)
	}
	if f := cfg.faults; f.ServerError+f.Throttle+f.Reset > 1 {
		return errors.New("-errors, -throttle and -resets add up to more than 1")
	}
	if cfg.dialect == cloudExt {
		return cfg.checkCloudExt()
	}
	if !isLoopback(cfg.host) && cfg.dialect == appConfig {
		return fmt.Errorf("-host (or $MW_EXT_HOST) %q is not a loopback address, and the appconfig dialect checks no token (the AppConfig extension takes none): every configuration would be served to anyone who can reach it. Listen on 127.0.0.1", cfg.host)
	}
	if !isLoopback(cfg.host) && cfg.token == "" {
		return fmt.Errorf("-host (or $MW_EXT_HOST) %q is not a loopback address, and no token is set: every value would be served to anyone who can reach it. Set a token ($%s or -token), or listen on 127.0.0.1", cfg.host, tokenEnv)
	}
	return nil
}

// checkCloudExt checks the cloudext dialect's authentication, and that no
// flag asks for what it does not do.
func (cfg config) checkCloudExt() error {
	if f := cfg.faults; f.ServerError > 0 || f.Throttle > 0 || f.Reset > 0 || cfg.hang {
		return errors.New("-errors, -throttle, -resets and -hang are not served in the cloudext dialect: its fake injects each documented answer on demand, in tests (cloudexttest's Inject and FailNext)")
	}
	a := cfg.cloudext
	switch a.mode {
	case authRuntime:
		if a.accessKeyID == "" || a.secretKey == "" {
			return fmt.Errorf("-auth %s checks each signature against the runtime's credentials, which are the function's: set $%s and $%s (Lambda and RIE give every process the same), or -access-key-id and -secret-access-key; or -auth none", authRuntime, accessKeyEnv, secretKeyEnv)
		}
	case authKey:
		if !strings.HasPrefix(a.keyID, "CXEK") || a.keySecret == "" {
			return fmt.Errorf("-auth %s checks each signature against the profile's extension key: set -extension-key-id (CXEK followed by 16 capitals or digits) and -extension-secret-key (or $MW_EXT_EXTENSION_KEY_ID and $MW_EXT_EXTENSION_SECRET_KEY), the key the function signs with", authKey)
		}
	case authNone:
		if !isLoopback(cfg.host) {
			return fmt.Errorf("-host (or $MW_EXT_HOST) %q is not a loopback address, and -auth none checks no signature: every value would be served to anyone who can reach it. Listen on 127.0.0.1, or check signatures", cfg.host)
		}
	default:
		return fmt.Errorf("-auth: want %s, %s or %s, got %q", authRuntime, authKey, authNone, a.mode)
	}
	return nil
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

With -dialect appconfig, a stand-in for the AWS AppConfig Agent Lambda
extension instead: serves the file's "appconfig" section on
127.0.0.1:$%s (default %d), with no token, as

  GET /applications/<application>/environments/<environment>/configurations/<profile>[?flag=<key>...]

(each name percent-encoded: a '/' in a name is %%2F). In Lambda mode it is
ready once registered, as the real one, which fetches its prefetch list
before the function's init, is believed to be; -not-ready-for holds requests
that long, as the real one holds a request while it first calls AppConfig.
To run it beside another copy, which sees the same environment, start it
from a script in /opt/extensions under a name of its own:

  #!/bin/bash
  exec -a mw-appconfig /opt/mw/mw-extension -dialect appconfig

With -dialect cloudext, a stand-in for the AWS Systems Manager Cloud
Extensions runtime instead: serves the whole file through its three
extensions on 127.0.0.1:$%s (default %d), as cloudext's fake
(cloudexttest) does, checking each request's SigV4 signature as -auth says:
by default against $%s, $%s and
$%s, the function's credentials, which it signs with.

  GET  /secretsmanager/get?secretId=...[&versionId=...|&versionStage=...][&refreshNow=true]
  POST /parameterstore   AmazonSSM.GetParameter, AmazonSSM.GetParameters
  POST /appconfig/       AppConfig.GetConfiguration, AppConfig.GetFlag

Until it serves it answers 503 ServiceUnavailableException, reason
PROFILE_LOADING (and EXTENSION_LOADING for the second half of
-not-ready-for). In Lambda mode it serves from its first INVOKE event, or
once registered with -ready-at register: AWS does not document whether the
runtime serves during the function's INIT. A bad signature is refused as
the runtime refuses it (403 SignatureDoesNotMatch, 400 or 403
AccessDeniedException with its reason).

Standalone it serves until SIGINT or SIGTERM. As a Lambda external extension
(put it in /opt/extensions; on when $%s is set) it registers for INVOKE and
SHUTDOWN, answers as during INIT (managed: 400 with the generic body; agent:
503; cloudext: 503 PROFILE_LOADING) until its first INVOKE event (-ready-at),
and exits 0 on SHUTDOWN. Either way it logs
its counters when it stops. Under Lambda Managed Instances
($AWS_LAMBDA_MAX_CONCURRENCY set), where extensions get no INVOKE event, it
registers for SHUTDOWN only and is ready once registered.

Flags (each also read from the environment variable named in brackets; a flag
given on the command line wins):

`, fs.Name(), portEnv, defaultPort, tokenEnv, appConfigPortEnv, appConfigDefaultPort,
		cloudExtPortEnv, fakeext.CloudExtPort, accessKeyEnv, secretKeyEnv, tokenEnv, runtimeAPIEnv)
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
	fmt.Fprintf(w, "\n%s\nExample: cmd/mw-extension/testdata/values.json in the mw repository.\n", fakeext.ValuesFormat)
}
