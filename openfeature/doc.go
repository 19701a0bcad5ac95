// Package openfeature is an OpenFeature provider backed by mw: a handler
// wrapped by mw.Wrap reads the flags of a declared AWS AppConfig
// feature-flag profile through OpenFeature's client, as Go teams that use
// OpenFeature (github.com/open-feature/go-sdk) read every flag.
//
//	import mwof "github.com/lambda-mw/mw/openfeature"
//
//	func main() {
//		if err := openfeature.SetProviderAndWait(mwof.NewProvider("flags")); err != nil {
//			log.Fatal(err)
//		}
//		lambda.Start(mw.Wrap(handler, mw.WithAppConfig("shop", "prod", "flags")))
//	}
//
//	var client = openfeature.NewDefaultClient()
//
//	func handler(ctx context.Context, e Event) (Out, error) {
//		evalCtx := openfeature.NewEvaluationContext(e.UserID, map[string]any{"country": e.Country})
//		on, err := client.BooleanValue(ctx, "checkout", false, evalCtx)
//		...
//	}
//
// The handler's ctx must reach the provider: it carries mw's values.
// Evaluated with another ctx (context.Background(), say), a flag fails
// with PROVIDER_NOT_READY.
//
// # What an evaluation costs
//
// With an evaluation context that has no attributes and no targeting key,
// the flag is read from the profile mw fetched before the handler ran
// (mw.FeatureFlag): memory, no request. With attributes or a targeting
// key, it is evaluated against them (mw.EvaluateFlag): one request to the
// profile's source on loopback (the AWS AppConfig Agent Lambda extension,
// version 2.0.45 or later, or AWS Systems Manager Cloud Extensions), which
// answers from its own cache and calls no AWS API; mw does not cache it.
// An evaluation context set on the API, a client or the transaction
// counts: it makes every evaluation a request.
//
// # Values
//
// An AppConfig flag is a state (enabled or not), attributes and, for a
// multi-variant flag, the name of the variant chosen. A key names the flag
// ("checkout") or one of its attributes ("checkout.currency"): AppConfig's
// keys have no '.', so the two cannot be confused.
//
//   - Boolean: the flag's state; a boolean attribute.
//   - String: a multi-variant flag's variant name; a string attribute.
//   - Float: a number attribute. Int: a number attribute that is a whole
//     number in int64's range.
//   - Object: the flag's attributes, as map[string]any; any attribute
//     (a list is a []string or a []float64).
//
// Anything else is TYPE_MISMATCH, with the default value. An attribute the
// flag does not have is FLAG_NOT_FOUND, unless the flag is disabled: AWS
// AppConfig serves a disabled flag without its attributes, so the default
// value is returned with the reason DISABLED.
//
// # Reasons and errors
//
// A flag without variants is STATIC (DISABLED when read as a boolean while
// disabled). A multi-variant flag read without a context is its default
// variant, DEFAULT; evaluated with one, TARGETING_MATCH when the variant
// chosen is not the one served without a context, else DEFAULT. A failure
// is ERROR with OpenFeature's code: FLAG_NOT_FOUND for a flag the profile
// lacks, PROVIDER_NOT_READY when ctx holds no mw values, PARSE_ERROR for
// a profile that is not feature flags, INVALID_CONTEXT for a context
// value that is not a string, a boolean, a number or a time.Time, GENERAL
// for the rest (a profile not declared, its source failing). Messages are
// mw's: they name the profile, the flag and the fix, never a value of the
// context or of the flag.
package openfeature
