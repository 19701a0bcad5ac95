package awssdk_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// The SDK source replaces the Lambda layer: mw fetches the declared items
// from the AWS APIs with the function's region and credentials.
func Example() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	handler := func(ctx context.Context, event map[string]any) (string, error) {
		return "ok", nil
	}
	_ = mw.Wrap(handler,
		mw.WithSource(awssdk.New(cfg)),
		mw.WithParameters("/app/prod/feature-flags"),
		mw.WithSecrets("prod/db"),
	)
}

func ExampleNew() {
	// New does no I/O: an aws.Config made by hand or by
	// config.LoadDefaultConfig.
	src := awssdk.New(aws.Config{Region: "eu-west-1"})
	fmt.Println(src.Name())
	// Output: awssdk
}

func ExampleSource_Name() {
	var src mw.Source = awssdk.New(aws.Config{Region: "eu-west-1"})
	fmt.Println(src.Name())
	// Output: awssdk
}

func ExampleSource_Plan() {
	src := awssdk.New(aws.Config{Region: "eu-west-1"})
	for _, it := range []mw.Item{
		{Kind: mw.KindParameter, Name: "/app/prod/url"},
		{Kind: mw.KindParameter, Name: "/app/prod/url", Version: 3},
		{Kind: mw.KindSecret, Name: "prod/db"},
		{Kind: mw.KindSecret, Name: "prod/db", VersionStage: "AWSPREVIOUS"},
		{Kind: mw.KindParametersByPath, Name: "/app/prod"},
		{Kind: mw.KindSecret, Name: "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key"},
		{Kind: mw.KindAppConfig, Name: "flags", Application: "app", Environment: "prod"},
	} {
		p, err := src.Plan(it)
		switch {
		case errors.Is(err, mw.ErrNotServed):
			fmt.Printf("%v: not served\n", it)
		case err != nil:
			fmt.Println(err)
		default:
			fmt.Printf("%v: %s, %d a call\n", it, p.Op, p.Batch)
		}
	}
	// Output:
	// parameter "/app/prod/url": GetParameters, 10 a call
	// parameter "/app/prod/url" (version 3): GetParameters, 10 a call
	// secret "prod/db": BatchGetSecretValue, 20 a call
	// secret "prod/db" (stage AWSPREVIOUS): GetSecretValue, 1 a call
	// parameters_by_path "/app/prod": GetParametersByPath, 1 a call
	// awssdk: secret "arn:aws:ssm:eu-west-1:111122223333:parameter/app/key": an SSM parameter's ARN, not a secret's: declare it with mw.WithParameters
	// appconfig "app/prod/flags": not served
}

// Fetch is mw's to call; called directly, it shows what a failure says.
// It needs AWS credentials, so this example does not run as a test.
func ExampleSource_Fetch() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	src := awssdk.New(cfg)
	items := []mw.Item{{Kind: mw.KindParameter, Name: "/app/prod/url"}}
	for i, r := range src.Fetch(context.Background(), "GetParameters", items) {
		var se *mw.SourceError
		if errors.As(r.Err, &se) {
			fmt.Printf("%v: %s (retry %v): %v; %s\n", items[i], se.Class, se.Retry, se, se.Hint)
			continue
		}
		fmt.Printf("%v: %d bytes\n", items[i], len(r.Value)) // never print a value
	}
}

func ExampleWithSSMOptions() {
	// Parameter Store through a VPC endpoint of its own; retries stay mw's.
	src := awssdk.New(aws.Config{Region: "eu-west-1"}, awssdk.WithSSMOptions(func(o *ssm.Options) {
		o.BaseEndpoint = aws.String("https://vpce-0123456789abcdef0-abcdefgh.ssm.eu-west-1.vpce.amazonaws.com")
	}))
	fmt.Println(src.Name())
	// Output: awssdk
}

func ExampleWithSecretsManagerOptions() {
	// Secrets Manager through FIPS endpoints.
	src := awssdk.New(aws.Config{Region: "us-east-1"}, awssdk.WithSecretsManagerOptions(func(o *secretsmanager.Options) {
		o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled
	}))
	fmt.Println(src.Name())
	// Output: awssdk
}

// A secret shared by another account, read as a role of that account that
// may read it; the rest with the function's own credentials. The role's
// trust policy requires an external ID.
func ExampleWithAssumeRoleOptions() {
	const reader = "arn:aws:iam::111122223333:role/shared-secret-reader"
	src := awssdk.New(aws.Config{Region: "eu-west-1"}, awssdk.WithAssumeRoleOptions(func(o *stscreds.AssumeRoleOptions) {
		if o.RoleARN == reader {
			o.ExternalID = aws.String("orders-service")
		}
	}))
	handler := func(ctx context.Context, event map[string]any) (string, error) {
		key, err := mw.Secret(ctx, "partner-key")
		if err != nil {
			return "", err
		}
		return fmt.Sprint(len(key)), nil
	}
	_ = mw.Wrap(handler,
		mw.WithSource(src),
		mw.WithSecrets("prod/db"),
		mw.WithSecret("arn:aws:secretsmanager:eu-west-1:111122223333:secret:partner-key-AbCdEf",
			mw.RoleARN(reader), mw.Alias("partner-key")),
	)
	fmt.Println(src.Name())
	// Output: awssdk
}

func ExampleWithSTSOptions() {
	// STS through a VPC endpoint, to assume the roles items name.
	src := awssdk.New(aws.Config{Region: "eu-west-1"}, awssdk.WithSTSOptions(func(o *sts.Options) {
		o.BaseEndpoint = aws.String("https://vpce-0123456789abcdef0-abcdefgh.sts.eu-west-1.vpce.amazonaws.com")
	}))
	fmt.Println(src.Name())
	// Output: awssdk
}
