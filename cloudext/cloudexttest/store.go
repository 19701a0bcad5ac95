package cloudexttest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-mw/mw/mwtest"
)

// Parameter types and secret stages, as AWS names them.
const (
	TypeString       = "String"
	TypeStringList   = "StringList"
	TypeSecureString = "SecureString"
	StageCurrent     = "AWSCURRENT"
	StagePrevious    = "AWSPREVIOUS"
)

type paramVersion struct {
	typ, value string
	modified   time.Time
}

type parameter struct {
	name     string
	versions []paramVersion // versions[i] is version i+1
	labels   map[string]int64
}

type secretVersion struct {
	id      string
	str     *string
	bin     []byte
	created time.Time
	stages  []string
}

type secret struct {
	name     string
	versions []*secretVersion
}

type configKey struct{ application, environment, profile string }

type configVersion struct {
	contentType string
	content     []byte
	flags       map[string]Flag // a feature flag profile's, else nil
}

// store is what one identity may read: the function's (through the
// extensions' execution role), or a role's.
type store struct {
	params    map[string]*parameter
	secrets   map[string]*secret
	configs   map[configKey][]configVersion
	denied    map[string]bool // parameter and secret names, "app/env/profile"
	noDecrypt map[string]bool
	secretSeq int
}

func newStore() *store {
	return &store{params: map[string]*parameter{}, secrets: map[string]*secret{}, configs: map[configKey][]configVersion{},
		denied: map[string]bool{}, noDecrypt: map[string]bool{}}
}

// PutParameter stores a new version of parameter name and returns its
// number (1, 2, ...). typ is TypeString (also for ""), TypeStringList
// (value already comma-joined) or TypeSecureString; anything else panics.
func (s *Server) PutParameter(name, typ, value string) int64 {
	if typ == "" {
		typ = TypeString
	}
	if typ != TypeString && typ != TypeStringList && typ != TypeSecureString {
		panic("cloudexttest: PutParameter: no such parameter type " + strconv.Quote(typ))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store.params[name]
	if p == nil {
		p = &parameter{name: name, labels: map[string]int64{}}
		s.store.params[name] = p
	}
	p.versions = append(p.versions, paramVersion{typ: typ, value: value, modified: s.settings.Now()})
	return int64(len(p.versions))
}

// LabelParameter attaches labels to a version of parameter name, moving
// them from any other version. It panics if either does not exist.
func (s *Server) LabelParameter(name string, version int64, labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.store.params[name]
	if p == nil || version < 1 || version > int64(len(p.versions)) {
		panic(fmt.Sprintf("cloudexttest: LabelParameter: no version %d of %q", version, name))
	}
	for _, l := range labels {
		p.labels[l] = version
	}
}

// PutSecret stores a new SecretString version of secret id and returns its
// version id. The new version is AWSCURRENT, the one it replaces
// AWSPREVIOUS.
func (s *Server) PutSecret(id, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.putSecret(id, &value, nil, s.settings.Now())
}

// PutSecretBinary is PutSecret for a SecretBinary value, which goes on the
// wire in base64.
func (s *Server) PutSecretBinary(id string, value []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.putSecret(id, nil, slices.Clone(value), s.settings.Now())
}

// PutRoleSecret stores a new version of secret id as the role roleARN
// reads it, and makes the role one the runtime can assume: a request
// with roleArn=roleARN reads the role's secrets alone. A roleArn the fake
// has no secret for is one it cannot assume (400 AccessDeniedException).
func (s *Server) PutRoleSecret(roleARN, id, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.roles[roleARN]
	if st == nil {
		st = newStore()
		s.roles[roleARN] = st
	}
	return st.putSecret(id, &value, nil, s.settings.Now())
}

func (st *store) putSecret(id string, str *string, bin []byte, now time.Time) string {
	sec := st.secrets[id]
	if sec == nil {
		sec = &secret{name: id}
		st.secrets[id] = sec
	}
	st.secretSeq++
	sum := sha256.Sum256([]byte(fmt.Sprint(id, "/", st.secretSeq)))
	h := hex.EncodeToString(sum[:16])
	v := &secretVersion{id: h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], str: str, bin: bin, created: now}
	sec.moveStage(StageCurrent, v)
	sec.versions = append(sec.versions, v)
	return v.id
}

// moveStage puts stage on v, taking it off any other version; moving
// AWSCURRENT makes the old current version AWSPREVIOUS.
func (sec *secret) moveStage(stage string, v *secretVersion) {
	for _, o := range sec.versions {
		if o == v || !slices.Contains(o.stages, stage) {
			continue
		}
		o.stages = slices.DeleteFunc(o.stages, func(s string) bool { return s == stage })
		if stage == StageCurrent {
			sec.moveStage(StagePrevious, o)
		}
	}
	if !slices.Contains(v.stages, stage) {
		v.stages = append(v.stages, stage)
	}
}

