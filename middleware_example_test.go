package mw_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// A handler reads a secret and a parameter that Wrap fetched before it
// ran, on the first invoke, and serves from memory after. In Lambda, main
// is lambda.Start(mw.Wrap(handler, mw.WithSecrets("prod/db"),
// mw.WithParameters("/app/flags"))), and the Parameters and Secrets
// extension layer answers on localhost. Here mwtest's fake extension
// answers instead, and ext.Options points the Wrap at it.
func Example() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	ext.PutParameter("/app/flags", "StringList", "beta,dark-mode")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, user string) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		if err != nil {
			return "", err
		}
		flags, err := mw.Parameter(ctx, "/app/flags")
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s: password of %d bytes, flags %s", user, len(pw), flags), nil
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"), mw.WithParameters("/app/flags"))...)

	for range 3 {
		fmt.Println(h(context.Background(), "ana"))
	}
	fmt.Println("requests to the extension:", ext.Requests())
	// Output:
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// ana: password of 7 bytes, flags beta,dark-mode <nil>
	// requests to the extension: 2
}

// Wrap takes a handler of the shape func(ctx, In) (Out, error), and
// returns one of the same shape, for lambda.Start.
func ExampleWrap() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	type Order struct{ ID string }
	h := mw.Wrap(func(ctx context.Context, o Order) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("order %s, with a password of %d bytes", o.ID, len(pw)), err
	}, append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)

	fmt.Println(h(context.Background(), Order{ID: "42"}))
	// Output: order 42, with a password of 7 bytes <nil>
}

// An SQS consumer with a partial batch response, the full
// func(ctx, In) (Out, error) shape: messages whose processing fails are
// reported back for SQS to deliver again (ReportBatchItemFailures). The
// invoke goes through aws-lambda-go, as in Lambda.
func ExampleWrap_sqsPartialBatch() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("queue/signing-key", "k")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		key, err := mw.Secret(ctx, "queue/signing-key")
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		var out events.SQSEventResponse
		for _, m := range e.Records {
			if !strings.HasSuffix(m.Body, key) { // not signed with the key: deliver it again
				out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return out, nil
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithSecrets("queue/signing-key"))...)

	out, err := lambda.NewHandler(h).Invoke(context.Background(),
		[]byte(`{"Records":[{"messageId":"1","body":"a:k"},{"messageId":"2","body":"b:x"}]}`))
	fmt.Println(string(out), err)
	// Output: {"batchItemFailures":[{"itemIdentifier":"2"}]} <nil>
}

// An API Gateway HTTP API route, with the HTTP API's request and response
// types.
func ExampleWrap_apiGatewayHTTP() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/greeting", "String", "hello")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		g, err := mw.Parameter(ctx, "/app/greeting")
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 500}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: g + ", " + r.QueryStringParameters["name"]}, nil
	}
	h := mw.Wrap(handler, append(ext.Options(srv.URL), mw.WithParameters("/app/greeting"))...)

	out, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{"rawPath":"/hi","queryStringParameters":{"name":"ann"}}`))
	fmt.Println(string(out), err)
	// Output: {"statusCode":200,"headers":null,"multiValueHeaders":null,"body":"hello, ann","cookies":null} <nil>
}

// An S3 notification handler, func(ctx, events.S3Event) error: WrapEvent.
func ExampleWrapEvent() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/bucket-allowlist", "StringList", "uploads,imports")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, e events.S3Event) error {
		allowed, err := mw.ParameterList(ctx, "/app/bucket-allowlist")
		if err != nil {
			return err
		}
		for _, r := range e.Records {
			fmt.Println(r.S3.Bucket.Name, r.S3.Object.Key, strings.Contains(strings.Join(allowed, ","), r.S3.Bucket.Name))
		}
		return nil
	}
	h := mw.WrapEvent(handler, append(ext.Options(srv.URL), mw.WithParameters("/app/bucket-allowlist"))...)

	_, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{"Records":[{"s3":{"bucket":{"name":"uploads"},"object":{"key":"a.csv"}}}]}`))
	fmt.Println(err)
	// Output:
	// uploads a.csv true
	// <nil>
}

// An EventBridge rule's target, func(ctx, events.EventBridgeEvent) error:
// WrapEvent too.
func ExampleWrapEvent_eventBridge() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("partner/webhook-token", "t0k")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, e events.EventBridgeEvent) error {
		tok, err := mw.Secret(ctx, "partner/webhook-token")
		fmt.Println(e.DetailType, len(tok), err)
		return err
	}
	h := mw.WrapEvent(handler, append(ext.Options(srv.URL), mw.WithSecrets("partner/webhook-token"))...)

	_, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{"detail-type":"Order Placed","source":"shop","detail":{}}`))
	fmt.Println(err)
	// Output:
	// Order Placed 3 <nil>
	// <nil>
}

// A handler that takes no event and returns a result: WrapResult.
func ExampleWrapResult() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutParameter("/app/version", "String", "1.4.2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.WrapResult(func(ctx context.Context) (string, error) {
		return mw.Parameter(ctx, "/app/version")
	}, append(ext.Options(srv.URL), mw.WithParameters("/app/version"))...)

	out, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{}`))
	fmt.Println(string(out), err)
	// Output: "1.4.2" <nil>
}

// A scheduled job, func(ctx) error: WrapFunc.
func ExampleWrapFunc() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("jobs/api-key", "k3y")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	h := mw.WrapFunc(func(ctx context.Context) error {
		key, err := mw.Secret(ctx, "jobs/api-key")
		fmt.Println("calling the API with a key of", len(key), "bytes")
		return err
	}, append(ext.Options(srv.URL), mw.WithSecrets("jobs/api-key"))...)

	_, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(`{}`))
	fmt.Println(err)
	// Output:
	// calling the API with a key of 3 bytes
	// <nil>
}

// WrapHandler wraps a lambda.Handler, so that mw composes with other
// middleware at the bytes level, such as otellambda (see examples/tracing):
//
//	lambda.Start(otellambda.WrapHandler(mw.WrapHandler(lambda.NewHandler(handler), opts...),
//		otellambda.WithTracerProvider(tp), otellambda.WithFlusher(tp)))
func ExampleWrapHandler() {
	ext := mwtest.New(mwtest.Managed)
	ext.PutSecret("prod/db", "hunter2")
	srv := httptest.NewServer(ext)
	defer srv.Close()

	handler := func(ctx context.Context, user string) (string, error) {
		pw, err := mw.Secret(ctx, "prod/db")
		return fmt.Sprintf("%s: %d bytes", user, len(pw)), err
	}
	h := mw.WrapHandler(lambda.NewHandler(handler), append(ext.Options(srv.URL), mw.WithSecrets("prod/db"))...)

	out, err := h.Invoke(context.Background(), []byte(`"ana"`))
	fmt.Println(string(out), err)
	// Output: "ana: 7 bytes" <nil>
}
