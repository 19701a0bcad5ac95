package mwtest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
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

const (
	timeLayout           = "2006-01-02T15:04:05.000Z07:00" // as in LastModifiedDate
	fakeCiphertextPrefix = "kms:mwtest:"
)

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

	// The AppConfig dialect's.
	configs       map[configKey]*profile
	deniedConfigs map[configKey]bool

	// named holds every name the fake was given (a parameter, a secret, a
	// profile as application/environment/profile, a name denied or failed)
	// and the names it made up for them (their ARNs, a secret's Parameter
	// Store reference): Stats counts each of these by name, whatever else
	// clients ask for.
	named map[string]bool
}

func newStore() store {
	return store{
		params:    make(map[string]*parameter),
		secrets:   make(map[string]*secret),
		denied:    make(map[string]bool),
		noDecrypt: make(map[string]bool),

		configs:       make(map[configKey]*profile),
		deniedConfigs: make(map[configKey]bool),

		named: make(map[string]bool),
	}
}

// name records names the fake was given, or made up for what it was given.
func (s *store) name(names ...string) {
	for _, n := range names {
		s.named[n] = true
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
		s.name(name, ParameterARN(name))
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
		s.name(name, SecretARN(name), referencePrefix+name)
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

// paramResult is a parameter as the managed dialect returns it.
type paramResult struct {
	arn          string
	name         string
	typ          string
	value        string
	version      int64
	selector     *string
	sourceResult *string
	binary       bool   // a binary secret read through Parameter Store: no Value
	bin          []byte // its bytes; never mutated
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
	p, sel, f := s.findParameter(ref)
	if f != nil {
		return nil, f
	}
	if version, label, f = withSelector(sel, version, label); f != nil {
		return nil, f
	}
	version, selector, f := p.pick(version, label)
	if f != nil {
		return nil, f
	}
	pv := p.versions[version-1]
	r := &paramResult{
		arn:      ParameterARN(p.name),
		name:     p.name,
		typ:      pv.typ,
		value:    pv.value,
		version:  version,
		selector: selector,
		modified: pv.modified,
	}
	return s.decrypted(r, ref, decrypt)
}

// findParameter finds the parameter ref names, and the selector that
// followed its name in ref. A denied reading of ref wins over a found one.
func (s *store) findParameter(ref string) (*parameter, string, *failure) {
	cands := parameterCandidates(ref)
	for _, c := range cands {
		if s.denied[c.name] {
			return nil, "", accessDenied("ssm:GetParameter", ParameterARN(c.name))
		}
	}
	for _, c := range cands {
		if p := s.params[c.name]; p != nil {
			return p, c.selector, nil
		}
	}
	return nil, "", notFoundParameter()
}

// withSelector applies a ":selector" that followed the name (a version
// number or a label) to the version and label asked for in the query.
func withSelector(sel string, version int64, label string) (int64, string, *failure) {
	if sel == "" {
		return version, label, nil
	}
	if version != 0 || label != "" {
		return 0, "", invalid("a selector in the name cannot be combined with version or label")
	}
	if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
		return n, "", nil
	}
	return 0, sel, nil
}

// pick returns the version asked for (the latest when neither version nor
// label is given) and the Selector field the answer carries.
func (p *parameter) pick(version int64, label string) (int64, *string, *failure) {
	switch {
	case version != 0:
		if version < 1 || version > int64(len(p.versions)) {
			return 0, nil, &failure{code: codeParameterVersion, msg: "Systems Manager could not find version " + strconv.FormatInt(version, 10) + " of " + p.name + "."}
		}
		return version, ptr(":" + strconv.FormatInt(version, 10)), nil
	case label != "":
		v, ok := p.labels[label]
		if !ok {
			return 0, nil, notFoundParameter()
		}
		return v, ptr(":" + label), nil
	}
	return int64(len(p.versions)), nil, nil
}

// decrypted applies decryption to a SecureString read: without it the value
// is a stand-in ciphertext; with it, DenyDecrypt makes the read fail.
func (s *store) decrypted(r *paramResult, ref string, decrypt bool) (*paramResult, *failure) {
	switch {
	case r.typ != TypeSecureString:
	case !decrypt:
		r.value = ciphertext(r.name, r.version)
	case s.noDecrypt[r.name] || s.noDecrypt[ref]:
		return nil, &failure{code: codeDecryptionFailure, msg: msgParameterDecrypt}
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
		binary:   v.bin != nil,
		bin:      v.bin,
		modified: v.created,
	}
	if label != "" {
		r.selector = ptr(":" + label)
	}
	src := mustJSON(sourceResult{
		ARN:           r.arn,
		Name:          sec.name,
		VersionID:     v.id,
		SecretString:  v.stringPtr(),
		SecretBinary:  newByteBuffer(v.bin),
		VersionStages: nonNil(sec.stagesOf(v.id)),
		CreatedDate:   v.created.UTC().Format(javaDateLayout),
	})
	r.sourceResult = &src
	return r, nil
}

// sourceResult is the SourceResult of a secret read through Parameter
// Store, as the managed layer writes it: the secret's GetSecretValue
// result, serialized by the layer itself (Java, with Gson's defaults:
// Java's field names, a date in words, null fields left out, a binary
// value as the java.nio.ByteBuffer that holds it). Public captures of the
// real layer's answers show it: github.com/fedonev/lambda-params-secrets,
// data/test-responses.json.
type sourceResult struct {
	ARN           string      `json:"ARN"`
	Name          string      `json:"name"`
	VersionID     string      `json:"versionId"`
	SecretString  *string     `json:"secretString,omitempty"`
	SecretBinary  *byteBuffer `json:"secretBinary,omitempty"`
	VersionStages []string    `json:"versionStages"`
	CreatedDate   string      `json:"createdDate"`
}

// javaDateLayout is how Gson writes a java.util.Date by default, in en-US.
const javaDateLayout = "Jan 2, 2006, 3:04:05 PM"

// byteBuffer is a java.nio.ByteBuffer as Gson writes it: its backing array
// (hb, each byte signed), where the bytes sit in it (offset, position,
// limit), and its other fields.
type byteBuffer struct {
	HB              []int8 `json:"hb"`
	Offset          int    `json:"offset"`
	IsReadOnly      bool   `json:"isReadOnly"`
	BigEndian       bool   `json:"bigEndian"`
	NativeByteOrder bool   `json:"nativeByteOrder"`
	Mark            int    `json:"mark"`
	Position        int    `json:"position"`
	Limit           int    `json:"limit"`
	Capacity        int    `json:"capacity"`
	Address         int    `json:"address"`
}

// newByteBuffer is the buffer that holds b, as the layer's wraps a secret's
// bytes; nil for a nil b.
func newByteBuffer(b []byte) *byteBuffer {
	if b == nil {
		return nil
	}
	hb := make([]int8, len(b))
	for i, c := range b {
		hb[i] = int8(c)
	}
	return &byteBuffer{HB: hb, BigEndian: true, Mark: -1, Limit: len(b), Capacity: len(b), Address: 16}
}

// listPath answers GetParametersByPath for path, recursively and
// decrypted: the latest version of every parameter whose name is under
// path, by name. Deny(path) denies the whole path; DenyDecrypt of a
// SecureString under it fails the whole call, as one key the caller may
// not use fails GetParametersByPath with WithDecryption.
func (s *store) listPath(path string) (map[string]string, *failure) {
	switch {
	case !strings.HasPrefix(path, "/"):
		return nil, invalid("a path must begin with '/'")
	case s.denied[path]:
		return nil, accessDenied("ssm:GetParametersByPath", ParameterARN(path))
	}
	prefix := strings.TrimSuffix(path, "/") + "/"
	out := make(map[string]string)
	for name, p := range s.params {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		pv := p.versions[len(p.versions)-1]
		if pv.typ == TypeSecureString && s.noDecrypt[name] {
			return nil, &failure{code: codeDecryptionFailure, msg: msgParameterDecrypt}
		}
		out[name] = pv.value
	}
	return out, nil
}

// getSecret answers GetSecretValue for ref (a name, a full or partial ARN).
func (s *store) getSecret(ref, versionID, stage string) (*secret, *secretVersion, *failure) {
	if ref == "" {
		return nil, nil, invalid("secretId is required")
	}
	cands := secretCandidates(ref)
	sec, f := s.findSecret(cands)
	if f != nil {
		return nil, nil, f
	}
	v, f := sec.pick(versionID, stage)
	if f != nil {
		return nil, nil, f
	}
	if slices.ContainsFunc(cands, func(c string) bool { return s.noDecrypt[c] }) {
		return nil, nil, &failure{code: codeDecryptionFailure, msg: msgSecretDecrypt}
	}
	return sec, v, nil
}

// findSecret finds the secret that one of cands names. A denied candidate
// wins over a found one.
func (s *store) findSecret(cands []string) (*secret, *failure) {
	for _, c := range cands {
		if s.denied[c] {
			return nil, accessDenied("secretsmanager:GetSecretValue", SecretARN(c))
		}
	}
	for _, c := range cands {
		if sec := s.secrets[c]; sec != nil {
			return sec, nil
		}
	}
	return nil, &failure{code: codeResourceNotFound, msg: msgSecretNotFound}
}

// pick returns the version asked for by id, by stage, or both (which must
// agree); with neither, the AWSCURRENT one.
func (sec *secret) pick(versionID, stage string) (*secretVersion, *failure) {
	if versionID == "" {
		return sec.atStage(cmp.Or(stage, StageCurrent))
	}
	v := sec.version(versionID)
	if v == nil {
		return nil, &failure{code: codeResourceNotFound, msg: "Secrets Manager can't find the specified secret value for VersionId: " + versionID}
	}
	if stage != "" && sec.stages[stage] != versionID {
		return nil, &failure{code: codeResourceNotFound, msg: "Secrets Manager can't find the specified secret value for VersionId: " + versionID + " and staging label: " + stage}
	}
	return v, nil
}

func (sec *secret) atStage(stage string) (*secretVersion, *failure) {
	id, ok := sec.stages[stage]
	if !ok {
		return nil, &failure{code: codeResourceNotFound, msg: "Secrets Manager can't find the specified secret value for staging label: " + stage}
	}
	return sec.version(id), nil
}

// stringPtr is the version's SecretString as the wire carries it: nil for a
// SecretBinary version.
func (v *secretVersion) stringPtr() *string {
	if v.bin != nil {
		return nil
	}
	return &v.str
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
