package mw_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
)

// An SQS consumer with a partial batch response: Wrap takes the full
// func(ctx, In) (Out, error) shape. Messages whose processing fails are
// reported back for SQS to deliver again (ReportBatchItemFailures).
func ExampleWrap_sqsPartialBatch() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutSecret("queue/signing-key", "k")

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
	h := mw.Wrap(handler, mw.WithEndpoint(url), mw.WithSecrets("queue/signing-key"))

	out, err := invokeJSON(h, `{"Records":[{"messageId":"1","body":"a:k"},{"messageId":"2","body":"b:x"}]}`)
	fmt.Println(out, err)
	// Output: {"batchItemFailures":[{"itemIdentifier":"2"}]} <nil>
}

// An S3 notification handler, func(ctx, events.S3Event) error: WrapEvent.
func ExampleWrapEvent() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutParameter("/app/bucket-allowlist", "StringList", "uploads,imports")

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
	h := mw.WrapEvent(handler, mw.WithEndpoint(url), mw.WithParameters("/app/bucket-allowlist"))

	_, err := invokeJSON(h, `{"Records":[{"s3":{"bucket":{"name":"uploads"},"object":{"key":"a.csv"}}}]}`)
	fmt.Println(err)
	// Output:
	// uploads a.csv true
	// <nil>
}

// An EventBridge rule's target, func(ctx, events.EventBridgeEvent) error:
// WrapEvent too.
func ExampleWrapEvent_eventBridge() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutSecret("partner/webhook-token", "t0k")

	handler := func(ctx context.Context, e events.EventBridgeEvent) error {
		tok, err := mw.Secret(ctx, "partner/webhook-token")
		fmt.Println(e.DetailType, len(tok), err)
		return err
	}
	h := mw.WrapEvent(handler, mw.WithEndpoint(url), mw.WithSecrets("partner/webhook-token"))

	_, err := invokeJSON(h, `{"detail-type":"Order Placed","source":"shop","detail":{}}`)
	fmt.Println(err)
	// Output:
	// Order Placed 3 <nil>
	// <nil>
}

// An API Gateway HTTP API route, with the HTTP API's request and response
// types: Wrap.
func ExampleWrap_apiGatewayHTTP() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutParameter("/app/greeting", "String", "hello")

	handler := func(ctx context.Context, r events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		g, err := mw.Parameter(ctx, "/app/greeting")
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 500}, err
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: g + ", " + r.QueryStringParameters["name"]}, nil
	}
	h := mw.Wrap(handler, mw.WithEndpoint(url), mw.WithParameters("/app/greeting"))

	out, err := invokeJSON(h, `{"rawPath":"/hi","queryStringParameters":{"name":"ann"}}`)
	fmt.Println(out, err)
	// Output: {"statusCode":200,"headers":null,"multiValueHeaders":null,"body":"hello, ann","cookies":null} <nil>
}

// A handler that takes no event and returns a result: WrapResult.
func ExampleWrapResult() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutParameter("/app/version", "String", "1.4.2")

	h := mw.WrapResult(func(ctx context.Context) (string, error) {
		return mw.Parameter(ctx, "/app/version")
	}, mw.WithEndpoint(url), mw.WithParameters("/app/version"))

	out, err := invokeJSON(h, `{}`)
	fmt.Println(out, err)
	// Output: "1.4.2" <nil>
}

// A scheduled job, func(ctx) error: WrapFunc.
func ExampleWrapFunc() {
	ext, url, stop := fakeExtension()
	defer stop()
	ext.PutSecret("jobs/api-key", "k3y")

	h := mw.WrapFunc(func(ctx context.Context) error {
		key, err := mw.Secret(ctx, "jobs/api-key")
		fmt.Println("calling the API with a key of", len(key), "bytes")
		return err
	}, mw.WithEndpoint(url), mw.WithSecrets("jobs/api-key"))

	_, err := invokeJSON(h, `{}`)
	fmt.Println(err)
	// Output:
	// calling the API with a key of 3 bytes
	// <nil>
}

// invokeJSON invokes h as the Lambda runtime does, through aws-lambda-go's
// lambda.NewHandler, with payload, and returns the JSON it answers.
func invokeJSON(h any, payload string) (string, error) {
	out, err := lambda.NewHandler(h).Invoke(context.Background(), []byte(payload))
	return string(out), err
}
