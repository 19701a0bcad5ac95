package awsname

import "strings"

// KMSRefusal reports whether an AccessDeniedException's message is a
// refusal of KMS (a key the caller may not use to decrypt) rather than of
// the service itself. It matches KMS's own wording only, in words that no
// name can hold (parameters' and secrets' names hold neither a space nor a
// ':', and a role's no space), so that a denial quoting a parameter named
// /app/KMS_KEY_ID is not taken for a key the caller may not use:
//
//   - Parameter Store: "The ciphertext refers to a customer master key that
//     does not exist, does not exist in this region, or you are not allowed
//     to access.";
//   - Secrets Manager: "Access to KMS is not allowed", "... using the
//     provided KMS key";
//   - IAM: "... is not authorized to perform: kms:Decrypt on resource:
//     arn:aws:kms:...".
func KMSRefusal(message string) bool {
	if strings.Contains(message, "ciphertext refers to") || strings.Contains(message, " kms:") || strings.Contains(message, ":kms:") {
		return true
	}
	for rest := " " + message; ; {
		i := strings.Index(rest, " KMS")
		if i < 0 {
			return false
		}
		rest = rest[i+len(" KMS"):]
		if rest == "" || strings.ContainsRune(" .,;)", rune(rest[0])) {
			return true
		}
	}
}
