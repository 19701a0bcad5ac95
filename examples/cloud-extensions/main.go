// Command cloud-extensions reads its configuration through AWS Systems
// Manager Cloud Extensions: the Cloud Extensions runtime, a layer of the
// function, serves its Secrets Manager, Parameter Store and AppConfig
// extensions on localhost:5333, and mw's Cloud Extensions source
// (package github.com/lambda-mw/mw/cloudext) reads a secret, two
// parameters and an AppConfig feature flag profile through them, signing
// each request with the function's own credentials. It also evaluates a
// flag against each event's context (country, tier), with one local
// request per evaluation.
//
// Deploy it with the template.yaml next to this file (see README.md): the
// runtime layer, AWS_CLOUDEXTENSIONS_PROFILE, the AppConfig resources and
// a least-privilege policy. The names below must match the ARNs the
// template's policy grants: a test in package examples checks that they do.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/cloudext"
)

const (
	// dbSecret is an RDS-style credentials secret (JSON).
	dbSecret = "mw-examples/cloud-extensions/db"
	// apiURL and pageSize are parameters, read 10 a request.
	apiURL   = "/mw-examples/cloud-extensions/api-url"
	pageSize = "/mw-examples/cloud-extensions/page-size"
	// The AppConfig application, environment and feature flag profile.
	application = "mw-example-cloud-extensions"
	environment = "prod"
	flags       = "flags"
	// checkoutFlag is a flag of that profile.
	checkoutFlag = "new-checkout"
)

// credentials is the shape of dbSecret.
type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Request is the event: the caller's context, for the flag's variants.
type Request struct {
	Country string `json:"country"`
	Tier    string `json:"tier"`
}

// Response is the function's output. It never carries a secret.
type Response struct {
	DBUser   string `json:"db_user"`
	APIURL   string `json:"api_url"`
	PageSize string `json:"page_size"`
	Checkout bool   `json:"checkout"` // the flag, evaluated for this caller
	Variant  string `json:"variant"`  // the variant the caller's context matched, if the flag has variants
}

// app holds the source, for the evaluations of flags with a context.
type app struct{ src *cloudext.Source }

func (a app) handle(ctx context.Context, req Request) (Response, error) {
	db, err := mw.SecretJSON[credentials](ctx, dbSecret)
	if err != nil {
		return Response{}, err
	}
	url, err := mw.Parameter(ctx, apiURL)
	if err != nil {
		return Response{}, err
	}
	size, err := mw.Parameter(ctx, pageSize)
	if err != nil {
		return Response{}, err
	}
	profile := mw.Item{Kind: mw.KindAppConfig, Application: application, Environment: environment, Name: flags}
	flag, err := a.src.EvaluateFlag(ctx, profile, checkoutFlag, map[string]string{"country": req.Country, "tier": req.Tier})
	if err != nil {
		return Response{}, err
	}
	return Response{DBUser: db.Username, APIURL: url, PageSize: size, Checkout: flag.Enabled, Variant: flag.Variant}, nil
}

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background()) // the function's credentials and Region; no I/O
	if err != nil {
		log.Fatal(err)
	}
	a := app{src: cloudext.New(cfg)} // http://localhost:5333, signed with the function's credentials
	lambda.Start(mw.Wrap(a.handle,
		mw.WithSource(a.src),
		mw.WithSecrets(dbSecret),
		mw.WithParameters(apiURL, pageSize),
		mw.WithAppConfig(application, environment, flags),
	))
}
