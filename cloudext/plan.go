package cloudext

import (
	"fmt"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
)

// The calls a Source makes, as Plan.Op names them: the Secrets Manager
// extension's query route, and the operations of the Parameter Store and
// AppConfig extensions.
const (
	opGetSecret        = "GET /secretsmanager/get"
	opGetParameters    = "AmazonSSM.GetParameters"
	opGetConfiguration = "AppConfig.GetConfiguration"
)

// maxGetParameters is the most names one GetParameters request takes: "no
// Names or more than 10 Names" is a ValidationException.
const maxGetParameters = 10

// Plan says which request fetches it, without I/O:
//
//   - a secret: "GET /secretsmanager/get", one a request, with versionId,
//     versionStage and roleArn (Item.RoleARN) as the item says;
//   - a parameter: "AmazonSSM.GetParameters", 10 names a request, with the
//     selector name:3 for Item.Version or name:label for Item.Label; a
//     secret read through /aws/reference/secretsmanager/ takes a request
//     of its own, since a missing one fails the whole request;
//   - an AppConfig profile: "AppConfig.GetConfiguration", one a request.
//
// A path (mw.KindParametersByPath) gets an error wrapping mw.ErrNotServed
// that names the source that serves it: the Parameter Store extension
// serves GetParameter and GetParameters only. A parameter or a profile
// read as another role (Item.RoleARN) is refused: AWS documents roleArn
// for the Secrets Manager extension alone. A name that is a mistake for
// its kind is refused with the fix, and so is every item when
// WithEndpoint's URL is not a base URL.
func (s *Source) Plan(it mw.Item) (mw.Plan, error) {
	p, err := plan(it)
	if err == nil && s.badEndpoint != nil {
		return mw.Plan{}, refuse(it, "%v: %s", s.badEndpoint.Err, s.badEndpoint.Hint)
	}
	return p, err
}

// plan is Plan for a Source whose endpoint is a base URL.
func plan(it mw.Item) (mw.Plan, error) {
	switch it.Kind {
	case mw.KindSecret:
		if err := checkSecret(it); err != nil {
			return mw.Plan{}, err
		}
		return mw.Plan{Op: opGetSecret, Batch: 1}, nil
	case mw.KindParameter:
		if err := checkParameter(it); err != nil {
			return mw.Plan{}, err
		}
		return mw.Plan{Op: opGetParameters, Batch: maxGetParameters}, nil
	case mw.KindAppConfig:
		if err := checkProfile(it); err != nil {
			return mw.Plan{}, err
		}
		return mw.Plan{Op: opGetConfiguration, Batch: 1}, nil
	case mw.KindParametersByPath:
		return mw.Plan{}, fmt.Errorf("cloudext: %v: %w: Cloud Extensions' Parameter Store extension serves GetParameter and GetParameters, "+
			"not GetParametersByPath: list the path through the AWS SDK source, mw.WithSource(awssdk.New(cfg)) from package "+
			"github.com/lambda-mw/mw/awssdk, given after this source, or declare each parameter with mw.WithParameters", it, mw.ErrNotServed)
	}
	return mw.Plan{}, fmt.Errorf("cloudext: %v: %w (it serves parameters, secrets and AppConfig profiles)", it, mw.ErrNotServed)
}

func refuse(it mw.Item, format string, args ...any) error {
	return fmt.Errorf("cloudext: %v: "+format, append([]any{it}, args...)...)
}

// roleRefusal is the refusal of an item of an extension that takes no
// roleArn, with what can read it as that role.
func roleRefusal(it mw.Item, ext extension) error {
	other := "" // no source of mw reads a profile as a role
	if it.Kind == mw.KindParameter {
		other = ", or read it through the AWS SDK source, which assumes the role (mw.From(awssdk.New(cfg)))"
	}
	return refuse(it, "AWS documents roleArn for Cloud Extensions' Secrets Manager extension only, not for its %s: "+
		"give the %s profile entry an execution role that may read it (the extension calls AWS as that role)%s", ext.name, ext.name, other)
}

func checkSecret(it mw.Item) error {
	if p := awsname.SecretProblem(it.Name, it.Version, it.Label); p != "" {
		return refuse(it, "%s", p)
	}
	if it.RoleARN != "" && !awsname.IsRole(it.RoleARN) {
		return refuse(it, "the role is not an IAM role's ARN (arn:<partition>:iam::<account>:role/<name>), which the extension refuses")
	}
	return nil
}

func checkParameter(it mw.Item) error {
	if it.RoleARN != "" {
		return roleRefusal(it, extParameterStore)
	}
	if p := awsname.ParameterProblem(it.Name, it.Version, it.Label, it.VersionID, it.VersionStage); p != "" {
		return refuse(it, "%s", p)
	}
	if len(awsname.ParameterRequest(it.Name, it.Version, it.Label)) > 2048 {
		return refuse(it, "a name of more than 2,048 characters, which the extension refuses")
	}
	return nil
}

func checkProfile(it mw.Item) error {
	switch {
	case it.RoleARN != "":
		return roleRefusal(it, extAppConfig)
	case it.Application == "" || it.Environment == "" || it.Name == "":
		return refuse(it, "an AppConfig profile needs an application, an environment and a configuration profile, each a name or ID")
	case len(it.Application) > 64 || len(it.Environment) > 64:
		return refuse(it, "an application's or environment's name or ID is at most 64 characters")
	case it.Version != 0 || it.Label != "" || it.VersionID != "" || it.VersionStage != "":
		return refuse(it, "the AppConfig extension serves the latest deployed configuration: it cannot be pinned to a version")
	}
	return nil
}
