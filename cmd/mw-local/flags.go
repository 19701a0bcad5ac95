package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lambda-mw/mw/cmd/internal/fakeext"
)

// The command line.

type config struct {
	target  string   // the main package, or the bootstrap
	values  string   // the values file; "" serves none
	serve   []string // the dialects, by name
	events  []string // -event, as given: one invoke each
	repeat  int      // how many times the events are sent
	env     []string // -env, as given
	timeout time.Duration
	startup fakeext.Startup
	// cloudextPort is the cloudext dialect's port: the one cloudext.New
	// calls by default, unless -cloudext-port says.
	cloudextPort int
	tags         string // build tags beside lambda.norpc
	rie          string // an RIE binary to use; "": the pinned one, installed
	cache        string // where the pinned RIE is installed
	verbose      bool
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// parseFlags reads the command line; -h prints the usage to out and
// returns flag.ErrHelp.
func parseFlags(args []string, out io.Writer) (config, error) {
	cfg := config{repeat: 1, cloudextPort: fakeext.CloudExtPort}
	var events, env listFlag
	serve := "extension,appconfig"
	fs := flag.NewFlagSet("mw-local", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.values, "values", "", "the values `file` to serve (the format is below); none: every item is not found")
	fs.StringVar(&serve, "serve", serve, "the `dialects` to serve the values over, comma-separated (below)")
	fs.Var(&events, "event", "an invoke's event: `JSON`, @file, or - for standard input; repeat it for more invokes, sent in order (default {})")
	fs.IntVar(&cfg.repeat, "repeat", cfg.repeat, "send the events `n` times: the first invoke is the cold start, the others are warm")
	fs.Var(&env, "env", "a variable for the function, `NAME=VALUE`, or NAME to pass this process's value; repeatable")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "the function's timeout, a `duration` in whole seconds, as AWS_LAMBDA_FUNCTION_TIMEOUT")
	fs.DurationVar(&cfg.startup.NotReadyFor, "not-ready-for", 0, "each extension stays not ready this `duration` longer after the moment it would serve (the startup race mw retries through)")
	fs.IntVar(&cfg.startup.NotReady, "not-ready", 0, "then answers its first `n` value requests as not ready still")
	fs.IntVar(&cfg.cloudextPort, "cloudext-port", cfg.cloudextPort, "the cloudext dialect's `port`: the one the function's cloudext source calls (cloudext.New's default, or cloudext.WithEndpoint's)")
	fs.StringVar(&cfg.tags, "tags", "", "more build `tags`, comma-separated, beside lambda.norpc")
	fs.StringVar(&cfg.rie, "rie", "", "the aws-lambda-rie `binary` to run, instead of the pinned version installed in -cache")
	fs.StringVar(&cfg.cache, "cache", defaultCache(), "the `directory` where the pinned RIE is installed, once")
	fs.BoolVar(&cfg.verbose, "v", false, "also print RIE's own log, the values loaded and the function's environment")
	fs.Usage = func() { usage(fs) }
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch fs.NArg() {
	case 0:
		fs.Usage()
		return cfg, errors.New("name the function: a main package or a bootstrap")
	case 1:
		cfg.target = fs.Arg(0)
	default:
		return cfg, fmt.Errorf("one function at a time: unexpected %q (flags go before the function)", fs.Arg(1))
	}
	cfg.events, cfg.env = events, env
	if len(cfg.events) == 0 {
		cfg.events = []string{"{}"}
	}
	for _, name := range strings.Split(serve, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.serve = append(cfg.serve, name)
		}
	}
	return cfg, cfg.check()
}

