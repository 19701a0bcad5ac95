package main

import (
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/cmd/internal/fakeext"
	"github.com/lambda-mw/mw/mwtest"
)

// A dialect is one protocol mw-local serves the values over: one of the
// extensions (or agents) a function reads them from. To serve another, add
// it to dialects: its start serves the values on a loopback port and says
// which variables point the function at it.
type dialect struct {
	name  string // as -serve names it
	about string // for -h: what it stands for, its variables, when it serves
	// vars names the function's variables it sets, which -env may not.
	vars []string
	// excludes names the dialects it cannot be served with: mw reads its
	// items from one of them.
	excludes []string
	start    func(s setup) (*served, error)
}

// setup is what a dialect is started with.
type setup struct {
	values  string      // the values file; "" for none
	creds   credentials // the function's
	port    int         // the cloudext dialect's (-cloudext-port)
	startup fakeext.Startup
	logger  *log.Logger // the dialect's own, prefixed with its name
	verbose bool
}

// served is a dialect being served.
type served struct {
	name string
	env  map[string]string // the function's variables that point at it
	// invoke is called when the function receives its first invoke: the
	// moment an extension receives its own first INVOKE event. May be nil.
	invoke func()
	stop   func() // stops serving, and logs what was served
}

var dialects = []dialect{
	{
		name: "extension",
		about: "the AWS Parameters and Secrets Lambda Extension, mw's default source:\n" +
			"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT; the generic 400 until the first invoke",
		vars:     []string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"},
		excludes: []string{"agent"},
		start: fake(mwtest.Managed, true, func(port string) map[string]string {
			return map[string]string{"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": port}
		}),
	},
	{
		name: "agent",
		about: "the AWS Secrets Manager Agent (secrets only), instead of the extension:\n" +
			"MW_ENDPOINT=http://127.0.0.1:<port>, MW_AGENT=true; 503 until the first invoke",
		vars:     []string{"MW_ENDPOINT", "MW_AGENT"},
		excludes: []string{"extension"},
		start: fake(mwtest.Agent, true, func(port string) map[string]string {
			return map[string]string{"MW_ENDPOINT": "http://127.0.0.1:" + port, "MW_AGENT": "true"}
		}),
	},
	{
		name: "appconfig",
		about: "the AWS AppConfig Agent Lambda extension (the values file's \"appconfig\"):\n" +
			"AWS_APPCONFIG_EXTENSION_HTTP_PORT; serves from the start",
		vars: []string{"AWS_APPCONFIG_EXTENSION_HTTP_PORT"},
		start: fake(mwtest.AppConfig, false, func(port string) map[string]string {
			return map[string]string{"AWS_APPCONFIG_EXTENSION_HTTP_PORT": port}
		}),
	},
	{
		name: "cloudext",
		about: "the AWS Systems Manager Cloud Extensions runtime (the whole file), on\n" +
			"http://localhost:5333, cloudext.New's endpoint (-cloudext-port); checks each\n" +
			"request's SigV4 signature against the function's AWS_ACCESS_KEY_ID,\n" +
			"AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; 503 PROFILE_LOADING until the first invoke",
		start: cloudExtRuntime,
	},
}

// pickDialects returns the dialects named, in order, or says what is wrong
// with the list.
func pickDialects(names []string) ([]dialect, error) {
	var picked []dialect
	for _, name := range names {
		i := slices.IndexFunc(dialects, func(d dialect) bool { return d.name == name })
		if i < 0 {
			return nil, fmt.Errorf("-serve: unknown dialect %q (known: %s)", name, strings.Join(dialectNames(), ", "))
		}
		d := dialects[i]
		for _, p := range picked {
			switch {
			case p.name == d.name:
				return nil, fmt.Errorf("-serve: %s is listed twice", d.name)
			case slices.Contains(d.excludes, p.name):
				return nil, fmt.Errorf("-serve: %s and %s cannot be served together: mw reads its items from one of them; pick one", p.name, d.name)
			}
		}
		picked = append(picked, d)
	}
	return picked, nil
}

func dialectNames() []string {
	var names []string
	for _, d := range dialects {
		names = append(names, d.name)
	}
	return names
}

// dialectHelp lists the dialects for -h.
func dialectHelp() string {
	var b strings.Builder
	for _, d := range dialects {
		fmt.Fprintf(&b, "  %-10s %s\n", d.name, strings.ReplaceAll(d.about, "\n", "\n             "))
	}
	return b.String()
}

