package mwtest

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
}

func notFoundParameter() *failure {
	return &failure{codeParameterNotFound, ""}
}

func invalid(msg string) *failure {
	return &failure{codeValidation, msg}
}

func accessDenied(action, resource string) *failure {
	return &failure{codeAccessDenied, "User: " + fakeCallerARN + " is not authorized to perform: " + action +
		" on resource: " + resource + " because no identity-based policy allows the " + action + " action"}
}