// StageSecret attaches stages to a version of secret id, moving them from
// any other version. It panics if either does not exist.
func (s *Server) StageSecret(id, versionID string, stages ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.store.secrets[id]
	if sec == nil {
		panic("cloudexttest: StageSecret: no secret " + strconv.Quote(id))
	}
	i := slices.IndexFunc(sec.versions, func(v *secretVersion) bool { return v.id == versionID })
	if i < 0 {
		panic("cloudexttest: StageSecret: no version " + strconv.Quote(versionID) + " of " + strconv.Quote(id))
	}
	for _, st := range stages {
		sec.moveStage(st, sec.versions[i])
	}
}

// Deny makes reads of the parameter or secret name fail as the extension's
// execution role may not read it: AccessDeniedException.
func (s *Server) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.denied[name] = true
}

// DenyDecrypt makes reads of the SecureString parameter or the secret name
// fail as KMS refuses to decrypt it: InvalidKeyId from Parameter Store,
// DecryptionFailure from Secrets Manager.
func (s *Server) DenyDecrypt(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.noDecrypt[name] = true
}

// PutConfiguration deploys a new version of a freeform configuration
// profile to an environment, and returns its version number; the latest
// is served.
func (s *Server) PutConfiguration(application, environment, profile, contentType string, content []byte) int {
	return s.deploy(configKey{application, environment, profile}, configVersion{contentType: contentType, content: slices.Clone(content)})
}

// A Flag is one feature flag of an AWS.AppConfig.FeatureFlags profile, for
// PutFlags: mwtest.Flag, so that one flag reads the same in either fake
// and prints no value.
type Flag = mwtest.Flag

// A Variant is one variant of a multi-variant flag: mwtest.Variant. GetFlag
// serves the first whose When matches the request's context, else the
// flag's DefaultVariant.
type Variant = mwtest.Variant

// PutFlags deploys a new version of a feature flag profile to an
// environment, and returns its version number. It panics on an attribute
// of another type than string, float64, bool, []string or []float64. GetConfiguration serves it
// as AWS AppConfig renders flags without a context: each flag's enabled,
// its attributes and, for a multi-variant flag, its default variant's
// values and name in _variant.
func (s *Server) PutFlags(application, environment, profile string, flags map[string]Flag) int {
	rendered := map[string]map[string]any{}
	for _, f := range flags { // panics now on an attribute AppConfig cannot hold
		for _, a := range f.Attributes {
			attributeWire(a)
		}
		for _, v := range f.Variants {
			for _, a := range v.Attributes {
				attributeWire(a)
			}
		}
	}
	for k, f := range flags {
		enabled, variant, attrs := evaluate(f, nil)
		m := map[string]any{"enabled": enabled}
		maps.Copy(m, attrs)
		if variant != "" {
			m["_variant"] = variant
		}
		rendered[k] = m
	}
	content := must(json.Marshal(rendered))
	return s.deploy(configKey{application, environment, profile},
		configVersion{contentType: "application/json", content: content, flags: maps.Clone(flags)})
}

func (s *Server) deploy(k configKey, v configVersion) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.configs[k] = append(s.store.configs[k], v)
	return len(s.store.configs[k])
}

// DenyConfiguration makes reads of a profile fail as AWS AppConfig refuses
// the extension's role: 403 AccessDeniedException ACCESS_DENIED_BY_REMOTE.
func (s *Server) DenyConfiguration(application, environment, profile string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.denied[application+"/"+environment+"/"+profile] = true
}

// evaluate returns what GetFlag answers for ctx: a flag without variants
// as deployed; else the first variant whose When matches, or the default.
func evaluate(f Flag, ctx map[string]string) (bool, string, map[string]any) {
	if len(f.Variants) == 0 {
		return f.Enabled, "", f.Attributes
	}
	for _, v := range f.Variants {
		if ctx != nil && len(v.When) > 0 && matches(v.When, ctx) {
			return v.Enabled, v.Name, v.Attributes
		}
	}
	for _, v := range f.Variants {
		if v.Name == f.DefaultVariant {
			return v.Enabled, v.Name, v.Attributes
		}
	}
	return f.Enabled, "", f.Attributes
}

