package mwtest

import (
	"fmt"
	"hash/fnv"
	"strings"
)

// ARNs and names: how the fake makes up ARNs and version ids, and how it
// reads a requested name.

// The account and region that appear in every ARN the fake makes up.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

const (
	fakeCallerARN        = "arn:aws:sts::" + AccountID + ":assumed-role/mwtest/mwtest"
	secretSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretSuffixLen      = 6
)

// ParameterARN returns the ARN under which the fake serves the parameter
// name: arn:aws:ssm:us-east-1:123456789012:parameter/<name without its
// leading slash>. The fake accepts it wherever it accepts the name.
func ParameterARN(name string) string {
	return "arn:aws:ssm:" + Region + ":" + AccountID + ":parameter/" + strings.TrimPrefix(name, "/")
}

// SecretARN returns the full ARN under which the fake serves the secret
// name: arn:aws:secretsmanager:us-east-1:123456789012:secret:<name>-XXXXXX,
// where the six-letter suffix is derived from the name, so it is stable. The
// fake accepts it, and the partial ARN without the suffix, wherever it
// accepts the name.
func SecretARN(name string) string {
	return secretARNPrefix + name + "-" + secretSuffix(name)
}

const secretARNPrefix = "arn:aws:secretsmanager:" + Region + ":" + AccountID + ":secret:"

func secretSuffix(name string) string {
	h := hash64(name)
	b := make([]byte, secretSuffixLen)
	for i := range b {
		b[i] = secretSuffixAlphabet[h%uint64(len(secretSuffixAlphabet))]
		h /= uint64(len(secretSuffixAlphabet))
	}
	return string(b)
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s)) // never fails
	return h.Sum64()
}

// secretVersionID makes up the n-th version id of a secret: uuid-shaped and
// deterministic, so tests can predict it.
func secretVersionID(name string, n int) string {
	h := hash64(name)
	return fmt.Sprintf("%08x-%04x-4000-8000-%012x", uint32(h>>32), uint16(h>>16), n)
}

// candidate is one reading of a requested name: a stored name it may refer
// to, and the selector (":3", ":label") that followed it, if any.
type candidate struct {
	name     string
	selector string
}

// parameterCandidates lists what ref may name: itself; for an ARN, the name
// after ":parameter" with and without its leading slash; and the same for ref
// stripped of a trailing ":selector".
func parameterCandidates(ref string) []candidate {
	cs := parameterNames(ref, "")
	if i := strings.LastIndexByte(ref, ':'); i > 0 && i < len(ref)-1 && !strings.Contains(ref[i+1:], "/") {
		cs = append(cs, parameterNames(ref[:i], ref[i+1:])...)
	}
	return cs
}

func parameterNames(ref, sel string) []candidate {
	cs := []candidate{{ref, sel}}
	if strings.HasPrefix(ref, "arn:") {
		if i := strings.Index(ref, ":parameter/"); i >= 0 {
			rest := ref[i+len(":parameter"):] // keeps the slash
			cs = append(cs, candidate{rest, sel}, candidate{rest[1:], sel})
		}
	}
	return cs
}

// secretCandidates lists what ref may name: itself and, for a full or
// partial ARN, the secret name in it.
func secretCandidates(ref string) []string {
	cs := []string{ref}
	if strings.HasPrefix(ref, "arn:") {
		if i := strings.Index(ref, ":secret:"); i >= 0 {
			rest := ref[i+len(":secret:"):]
			cs = append(cs, rest)
			if n := len(rest) - secretSuffixLen - 1; n > 0 && rest[n] == '-' && rest[n+1:] == secretSuffix(rest[:n]) {
				cs = append(cs, rest[:n])
			}
		}
	}
	return cs
}
