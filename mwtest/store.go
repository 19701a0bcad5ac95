package mwtest

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The account and region that appear in every ARN the fake makes up.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// Parameter types, as Parameter Store names them.
const (
	TypeString       = "String"
	TypeStringList   = "StringList"
	TypeSecureString = "SecureString"
)

// Secret version stages that Secrets Manager manages itself.
const (
	StageCurrent  = "AWSCURRENT"
	StagePrevious = "AWSPREVIOUS"
)

// referencePrefix makes a parameter name refer to a Secrets Manager secret.
const referencePrefix = "/aws/reference/secretsmanager/"

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

	msgSecretNotFound   = "Secrets Manager can't find the specified secret."
	msgSecretDecrypt    = "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	msgParameterDecrypt = "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access."
)

const (
	fakeCallerARN        = "arn:aws:sts::" + AccountID + ":assumed-role/mwtest/mwtest"
	timeLayout           = "2006-01-02T15:04:05.000Z07:00" // as in LastModifiedDate
	secretSuffixAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	secretSuffixLen      = 6
	fakeCiphertextPrefix = "kms:mwtest:"
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

type paramVersion struct {
	typ      string
	value    string
	modified time.Time
}

type parameter struct {
	name     string
	versions []paramVersion // versions[i] is version i+1
	labels   map[string]int64
}

type secretVersion struct {
	id      string
	str     string
	bin     []byte // non-nil for a SecretBinary version; never mutated
	created time.Time
}

type secret struct {
	name     string
	versions []*secretVersion
	stages   map[string]string // stage → version id
}

func (s *secret) version(id string) *secretVersion {
	for _, v := range s.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

// stagesOf lists the stages attached to version id, sorted.
func (s *secret) stagesOf(id string) []string {
	var st []string
	for stage, vid := range s.stages {
		if vid == id {
			st = append(st, stage)
		}
	}
	slices.Sort(st)
	return st
}

// store holds the values and the access rules. It is not safe for
// concurrent use: Extension guards it with its mutex.
type store struct {
	params    map[string]*parameter
	secrets   map[string]*secret
	denied    map[string]bool
	noDecrypt map[string]bool
}

func newStore() store {
	return store{
		params:    make(map[string]*parameter),
		secrets:   make(map[string]*secret),
		denied:    make(map[string]bool),
		noDecrypt: make(map[string]bool),
	}
}

func (s *store) putParameter(name, typ, value string, now time.Time) int64 {
	switch typ {
	case "":
		typ = TypeString
	case TypeString, TypeStringList, TypeSecureString:
	default:
		panic(fmt.Sprintf("mwtest: PutParameter %q: unknown type %q (want String, StringList or SecureString)", name, typ))
	}
	p := s.params[name]
	if p == nil {
		p = &parameter{name: name, labels: make(map[string]int64)}
		s.params[name] = p
	}
	p.versions = append(p.versions, paramVersion{typ: typ, value: value, modified: now})
	return int64(len(p.versions))
}

func (s *store) labelParameter(name string, version int64, labels []string) {
	p := s.params[name]
	if p == nil {
		panic(fmt.Sprintf("mwtest: LabelParameter: no parameter %q", name))
	}
	if version < 1 || version > int64(len(p.versions)) {
		panic(fmt.Sprintf("mwtest: LabelParameter: parameter %q has no version %d", name, version))
	}
	for _, l := range labels {
		if l == "" {
			panic(fmt.Sprintf("mwtest: LabelParameter %q: empty label", name))
		}
		p.labels[l] = version
	}
}

func (s *store) putSecret(name, str string, bin []byte, now time.Time) string {
	sec := s.secrets[name]
	if sec == nil {
		sec = &secret{name: name, stages: make(map[string]string)}
		s.secrets[name] = sec
	}
	v := &secretVersion{id: secretVersionID(name, len(sec.versions)+1), str: str, bin: bin, created: now}
	sec.versions = append(sec.versions, v)
	sec.moveStage(StageCurrent, v.id)
	return v.id
}

// moveStage attaches stage to version id. Moving AWSCURRENT also moves
// AWSPREVIOUS to the version that was current, as Secrets Manager does.
func (sec *secret) moveStage(stage, id string) {
	if stage == StageCurrent {
		if cur, ok := sec.stages[StageCurrent]; ok && cur != id {
			sec.stages[StagePrevious] = cur
		}
	}
	sec.stages[stage] = id
}

func (s *store) stageSecret(name, versionID string, stages []string) {
	sec := s.secrets[name]
	if sec == nil {
		panic(fmt.Sprintf("mwtest: StageSecret: no secret %q", name))
	}
	if sec.version(versionID) == nil {
		panic(fmt.Sprintf("mwtest: StageSecret: secret %q has no version %q", name, versionID))
	}
	for _, st := range stages {
		if st == "" {
			panic(fmt.Sprintf("mwtest: StageSecret %q: empty stage", name))
		}
		sec.moveStage(st, versionID)
	}
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

// paramResult is a parameter as the managed dialect returns it.
type paramResult struct {
	arn          string
	name         string
	typ          string
	value        string
	version      int64
	selector     *string
	sourceResult *string
	modified     time.Time
}

// getParameter answers GetParameter for ref (a name, an ARN, either with a
// ":selector"), at version (0: none) or label ("": none).
func (s *store) getParameter(ref string, version int64, label string, decrypt bool) (*paramResult, *failure) {
	if ref == "" {
		return nil, invalid("name is required")
	}
	if strings.HasPrefix(ref, referencePrefix) {
		return s.getReference(ref, version, label, decrypt)
	}
	cands := parameterCandidates(ref)
	for _, c := range cands {
		if s.denied[c.name] {
			return nil, accessDenied("ssm:GetParameter", ParameterARN(c.name))
		}
	}
	var (
		p   *parameter
		sel string
	)
	for _, c := range cands {
		if p = s.params[c.name]; p != nil {
			sel = c.selector
			break
		}
	}
	if p == nil {
		return nil, notFoundParameter()
	}
	if sel != "" {
		if version != 0 || label != "" {
			return nil, invalid("a selector in the name cannot be combined with version or label")
		}
		if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
			version = n
		} else {
			label = sel
		}
	}
	r := &paramResult{arn: ParameterARN(p.name), name: p.name}
	switch {
	case version != 0:
		if version < 1 || version > int64(len(p.versions)) {
			return nil, &failure{codeParameterVersion, "Systems Manager could not find version " + strconv.FormatInt(version, 10) + " of " + p.name + "."}
		}
		r.selector = ptr(":" + strconv.FormatInt(version, 10))
	case label != "":
		v, ok := p.labels[label]
		if !ok {
			return nil, notFoundParameter()
		}
		version = v
		r.selector = ptr(":" + label)
	default:
		version = int64(len(p.versions))
	}
	pv := p.versions[version-1]
	r.typ, r.value, r.version, r.modified = pv.typ, pv.value, version, pv.modified
	if pv.typ == TypeSecureString {
		if !decrypt {
			r.value = ciphertext(p.name, version)
		} else if s.noDecrypt[p.name] || s.noDecrypt[ref] {
			return nil, &failure{codeDecryptionFailure, msgParameterDecrypt}
		}
	}
	return r, nil
}

// getReference answers GetParameter for /aws/reference/secretsmanager/<id>.
func (s *store) getReference(ref string, version int64, label string, decrypt bool) (*paramResult, *failure) {
	if s.denied[ref] {
		return nil, accessDenied("ssm:GetParameter", ParameterARN(ref))
	}
	if !decrypt {
		return nil, invalid("WithDecryption flag must be True for retrieving a Secret Manager secret.")
	}
	if version != 0 {
		return nil, invalid("version selectors are not supported for Secrets Manager references")
	}
	id := strings.TrimPrefix(ref, referencePrefix)
	sec, v, f := s.getSecret(id, "", label)
	if f != nil {
		if f.code == codeResourceNotFound {
			return nil, notFoundParameter()
		}
		return nil, f
	}
	r := &paramResult{
		arn:      SecretARN(sec.name),
		name:     ref,
		typ:      TypeSecureString,
		value:    v.str,
		modified: v.created,
	}
	if v.bin != nil {
		r.value = base64.StdEncoding.EncodeToString(v.bin)
	}
	if label != "" {
		r.selector = ptr(":" + label)
	}
	// SourceResult carries the secret's metadata, as a JSON string; never the value.
	src := mustJSON(struct {
		ARN           string   `json:"ARN"`
		CreatedDate   string   `json:"CreatedDate"`
		Name          string   `json:"Name"`
		VersionID     string   `json:"VersionId"`
		VersionStages []string `json:"VersionStages"`
	}{r.arn, v.created.UTC().Format(timeLayout), sec.name, v.id, nonNil(sec.stagesOf(v.id))})
	r.sourceResult = &src
	return r, nil
}

// getSecret answers GetSecretValue for ref (a name, a full or partial ARN).
func (s *store) getSecret(ref, versionID, stage string) (*secret, *secretVersion, *failure) {
	if ref == "" {
		return nil, nil, invalid("secretId is required")
	}
	cands := secretCandidates(ref)
	for _, c := range cands {
		if s.denied[c] {
			return nil, nil, accessDenied("secretsmanager:GetSecretValue", SecretARN(c))
		}
	}
	var sec *secret
	for _, c := range cands {
		if sec = s.secrets[c]; sec != nil {
			break
		}
	}
	if sec == nil {
		return nil, nil, &failure{codeResourceNotFound, msgSecretNotFound}
	}
	var v *secretVersion
	switch {
	case versionID != "":
		if v = sec.version(versionID); v == nil {
			return nil, nil, &failure{codeResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: " + versionID}
		}
		if stage != "" && sec.stages[stage] != versionID {
			return nil, nil, &failure{codeResourceNotFound, "Secrets Manager can't find the specified secret value for VersionId: " + versionID + " and staging label: " + stage}
		}
	default:
		if stage == "" {
			stage = StageCurrent
		}
		id, ok := sec.stages[stage]
		if !ok {
			return nil, nil, &failure{codeResourceNotFound, "Secrets Manager can't find the specified secret value for staging label: " + stage}
		}
		v = sec.version(id)
	}
	for _, c := range cands {
		if s.noDecrypt[c] {
			return nil, nil, &failure{codeDecryptionFailure, msgSecretDecrypt}
		}
	}
	return sec, v, nil
}

// ciphertext stands in for the KMS ciphertext that Parameter Store returns
// for a SecureString read without decryption. It is derived from the name
// and version only, never from the value.
func ciphertext(name string, version int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fakeCiphertextPrefix + name + ":" + strconv.FormatInt(version, 10)))
}

func ptr[T any](v T) *T { return &v }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
