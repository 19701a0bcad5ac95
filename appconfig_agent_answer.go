package mw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// The AppConfig extension's answers other than 200. AWS documents none of
// them for the Lambda extension; what is known (REFERENCE.md §10):
//
//   - 404 for a missing application, environment or profile, with a JSON
//     body such as {"Message":"Unrecognized or malformed path",
//     "ResourceType":"Configuration"} (Powertools for AWS Lambda
//     (TypeScript) meets it against the real extension in its end-to-end
//     test, and mocks that body in its unit test).
//   - 403 when the role may not call appconfig:StartConfigurationSession
//     or appconfig:GetLatestConfiguration: UNVERIFIED, inferred from the
//     same end-to-end test, which grants IAM on a missing profile "so that
//     the agent surfaces AppConfig's 404 instead of an IAM 403".
//   - 429 for AppConfig's ThrottlingException and 5xx for a failed first
//     fetch: UNVERIFIED; the AppConfig Data API answers them so, and the
//     extension "returns an error to your application" when its first
//     fetch fails.
//
// No body is quoted: only the ResourceType of a 404, one of AppConfig's
// fixed resource types, is kept.

// appConfigResourceTypes are the values of ResourceType in AppConfig's
// ResourceNotFoundException (AppConfig Data API reference).
var appConfigResourceTypes = []string{"Application", "ConfigurationProfile", "Deployment", "Environment", "Configuration"}

// statusError classifies a non-200 answer for it.
func (a *appConfig) statusError(it Item, resp *http.Response, body []byte) error {
	e := &SourceError{Status: resp.StatusCode, Code: cleanCode(resp.Header.Get("X-Amzn-Errortype"))}
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		e.Class, e.Err = ClassOther, errors.New("the endpoint answered a redirect, which mw does not follow; nothing more was sent")
		e.Hint = "the AppConfig extension does not redirect: check the endpoint (WithAppConfigEndpoint), and that no proxy sits in between"
	case s == http.StatusNotFound:
		e.Class, e.Hint = ClassNotFound, notFoundHint(it, resourceType(body))
	case s == http.StatusForbidden || s == http.StatusUnauthorized:
		e.Class, e.Hint = ClassAccessDenied, accessHint(it)
	case s == http.StatusTooManyRequests:
		e.Class, e.Retry = ClassThrottled, true
		e.Hint = "AppConfig throttled the extension's calls (StartConfigurationSession, GetLatestConfiguration): " +
			"raise AWS_APPCONFIG_EXTENSION_POLL_INTERVAL_SECONDS (45 by default), or the quota; mw's TTL does not change how often the extension calls AppConfig"
	case s >= 500:
		e.Class, e.Retry = ClassServerError, true
		e.Hint = "the AppConfig extension reported a failure, most likely of its first fetch from AppConfig: its CloudWatch logs (lines starting [appconfig agent]) say why; mw retries"
	case s == http.StatusBadRequest:
		e.Class = ClassOther
		e.Hint = "AppConfig refused the request as invalid (BadRequestException): check the application, environment and profile names; " +
			"a name that holds a comma must be given by its ID"
	default:
		e.Class, e.Hint = ClassOther, "the AppConfig extension refused the request"
	}
	return e
}

// resourceType is the ResourceType of a 404's JSON body, when it is one of
// AppConfig's; else "".
func resourceType(body []byte) string {
	var b struct {
		ResourceType string `json:"ResourceType"`
	}
	if json.Unmarshal(body, &b) != nil || !slices.Contains(appConfigResourceTypes, b.ResourceType) {
		return ""
	}
	return b.ResourceType
}

// notFoundHint names what to check for a 404: the three names, or the one
// the answer says is missing.
func notFoundHint(it Item, rt string) string {
	what := fmt.Sprintf("AppConfig has no configuration profile %q deployed to environment %q of application %q in this account and region", it.Name, it.Environment, it.Application)
	switch rt {
	case "Application":
		what = fmt.Sprintf("AppConfig has no application %q in this account and region", it.Application)
	case "Environment":
		what = fmt.Sprintf("AppConfig has no environment %q in application %q", it.Environment, it.Application)
	case "ConfigurationProfile":
		what = fmt.Sprintf("AppConfig has no configuration profile %q in application %q", it.Name, it.Application)
	}
	return what + ": check the names (or IDs) given to WithAppConfig, that a deployment of the profile to the environment has started, " +
		"and the region (AWS_APPCONFIG_EXTENSION_SERVICE_REGION, when set; a role in AWS_APPCONFIG_EXTENSION_ROLE_ARN reads its own account)"
}

// accessHint names the IAM actions the extension calls for it.
func accessHint(it Item) string {
	return fmt.Sprintf("allow appconfig:StartConfigurationSession and appconfig:GetLatestConfiguration on "+
		"arn:aws:appconfig:<region>:<account>:application/<id of %q>/environment/<id of %q>/configuration/<id of %q> "+
		"in the function's execution role (or in the role AWS_APPCONFIG_EXTENSION_ROLE_ARN names)", it.Application, it.Environment, it.Name)
}

// appConfigMalformed is an answer mw cannot use. Its message says what is
// wrong with the answer, never what it holds.
func appConfigMalformed(status int, reason string) error {
	return &SourceError{Class: ClassMalformed, Status: status, Err: errors.New(reason),
		Hint: "the answer could not be used: is the endpoint the AWS AppConfig Agent Lambda extension (AWS_APPCONFIG_EXTENSION_HTTP_PORT, WithAppConfigEndpoint)?"}
}
