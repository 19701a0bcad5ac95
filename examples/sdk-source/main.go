// Command sdk-source reads its configuration without the Lambda layer: mw's
// AWS SDK source (package github.com/lambda-mw/mw/awssdk) calls Parameter
// Store and Secrets Manager itself, with the function's role. It reads a
// whole parameter tree (every parameter under /mw-examples/sdk-source/app),
// one parameter by name, and two secrets, on the first invoke, in four API
// calls (GetParametersByPath, GetParameters, BatchGetSecretValue, one page
// each); warm invokes read them from memory.
//
// The same binary runs unchanged in a container or on your machine: the
// aws.Config comes from config.LoadDefaultConfig (environment, shared
// config, the execution or task role). Deploy it with the template.yaml next
// to this file (see README.md). The names below must match the ARNs the
// template's policy grants: a test in package examples checks that they do.
package main

import (
	"context"
	"log"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

const (
	// appPath holds the application's settings, such as
	// /mw-examples/sdk-source/app/db/host and .../app/features (a
	// StringList): every parameter under it, at any depth.
	appPath = "/mw-examples/sdk-source/app"
	// dbHost is one of them, read by its full name.
	dbHost = appPath + "/db/host"
	// greetingParameter is a parameter outside the tree, read by name.
	greetingParameter = "/mw-examples/sdk-source/greeting"
	// dbSecret is an RDS-style credentials secret (JSON).
	dbSecret = "mw-examples/sdk-source/db"
	// apiKeySecret is a secret string, such as an API key.
	apiKeySecret = "mw-examples/sdk-source/api-key"
)

// credentials is the shape of dbSecret.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Response is the function's output. It never carries a secret: only what
// was found.
type Response struct {
	Message  string   `json:"message"`
	DBHost   string   `json:"db_host"`
	DBUser   string   `json:"db_user"`
	Settings []string `json:"settings"` // the names under appPath, sorted
	APIKey   bool     `json:"api_key"`  // whether the key was there
}

func handler(ctx context.Context, _ struct{}) (Response, error) {
	greeting, err := mw.Parameter(ctx, greetingParameter)
	if err != nil {
		return Response{}, err
	}
	host, err := mw.Parameter(ctx, dbHost) // found under appPath, read by its full name
	if err != nil {
		return Response{}, err
	}
	settings, err := mw.ParametersByPath(ctx, appPath) // the whole tree, by full name
	if err != nil {
		return Response{}, err
	}
	db, err := mw.SecretJSON[credentials](ctx, dbSecret)
	if err != nil {
		return Response{}, err
	}
	key, err := mw.Secret(ctx, apiKeySecret)
	if err != nil {
		return Response{}, err
	}
	names := make([]string, 0, len(settings))
	for name := range settings {
		names = append(names, strings.TrimPrefix(name, appPath+"/"))
	}
	slices.Sort(names)
	// A real function would log in to the database and call its API here.
	return Response{Message: greeting, DBHost: host, DBUser: db.Username, Settings: names, APIKey: key != ""}, nil
}

func main() {
	// LoadDefaultConfig reads the environment and the shared config files;
	// it makes no call to AWS, and neither does awssdk.New or mw.Wrap: the
	// first invoke fetches everything.
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("loading the AWS config: %v", err)
	}
	lambda.Start(mw.Wrap(handler,
		mw.WithSource(awssdk.New(cfg)),
		mw.WithParametersByPath(appPath),
		mw.WithParameters(greetingParameter),
		mw.WithSecrets(dbSecret, apiKeySecret),
	))
}
