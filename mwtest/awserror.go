package mwtest

import "net/http"

// AWS error codes. The agent dialect sends them as "__type"; the managed
// dialect hides them behind its generic 400, and Stats.ByError counts them
// in both.
const (
	codeAccessDenied      = "AccessDeniedException"
	codeDecryptionFailure = "DecryptionFailure"
	codeResourceNotFound  = "ResourceNotFoundException"
	codeParameterNotFound = "ParameterNotFound"
	codeParameterVersion  = "ParameterVersionNotFound"
	codeValidation        = "ValidationException"
	codeThrottling        = "ThrottlingException"
	codeInternalFailure   = "InternalFailure"
	codeBadRequest        = "BadRequestException"

	msgSecretNotFound   = "Secrets Manager can't find the specified secret."
	msgSecretDecrypt    = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	msgParameterDecrypt = "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."
	msgThrottled        = "Rate exceeded"
)

// failure is an AWS error answer. Its message names things; it never holds
// a value.
type failure struct {
	code string
	msg  string
	// status is the agent's HTTP status of the answer, when not 400: 403
	// for a role it could not take on.
	status int
}

// httpStatus is the status the agent answers f with.
func (f *failure) httpStatus() int {
	if f.status != 0 {
		return f.status
	}
	return http.StatusBadRequest
}

func notFoundParameter() *failure {
	return &failure{code: codeParameterNotFound, msg: ""}
}

func invalid(msg string) *failure {
	return &failure{code: codeValidation, msg: msg}
}

func accessDenied(action, resource string) *failure {
	return &failure{code: codeAccessDenied, msg: "User: " + fakeCallerARN + " is not authorized to perform: " + action +
		" on resource: " + resource + " because no identity-based policy allows the " + action + " action"}
}
