// Package awsname is the grammar of the AWS names mw reads by: ARNs, IAM
// roles' ARNs, and Parameter Store's names with their :version and :label
// selectors, as the Systems Manager, Secrets Manager and IAM references
// give them, and the words of AWS's messages that no name can hold (a
// refusal of KMS). The sources in this repository's nested modules use it too,
// so a function here keeps its meaning as long as any of them calls it.
package awsname

import (
	"strconv"
	"strings"
)

// ReferencePrefix begins a Parameter Store name that reads a Secrets
// Manager secret: /aws/reference/secretsmanager/<secret name or ARN>, with
// an optional :<version stage> selector.
const ReferencePrefix = "/aws/reference/secretsmanager/"

// Service returns the service of an ARN, arn:<partition>:<service>:..., such
// as "ssm", or "" if s is not an ARN.
func Service(s string) string {
	rest, ok := strings.CutPrefix(s, "arn:")
	if !ok {
		return ""
	}
	_, rest, _ = strings.Cut(rest, ":") // the partition
	svc, _, _ := strings.Cut(rest, ":")
	return svc
}

// IsRole reports whether arn has the shape of an IAM role's ARN:
// arn:<partition>:iam::<12-digit account>:role/<path and name>.
func IsRole(arn string) bool {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[1] == "" || f[2] != "iam" || f[3] != "" || len(f[4]) != 12 {
		return false
	}
	for _, c := range f[4] {
		if c < '0' || c > '9' {
			return false
		}
	}
	name, ok := strings.CutPrefix(f[5], "role/")
	return ok && name != "" && !strings.HasSuffix(name, "/")
}

// HasSelector reports whether a name GetParameter is asked for ends in a
// :version or :label selector (a version stage, for a secret read through
// ReferencePrefix). The name may be a parameter's name or ARN, or
// ReferencePrefix and a secret's name or ARN. The selector's ':' is the
// last one, after the last '/' (labels and stages hold no '/'), and after
// an ARN's fixed fields; no parameter or secret name holds a ':'.
func HasSelector(name string) bool {
	s := resource(strings.TrimPrefix(name, ReferencePrefix))
	i := strings.LastIndexByte(s, ':')
	return i >= 0 && i > strings.LastIndexByte(s, '/')
}

// CutSelector returns name without its selector, the selector without
// its ':' ("3", "live", "AWSPREVIOUS"), and whether name has one
// (HasSelector); name, "" and false if it has none.
func CutSelector(name string) (before, selector string, found bool) {
	if !HasSelector(name) {
		return name, "", false
	}
	i := strings.LastIndexByte(name, ':')
	return name[:i], name[i+1:], true
}

// resource returns what follows "parameter/" in an SSM ARN or "secret:" in
// a Secrets Manager ARN, "" for another ARN, or s if it is not an ARN.
func resource(s string) string {
	if !strings.HasPrefix(s, "arn:") {
		return s
	}
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 {
		return ""
	}
	var prefix string
	switch f[2] {
	case "ssm":
		prefix = "parameter/"
	case "secretsmanager":
		prefix = "secret:"
	default:
		return ""
	}
	if r, ok := strings.CutPrefix(f[5], prefix); ok {
		return r
	}
	return ""
}

// BinaryReferenceFix says how to read the bytes of the binary secret that
// ref, a read through ReferencePrefix, names, which Parameter Store does
// not give as a value: declare the secret itself, at the version stage ref
// selects, and read it with mw.SecretBinary.
func BinaryReferenceFix(ref string) string {
	id, stage, pinned := CutSelector(strings.TrimPrefix(ref, ReferencePrefix))
	decl := "mw.WithSecrets(" + strconv.Quote(id) + ")"
	if pinned {
		decl = "mw.WithSecret(" + strconv.Quote(id) + ", mw.VersionStage(" + strconv.Quote(stage) + "))"
	}
	return "declare the secret itself, " + decl + ", and read it with mw.SecretBinary"
}

