package mwtest_test

import (
	"context"
	"fmt"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/mwtest"
)

// Values hold what each accessor reads: parameters, secrets (the typed
// accessors decode them), the parameters under a declared path, and
// AppConfig profiles.
func ExampleValues() {
	ctx := mwtest.NewContext(context.Background(), mwtest.Values{
		Secrets:          map[string]string{"prod/db": `{"username":"app","port":5432}`},
		Parameters:       map[string]string{"/app/flags": "beta,dark-mode"},
		ParametersByPath: map[string]map[string]string{"/app/prod": {"/app/prod/region": "eu-west-1"}},
		AppConfig:        map[string]string{"flags": `{"new-checkout":{"enabled":true}}`},
	})
	type DB struct {
		Username string `json:"username"`
		Port     int    `json:"port"`
	}
	db, _ := mw.SecretJSON[DB](ctx, "prod/db")
	flags, _ := mw.ParameterList(ctx, "/app/flags")
	region, _ := mw.Parameter(ctx, "/app/prod/region")
	prod, _ := mw.ParametersByPath(ctx, "/app/prod")
	checkout, _ := mw.FeatureFlag(ctx, "flags", "new-checkout")
	fmt.Println(db.Username, db.Port, flags, region, len(prod), checkout.Enabled)
	// Output: app 5432 [beta dark-mode] eu-west-1 1 true
}
