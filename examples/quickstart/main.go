// Command quickstart runs a handler wrapped by mw against mw's fake of the
// AWS Parameters and Secrets Lambda Extension, and tells what happens: the
// 400 that init-time code gets, the first invoke riding out the extension's
// startup 400s and fetching concurrently, and warm invokes served from
// memory. Run it with:
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"go.opentelemetry.io/contrib/instrumentation/github.com/aws/aws-lambda-go/otellambda"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Event and Response are the function's input and output.
type Event struct {
	Name string `json:"name"`
}

type Response struct {
	Greeting       string `json:"greeting"`
	PasswordLength int    `json:"db_password_length"` // never print a secret
}

// handler is ordinary Lambda code: it reads values mw already fetched.
func handler(ctx context.Context, e Event) (Response, error) {
	greeting, err := mw.Parameter(ctx, "/app/greeting")
	if err != nil {
		return Response{}, err
	}
	pw, err := mw.Secret(ctx, "prod/db")
	if err != nil {
		return Response{}, err
	}
	return Response{Greeting: greeting + ", " + e.Name, PasswordLength: len(pw)}, nil
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	// The extension, as Lambda would run it next to the function.
	const token = "quickstart-session-token"
	ext := mwtest.New(mwtest.Managed)
	ext.SetToken(token)
	ext.PutParameter("/app/greeting", "String", "hello")
	ext.PutSecret("prod/db", "correct horse battery staple")
	ext.SetLatency(15 * time.Millisecond)
	ext.NotReadyFor(4) // like the real one while it starts
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ext}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	defer ext.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	os.Setenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port)
	os.Setenv("AWS_SESSION_TOKEN", token)
	os.Setenv("AWS_LAMBDA_FUNCTION_NAME", "quickstart") // otellambda names its span after the function

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()

	fmt.Fprintf(out, "mw quickstart: a Lambda handler wrapped by mw, against mw's fake Parameters and Secrets extension on port %s.\n", port)
	fmt.Fprintf(out, "The fake answers HTTP 400 to its first requests, as the real extension does during INIT and while it starts.\n\n")

	// 1. The trap.
	fmt.Fprintln(out, "1. The trap: init code calls the extension")
	status, body := callDirectly(port, token, "prod/db")
	fmt.Fprintf(out, "   GET /secretsmanager/get?secretId=prod%%2Fdb  ->  HTTP %d %q\n", status, body)
	fmt.Fprintln(out, "   A package-level variable or an imported config package gets this 400, the same one a wrong name gets.")
	fmt.Fprintln(out, "   mw fetches nothing until the first invoke.")
	fmt.Fprintln(out)

	// The function, as main would start it, traced: otellambda makes the
	// invocation span and flushes at the end of each invoke, mw inside it:
	// lambda.Start(otellambda.WrapHandler(mw.WrapHandler(...), ...)).
	// Without tracing, lambda.Start(mw.Wrap(handler, ...)) is all it takes.
	traced := func(h lambda.Handler) lambda.Handler {
		return otellambda.WrapHandler(h, otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp))
	}
	fn := traced(mw.WrapHandler(lambda.NewHandler(handler),
		mw.WithParameters("/app/greeting"),
		mw.WithSecrets("prod/db"),
		mw.WithTracerProvider(tp)))

	invoke := func(n int, title string, showWaterfall bool) error {
		before := ext.Requests()
		rec.Reset()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second) // Lambda's default timeout
		defer cancel()
		ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
			AwsRequestID:       fmt.Sprintf("request-%d", n),
			InvokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:quickstart",
		})
		start := time.Now()
		resp, err := fn.Invoke(ctx, []byte(`{"name":"quickstart"}`))
		took := time.Since(start)
		fmt.Fprintf(out, "%d. %s\n", n, title)
		if err != nil {
			fmt.Fprintf(out, "   the invoke failed after %s:\n   %s\n\n", took.Round(time.Millisecond), indent(err.Error()))
		} else {
			fmt.Fprintf(out, "   handler returned %s in %s\n", resp, took.Round(time.Microsecond))
			describe(out, rec.Ended())
			fmt.Fprintf(out, "   requests to the extension during this invoke: %d\n\n", ext.Requests()-before)
		}
		if showWaterfall {
			fmt.Fprintln(out, "   The spans it recorded (x: a failed attempt, retried after the dots):")
			fmt.Fprintln(out)
			waterfall(out, rec.Ended())
			fmt.Fprintln(out)
		}
		return nil
	}
	if err := invoke(2, "First invoke (cold): mw fetches every declared item, concurrently, before the handler runs", true); err != nil {
		return err
	}
	for i := 3; i <= 4; i++ {
		if err := invoke(i, "Warm invoke: values come from memory", i == 4); err != nil {
			return err
		}
	}

	// 5. A mistake in a name.
	typo := traced(mw.WrapHandler(lambda.NewHandler(handler),
		mw.WithParameters("/app/greeting"),
		mw.WithSecrets("prod/dbb"), // typo
		mw.WithStartupWindow(300*time.Millisecond),
		mw.WithTracerProvider(tp)))
	fn = typo
	if err := invoke(5, `A typo ("prod/dbb"): the invoke fails before the handler runs, naming the item and the likely fixes`, true); err != nil {
		return err
	}
	fmt.Fprintln(out, "The values themselves never appear in errors, spans or logs. Run the tests with: scripts/test.sh")
	return nil
}

// callDirectly makes the call the seed's init code made.
func callDirectly(port, token, id string) (int, string) {
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+port+"/secretsmanager/get?secretId="+id, nil)
	req.Header.Set("X-Aws-Parameters-Secrets-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// describe tells in words what mw's spans recorded.
func describe(out io.Writer, spans []sdktrace.ReadOnlySpan) {
	sort.Slice(spans, func(i, j int) bool { return spans[i].StartTime().Before(spans[j].StartTime()) })
	for _, s := range spans {
		if s.Name() != "mw.resolve" {
			continue
		}
		a := attrs(s.Attributes())
		fmt.Fprintf(out, "   mw.resolve: %d hits, %d misses, %s\n", a["mw.cache.hits"].AsInt64(), a["mw.cache.misses"].AsInt64(), dur(s))
	}
	for _, s := range spans {
		if s.Name() != "mw.fetch" {
			continue
		}
		a := attrs(s.Attributes())
		var steps []string
		for _, e := range s.Events() {
			ea := attrs(e.Attributes)
			steps = append(steps, fmt.Sprintf("HTTP %d (%s, retried after %d ms)",
				ea["http.response.status_code"].AsInt64(), ea["error.type"].AsString(), ea["mw.fetch.retry_delay_ms"].AsInt64()))
		}
		steps = append(steps, fmt.Sprintf("HTTP %d", a["http.response.status_code"].AsInt64()))
		fmt.Fprintf(out, "     fetch %s %q: %d attempt(s), %s: %s\n", a["mw.item.kind"].AsString(), a["mw.item.name"].AsString(),
			a["mw.fetch.attempts"].AsInt64(), dur(s), strings.Join(steps, ", then "))
	}
}

func dur(s sdktrace.ReadOnlySpan) string {
	return s.EndTime().Sub(s.StartTime()).Round(time.Microsecond).String()
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n   ") }