// check checks what the flags cannot check one by one.
func (cfg config) check() error {
	if cfg.repeat < 1 {
		return fmt.Errorf("-repeat %d: want 1 or more", cfg.repeat)
	}
	if cfg.timeout < time.Second || cfg.timeout%time.Second != 0 {
		return fmt.Errorf("-timeout %v: want whole seconds, 1s or more, as Lambda takes it", cfg.timeout)
	}
	if cfg.cloudextPort < 1 || cfg.cloudextPort > 65535 {
		return fmt.Errorf("-cloudext-port %d is not a port", cfg.cloudextPort)
	}
	if cfg.startup.NotReady < 0 || cfg.startup.NotReadyFor < 0 {
		return errors.New("-not-ready and -not-ready-for: want 0 or more")
	}
	stdin := 0
	for _, e := range cfg.events {
		if e == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return errors.New("-event -: standard input can be read once; give the other events inline or as @file")
	}
	ds, err := pickDialects(cfg.serve)
	if err != nil {
		return err
	}
	for _, e := range cfg.env {
		name, _, _ := strings.Cut(e, "=")
		for _, d := range ds {
			if slices.Contains(d.vars, name) {
				return fmt.Errorf("-env %s: mw-local sets it, to point the function at the emulated %s (leave it out, or leave %s out of -serve)", name, d.name, d.name)
			}
		}
	}
	return nil
}

// defaultCache is where the pinned RIE is installed unless -cache says.
func defaultCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "mw-local")
	}
	return filepath.Join(dir, "mw-local")
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: mw-local [flags] <main package | bootstrap>

Runs a Lambda function on this machine under AWS's Lambda Runtime Interface
Emulator (RIE), with mw's emulator serving its parameters, secrets and AppConfig
profiles from a values file, and sends it invokes, one at a time. No root, no
container: RIE runs the function as its child; the emulator listens on loopback.

The function: a main package (a directory such as ./cmd/orders, or an import
path), built for linux/%s with CGO_ENABLED=0 and -tags lambda.norpc, as the
provided.al2023 runtime runs it; or a bootstrap already built for linux/%s.

Standard output gets each invoke's response, one a line. Standard error gets the
function's output, RIE's START/END/REPORT lines, one line per request the
emulator answered, and what mw-local saw. The exit status is 0 when every invoke
succeeded, 1 when the function failed (an error returned, a crash, a timeout, or
an INIT that failed, which RIE answers with an empty body: mw-local says so and
shows what the function printed), 2 for a usage or setup error.

Flags:
`, hostArch(), hostArch())
	fs.PrintDefaults()
	fmt.Fprintf(w, `
Dialects (-serve), each on a loopback port of its own:
%s
The function's environment is what Lambda gives (not this shell's):
  AWS_LAMBDA_FUNCTION_NAME      the package's or the bootstrap's directory name
  AWS_LAMBDA_FUNCTION_TIMEOUT   -timeout, in seconds
  AWS_REGION, AWS_DEFAULT_REGION  us-east-1, as RIE's ARNs say
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
                                credentials made for the run (or the ones -env
                                gives): the extension and the agent check the
                                token, the cloudext dialect each signature
  TZ=:UTC, LANG=en_US.UTF-8, PATH=%s
the dialects' variables above, and the -env variables, which may replace any of
these but the dialects' and AWS_LAMBDA_RUNTIME_API. AWS_LAMBDA_MAX_CONCURRENCY
(Lambda Managed Instances) is not supported: RIE then runs /var/task/bootstrap.

The emulated extensions serve as the real ones do: the Parameters and Secrets
extension and the agent answer as during INIT (400 with the generic body; 503)
until the function receives its first invoke, when they receive theirs; the
AppConfig extension serves from the start. The Cloud Extensions runtime answers
503 PROFILE_LOADING until the first invoke (AWS does not document whether it
serves during INIT), and EXTENSION_LOADING for the second half of
-not-ready-for. -not-ready-for and -not-ready delay that moment.

RIE: %s@%s, installed once with go install
into -cache (needs the module proxy the first time), or -rie.

%s`, dialectHelp(), lambdaPath, rieModule+"/cmd/aws-lambda-rie", rieVersion, fakeext.ValuesFormat)
}
