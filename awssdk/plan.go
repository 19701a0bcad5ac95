package awssdk

import (
	"fmt"
	"strings"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/internal/awsname"
)

// The calls a Source makes, as Plan.Op names them.
const (
	opGetParameters       = "GetParameters"
	opGetParametersByPath = "GetParametersByPath"
	opBatchGetSecretValue = "BatchGetSecretValue"
	opGetSecretValue      = "GetSecretValue"
)

// The most names or ids one call takes (ssm:GetParameters,
// secretsmanager:BatchGetSecretValue SecretIdList).
const (
	maxGetParameters       = 10
	maxBatchGetSecretValue = 20
)

// Plan says which call fetches it, without I/O:
//
//   - a parameter: "GetParameters", 10 names a call, with the selector
//     name:3 for Item.Version or name:label for Item.Label (a Name that
//     already ends in a selector is sent as it is); a secret read through
//     /aws/reference/secretsmanager/ takes a call of its own, since a
//     missing one fails the whole call;
//   - a secret: "BatchGetSecretValue", 20 ids a call (AWSCURRENT); a secret
//     pinned by VersionID or VersionStage: "GetSecretValue", one a call;
//   - parameters by path: "GetParametersByPath", one path a call, recursive,
//     page after page; a listing cut short resumes in the next call.
//
// An item read as a role (Item.RoleARN) is planned as any other: Fetch
// reads it with the role's credentials. Other kinds get an error wrapping
// mw.ErrNotServed. A name that is a
// mistake for its kind (a secret's ARN declared as a parameter, an SSM
// parameter's ARN declared as a secret, a path that is not one, two
// selectors) gets an error that names the fix.
func (s *Source) Plan(it mw.Item) (mw.Plan, error) {
	switch it.Kind {
	case mw.KindParameter:
		if err := checkParameter(it); err != nil {
			return mw.Plan{}, err
		}
		return mw.Plan{Op: opGetParameters, Batch: maxGetParameters}, nil
	case mw.KindSecret:
		if err := checkSecret(it); err != nil {
			return mw.Plan{}, err
		}
		if it.VersionID != "" || it.VersionStage != "" {
			return mw.Plan{Op: opGetSecretValue, Batch: 1}, nil
		}
		return mw.Plan{Op: opBatchGetSecretValue, Batch: maxBatchGetSecretValue}, nil
	case mw.KindParametersByPath:
		if err := checkPath(it); err != nil {
			return mw.Plan{}, err
		}
		return mw.Plan{Op: opGetParametersByPath, Batch: 1}, nil
	}
	return mw.Plan{}, fmt.Errorf("awssdk: %v: %w (it serves parameters, secrets and parameters by path)", it, mw.ErrNotServed)
}

func refuse(it mw.Item, format string, args ...any) error {
	return fmt.Errorf("awssdk: %v: "+format, append([]any{it}, args...)...)
}

func checkParameter(it mw.Item) error {
	name := it.Name
	switch {
	case name == "":
		return refuse(it, "no name")
	case awsname.Service(name) == "secretsmanager":
		return refuse(it, "a Secrets Manager secret's ARN, not a parameter's: declare it with mw.WithSecrets, or read it through Parameter Store as %s<secret id>", awsname.ReferencePrefix)
	case strings.HasPrefix(name, "arn:") && awsname.Service(name) != "ssm":
		return refuse(it, "not an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)")
	case awsname.Service(name) == "ssm" && !strings.Contains(name, ":parameter/"):
		return refuse(it, "an SSM ARN that is not a parameter's (arn:aws:ssm:<region>:<account>:parameter/<name>)")
	case it.VersionID != "" || it.VersionStage != "":
		return refuse(it, "a parameter has no version id or stage: pin it with a version number or a label (for a secret read through %s<id>, the label is its stage)", awsname.ReferencePrefix)
	case it.Version < 0:
		return refuse(it, "versions start at 1")
	case it.Version != 0 && it.Label != "":
		return refuse(it, "pinned by both a version and a label: Parameter Store takes one selector")
	case awsname.HasSelector(name) && (it.Version != 0 || it.Label != ""):
		return refuse(it, "the name already ends in a selector (:version or :label): drop it or the version option")
	case strings.Contains(it.Label, ":"):
		return refuse(it, "a label cannot hold ':'")
	}
	return nil
}

func checkSecret(it mw.Item) error {
	name := it.Name
	switch {
	case name == "":
		return refuse(it, "no name")
	case awsname.Service(name) == "ssm":
		return refuse(it, "an SSM parameter's ARN, not a secret's: declare it with mw.WithParameters")
	case strings.HasPrefix(name, "arn:") && awsname.Service(name) != "secretsmanager":
		return refuse(it, "not a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
	case strings.HasPrefix(name, awsname.ReferencePrefix):
		return refuse(it, "a Parameter Store reference to a secret: declare it with mw.WithParameters, or declare the secret %q itself", strings.TrimPrefix(name, awsname.ReferencePrefix))
	case it.Version != 0 || it.Label != "":
		return refuse(it, "a secret has no version number or label: pin it with a version id or a version stage")
	}
	return nil
}

func checkPath(it mw.Item) error {
	switch {
	case strings.HasPrefix(it.Name, "arn:"):
		return refuse(it, "GetParametersByPath takes a path, not an ARN (parameters shared from another account cannot be listed: declare each with mw.WithParameters)")
	case !strings.HasPrefix(it.Name, "/"):
		return refuse(it, "a path starts with '/', such as /app/prod")
	case strings.Contains(it.Name, ":"):
		return refuse(it, "a path has no selector")
	case it.Version != 0 || it.Label != "" || it.VersionID != "" || it.VersionStage != "":
		return refuse(it, "a path cannot be pinned to a version: GetParametersByPath returns the latest version of each parameter")
	}
	return nil
}