// fake serves mwtest's fake extension in dialect d, filled from the values
// file, checking the token (the AppConfig extension takes none). It serves
// from the function's first invoke when atInvoke, else at once; env gives
// the function's variables for its port.
func fake(d mwtest.Dialect, atInvoke bool, env func(port string) map[string]string) func(setup) (*served, error) {
	return func(s setup) (*served, error) {
		ext := mwtest.New(d)
		if d != mwtest.AppConfig {
			ext.SetToken(s.creds.token)
		}
		return serveFake(s, fakeext.Extension(ext), ext, "127.0.0.1:0", d.String(), atInvoke, env,
			func() string { return summary(ext.Stats()) })
	}
}

// cloudExtRuntime serves the Cloud Extensions runtime on -cloudext-port,
// checking signatures against the function's credentials (its profile's
// authentication is runtimeCredentials, AWS's default), from the
// function's first invoke: whether the runtime serves during the
// function's INIT is not documented.
func cloudExtRuntime(s setup) (*served, error) {
	rt := fakeext.NewRuntime(cloudexttest.Auth{Mode: cloudexttest.AuthRuntimeCredentials,
		AccessKeyID: s.creds.accessKeyID, SecretKey: s.creds.secretKey, SessionToken: s.creds.token})
	sv, err := serveFake(s, rt, rt, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), "cloudext", true,
		func(string) map[string]string { return nil },
		func() string { return runtimeSummary(rt.Counters().(fakeext.RuntimeStats)) })
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%w: the function's cloudext source calls http://localhost:%d by default; stop what listens there, or give -cloudext-port and point the function at it (cloudext.WithEndpoint)", err, fakeext.CloudExtPort)
	}
	return sv, err
}

// serveFake serves f (which store fills from the values file) on addr, in
// dialect name, from the function's first invoke when atInvoke, else at
// once; env gives the function's variables for its port, summarize the
// line it says when the run is over.
func serveFake(s setup, f fakeext.Fake, store fakeext.Store, addr, name string, atInvoke bool,
	env func(port string) map[string]string, summarize func() string) (*served, error) {
	if s.values != "" {
		lines, err := fakeext.LoadValuesFile(s.values, store)
		if err != nil {
			return nil, err
		}
		for _, line := range lines {
			if s.verbose {
				s.logger.Print("loaded ", line)
			}
		}
	}
	f.SetReady(false)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := fakeext.Serve(ln, f, s.logger, false, fakeext.DefaultTimeouts)
	var once sync.Once
	ready := func(why string) { once.Do(func() { s.startup.Ready(f, s.logger, why) }) }
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	sv := &served{env: env(port), stop: func() {
		srv.Close()
		if s.verbose {
			fakeext.LogStats(s.logger, f, "the run is over")
			return
		}
		s.logger.Print(summarize())
	}}
	s.logger.Printf("serving the %s dialect on http://%s", name, ln.Addr())
	if atInvoke {
		sv.invoke = func() { ready("the function's first invoke") }
	} else {
		ready("started, before the function's INIT")
	}
	return sv, nil
}

// summary says in a line what a fake answered: requests, values served by
// name, and answers as not ready.
func summary(st mwtest.Stats) string {
	line := fmt.Sprintf("%d requests", st.Total)
	if len(st.Served) > 0 {
		line += "; values served: " + counts(st.Served)
	}
	if st.NotReady > 0 {
		line += fmt.Sprintf("; %d answered as not ready", st.NotReady)
	}
	if len(st.ByError) > 0 {
		line += "; errors: " + counts(st.ByError)
	}
	return line + " (-v: every counter)"
}

// runtimeSummary says in a line what the Cloud Extensions runtime
// answered: requests, values served by name, flags evaluated, answers as
// not ready by reason, and requests refused for their signature.
func runtimeSummary(st fakeext.RuntimeStats) string {
	line := fmt.Sprintf("%d requests", st.Requests)
	if len(st.Served) > 0 {
		line += "; values served: " + counts(st.Served)
	}
	if n := st.Operations["GetFlag"]; n > 0 {
		line += fmt.Sprintf("; flags evaluated: %d", n)
	}
	if len(st.Unavailable) > 0 {
		line += "; answered 503: " + counts(st.Unavailable)
	}
	if st.AuthRefused > 0 {
		line += fmt.Sprintf("; %d refused for their signature", st.AuthRefused)
	}
	return line + " (-v: every counter)"
}

// counts lists a map of counts by name, sorted: "a 1, b 2".
func counts(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
