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
	if p := awsname.ParameterProblem(it.Name, it.Version, it.Label, it.VersionID, it.VersionStage); p != "" {
		return refuse(it, "%s", p)
	}
	return nil
}

func checkSecret(it mw.Item) error {
	if p := awsname.SecretProblem(it.Name, it.Version, it.Label); p != "" {
		return refuse(it, "%s", p)
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