// ParameterProblem says what makes a parameter's name and selectors one
// that Parameter Store refuses or that names no parameter: a fixed phrase
// with the fix, or "" for none. A source checks the Items it is given with
// it, since a Source may be called with an Item no Wrap checked.
func ParameterProblem(name string, version int64, label, versionID, versionStage string) string {
	switch {
	case name == "":
		return "no name"
	case Service(name) == "secretsmanager":
		return "a Secrets Manager secret's ARN, not a parameter's: declare it with mw.WithSecrets, or read it through Parameter Store as " + ReferencePrefix + "<secret id>"
	case strings.HasPrefix(name, "arn:") && Service(name) != "ssm":
		return "not an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)"
	case Service(name) == "ssm" && !strings.Contains(name, ":parameter/"):
		return "an SSM ARN that is not a parameter's (arn:aws:ssm:<region>:<account>:parameter/<name>)"
	case versionID != "" || versionStage != "":
		return "a parameter has no version id or stage: pin it with a version number or a label (for a secret read through " + ReferencePrefix + "<id>, the label is its stage)"
	case version < 0:
		return "versions start at 1"
	case version != 0 && strings.HasPrefix(name, ReferencePrefix):
		return "a secret read through " + ReferencePrefix + " is pinned by its version stage, as a label, not by a version number"
	case version != 0 && label != "":
		return "pinned by both a version and a label: Parameter Store takes one selector"
	case HasSelector(name) && (version != 0 || label != ""):
		return "the name already ends in a selector (:version or :label): drop it or the version option"
	case strings.Contains(label, ":"):
		return "a label cannot hold ':'"
	}
	return ""
}

// SecretProblem says what makes a secret's name and selectors one that
// names no secret: a fixed phrase with the fix, or "" for none.
func SecretProblem(name string, version int64, label string) string {
	switch {
	case name == "":
		return "no name"
	case Service(name) == "ssm":
		return "an SSM parameter's ARN, not a secret's: declare it with mw.WithParameters"
	case strings.HasPrefix(name, "arn:") && Service(name) != "secretsmanager":
		return "not a Secrets Manager ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
	case strings.HasPrefix(name, ReferencePrefix):
		return "a Parameter Store reference to a secret: declare it with mw.WithParameters, or declare the secret " +
			strconv.Quote(strings.TrimPrefix(name, ReferencePrefix)) + " itself"
	case version != 0 || label != "":
		return "a secret has no version number or label: pin it with a version id or a version stage"
	}
	return ""
}

// ParameterRequest returns the name GetParameters is asked for a
// parameter pinned to version (if not 0) or label (if not ""): name:3 or
// name:label.
func ParameterRequest(name string, version int64, label string) string {
	switch {
	case version != 0:
		return name + ":" + strconv.FormatInt(version, 10)
	case label != "":
		return name + ":" + label
	}
	return name
}

// ParameterKey identifies the parameter a name, ARN or request names,
// with no selector, no ARN prefix and no leading '/': "/a/b", "a/b:3" and
// arn:aws:ssm:us-east-1:123456789012:parameter/a/b all give "a/b". An
// answer may name a parameter by any of them without saying which request
// it answers, so two requests with the same key never share a call. A key
// may join what two distinct parameters (of two accounts, or "a" and "/a")
// would give: they then take two calls.
func ParameterKey(s string) string {
	s, _, _ = CutSelector(s)
	if Service(s) == "ssm" {
		if i := strings.Index(s, ":parameter/"); i >= 0 {
			s = s[i+len(":parameter/"):]
		}
	}
	return strings.TrimPrefix(s, "/")
}

// Batches splits distinct GetParameters requests into calls of at most
// size in which no two have the same ParameterKey, keeping their order. A
// read of a secret through ReferencePrefix takes a call of its own: a
// reference to a secret that is not there fails the whole call with
// ParameterNotFound, not just its own name (as moto answers; AWS documents
// no other answer), and must not take the call's other names with it.
func Batches(names []string, size int) [][]string {
	var calls [][]string
	var keys []map[string]bool // nil for a reference's call
	for _, n := range names {
		if strings.HasPrefix(n, ReferencePrefix) {
			calls = append(calls, []string{n})
			keys = append(keys, nil)
			continue
		}
		k := ParameterKey(n)
		c := 0
		for c < len(calls) && (keys[c] == nil || len(calls[c]) == size || keys[c][k]) {
			c++
		}
		if c == len(calls) {
			calls = append(calls, nil)
			keys = append(keys, make(map[string]bool))
		}
		calls[c] = append(calls[c], n)
		keys[c][k] = true
	}
	return calls
}

// AnswersParameter reports whether a GetParameter or GetParameters
// answer's Name and ARN, each when present (nil when not), name the
// parameter asked for as asked: by name or ARN, with or without a :version
// or :label selector. A parameter at the root of the hierarchy is one
// parameter with or without its leading '/' (/db and db). A secret read
// through ReferencePrefix is answered by Parameter Store with the
// reference as Name and the secret's ARN.
func AnswersParameter(asked string, name, arn *string) bool {
	return answersParameter(asked, name, arn, false)
}

// AnswersParameterOrMoto is AnswersParameter that also takes moto's
// answer for a secret read through ReferencePrefix: the secret's own name,
// and an SSM parameter ARN of that name. Only a source that is tested
// against moto takes it (the SDK source): to any other, it is the answer
// of another parameter.
func AnswersParameterOrMoto(asked string, name, arn *string) bool {
	return answersParameter(asked, name, arn, true)
}