func matches(when, ctx map[string]string) bool {
	for k, v := range when {
		if got, ok := ctx[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// findParameter finds a parameter by name or ARN, with the selector split
// off: "" when there is none.
func (st *store) findParameter(ref string) (*parameter, string, string) {
	name, sel := ref, ""
	if strings.HasPrefix(ref, "arn:") {
		_, rest, ok := strings.Cut(ref, ":parameter")
		if !ok {
			return nil, "", ""
		}
		name = rest
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name, sel = name[:i], name[i+1:]
	}
	for _, n := range []string{name, strings.TrimPrefix(name, "/"), "/" + strings.TrimPrefix(name, "/")} {
		if p := st.params[n]; p != nil {
			return p, n, sel
		}
	}
	return nil, name, sel
}

// pick returns the version a selector names: a number, a label, or the
// latest for "".
func (p *parameter) pick(sel string) (int64, bool) {
	if sel == "" {
		return int64(len(p.versions)), true
	}
	if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
		return n, n >= 1 && n <= int64(len(p.versions))
	}
	n, ok := p.labels[sel]
	return n, ok
}

// findSecret finds a secret by name, full ARN or partial ARN.
func (st *store) findSecret(ref string) *secret {
	if sec := st.secrets[ref]; sec != nil {
		return sec
	}
	if _, rest, ok := strings.Cut(ref, ":secret:"); ok && strings.HasPrefix(ref, "arn:") {
		for _, n := range []string{rest, rest[:max(len(rest)-7, 0)]} {
			if sec := st.secrets[n]; sec != nil {
				return sec
			}
		}
	}
	return nil
}

// referencePrefix begins the name of a secret read through Parameter
// Store: /aws/reference/secretsmanager/<secret name or ARN>[:<stage>].
const referencePrefix = "/aws/reference/secretsmanager/"

// reference answers a secret read through Parameter Store, as AWS
// documents it ("Referencing AWS Secrets Manager secrets from Parameter
// Store parameters"): a SecureString parameter whose Name is the reference,
// ARN the secret's ARN, Version 0, Value the secret's SecretString and
// SourceResult the secret's description; a :<stage> selector picks the
// version with that stage, and comes back as Selector. It is read
// decrypted only. A secret or stage that is missing fails the whole
// request with ParameterNotFound, as GetParameter fails and as moto fails
// GetParameters (AWS documents no other answer); a version number is no
// stage, and is refused. A binary secret's answer has no Value: AWS
// documents none.
func (st *store) reference(ref string, decrypt bool) (map[string]any, *Answer) {
	invalid := &Answer{Status: http.StatusBadRequest, Type: "ValidationException"}
	id, stage := splitStage(strings.TrimPrefix(ref, referencePrefix))
	name := referencePrefix + id
	switch {
	case !decrypt:
		return nil, invalid
	case stage != "" && strings.Trim(stage, "0123456789") == "":
		return nil, invalid
	}
	sec := st.findSecret(id)
	switch {
	case st.denied[name] || sec != nil && st.denied[sec.name]:
		return nil, &ParameterAccess
	case sec == nil:
		return nil, &Answer{Status: http.StatusBadRequest, Type: "ParameterNotFound"}
	case st.noDecrypt[name] || st.noDecrypt[sec.name]:
		return nil, &InvalidKeyID
	}
	v := sec.pick("", stage)
	if v == nil {
		return nil, &Answer{Status: http.StatusBadRequest, Type: "ParameterNotFound"}
	}
	stages := map[string][]string{}
	for _, o := range sec.versions {
		if len(o.stages) > 0 {
			stages[o.id] = o.stages
		}
	}
	out := map[string]any{"Name": name, "Type": TypeSecureString, "Version": 0, "ARN": secretARN(sec.name),
		"LastModifiedDate": float64(v.created.UnixMilli()) / 1000, "DataType": "text",
		"SourceResult": string(must(json.Marshal(map[string]any{"ARN": secretARN(sec.name), "Name": sec.name, "VersionIdsToStages": stages})))}
	if v.str != nil {
		out["Value"] = *v.str
	}
	if stage != "" {
		out["Selector"] = ":" + stage
	}
	return out, nil
}

// splitStage splits a reference's secret id from its :<stage> selector:
// the ':' after the name, which holds none, whether id is a name or an
// ARN, arn:<partition>:secretsmanager:<region>:<account>:secret:<name>.
func splitStage(id string) (string, string) {
	if strings.HasPrefix(id, "arn:") {
		f := strings.SplitN(id, ":", 8)
		if len(f) < 8 {
			return id, ""
		}
		return strings.Join(f[:7], ":"), f[7]
	}
	name, stage, _ := strings.Cut(id, ":")
	return name, stage
}

// pick returns the version a request asks for: by id, by stage, or
// AWSCURRENT; with both, they must name the same version.
func (sec *secret) pick(versionID, stage string) *secretVersion {
	if stage == "" && versionID == "" {
		stage = StageCurrent
	}
	for _, v := range sec.versions {
		if (versionID == "" || v.id == versionID) && (stage == "" || slices.Contains(v.stages, stage)) {
			return v
		}
	}
	return nil
}

// secretARN is the ARN the fake gives secret name: its name and a suffix
// of six characters, as Secrets Manager adds.
func secretARN(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "arn:aws:secretsmanager:" + mwtest.Region + ":" + mwtest.AccountID + ":secret:" + name + "-" + hex.EncodeToString(sum[:3])
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