func answersParameter(asked string, name, arn *string, moto bool) bool {
	asked, _, _ = CutSelector(asked)
	if id, ok := strings.CutPrefix(asked, ReferencePrefix); ok {
		return (name == nil || secretNamed(id, strings.TrimPrefix(*name, ReferencePrefix))) &&
			(arn == nil || secretARNed(id, *arn) || parameterARNed(asked, *arn) || moto && secretParameterARNed(id, *arn))
	}
	return (name == nil || parameterNamed(asked, *name)) && (arn == nil || parameterARNed(asked, *arn))
}

// ParameterAnswered returns the one request of a GetParameters call,
// names, that an entry of its answer is for, as answers (AnswersParameter
// or AnswersParameterOrMoto) tells, and false if the entry names none of
// them, or more than one, or names nothing at all.
func ParameterAnswered(names []string, name, arn *string, answers func(asked string, name, arn *string) bool) (string, bool) {
	if name == nil && arn == nil {
		return "", false
	}
	found := ""
	for _, n := range names {
		if !answers(n, name, arn) {
			continue
		}
		if found != "" {
			return "", false
		}
		found = n
	}
	return found, found != ""
}

// parameterNamed reports whether name can be the Name of the parameter
// asked for: the name asked, or the one the ARN asked names.
func parameterNamed(asked, name string) bool {
	if asked == name || atRoot(asked) && rooted(asked) == rooted(name) {
		return true
	}
	p, ok := parameterResource(asked)
	return ok && p == rooted(name)
}

// parameterARNed reports whether arn can be the ARN of the parameter asked
// for: the ARN asked, or the ARN of the name asked.
func parameterARNed(asked, arn string) bool {
	if asked == arn {
		return true
	}
	p, ok := parameterResource(arn)
	return ok && !strings.HasPrefix(asked, "arn:") && p == rooted(asked)
}

// secretParameterARNed reports whether arn is an SSM parameter ARN of the
// name of the secret id names, as moto answers a secret read through
// ReferencePrefix (without the name's leading '/', as in any SSM ARN).
func secretParameterARNed(id, arn string) bool {
	p, ok := parameterResource(arn)
	return ok && (secretNamed(id, p) || secretNamed(id, p[1:]))
}

// parameterResource returns the name in a parameter's ARN,
// arn:<partition>:ssm:<region>:<account>:parameter/<name>, rooted.
func parameterResource(arn string) (string, bool) {
	f := strings.SplitN(arn, ":", 6)
	if len(f) != 6 || f[0] != "arn" || f[2] != "ssm" {
		return "", false
	}
	p, ok := strings.CutPrefix(f[5], "parameter/")
	return "/" + p, ok && p != ""
}

// atRoot reports whether name, not an ARN, is of a parameter at the root
// of the hierarchy, which Parameter Store names with or without its
// leading '/'.
func atRoot(name string) bool {
	return !strings.HasPrefix(name, "arn:") && !strings.Contains(strings.TrimPrefix(name, "/"), "/")
}

// rooted is a parameter name with one leading '/', as its ARN writes it.
func rooted(name string) string { return "/" + strings.TrimPrefix(name, "/") }

// AnswersSecret reports whether an answer's Name and ARN, each when
// present (nil when not), name the secret asked for as asked: by name, by
// full ARN, or by a partial ARN (without the six characters Secrets
// Manager adds).
func AnswersSecret(asked string, name, arn *string) bool {
	return (name == nil || secretNamed(asked, *name)) && (arn == nil || secretARNed(asked, *arn))
}

// secretNamed reports whether name can be the Name of the secret asked
// for: the name asked, or the one the ARN asked names, in full or in part.
func secretNamed(asked, name string) bool {
	if asked == name {
		return true
	}
	r, ok := secretResource(asked)
	return ok && (r == name || suffixed(r, name))
}

// secretARNed reports whether arn can be the ARN of the secret asked for:
// the ARN asked, the full ARN of a partial one, or the ARN of the name
// asked.
func secretARNed(asked, arn string) bool {
	if asked == arn || strings.HasPrefix(asked, "arn:") && suffixed(arn, asked) {
		return true
	}
	r, ok := secretResource(arn)
	return ok && !strings.HasPrefix(asked, "arn:") && suffixed(r, asked)
}

// secretResource returns the resource of a secret's ARN,
// arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 characters>.
func secretResource(arn string) (string, bool) {
	f := strings.SplitN(arn, ":", 7)
	if len(f) != 7 || f[0] != "arn" || f[2] != "secretsmanager" || f[5] != "secret" {
		return "", false
	}
	return f[6], true
}

// suffixed reports whether s is prefix, a '-', and the six characters that
// Secrets Manager adds to a secret's name in its ARN.
func suffixed(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"-")
	return ok && len(rest) == 6
}
