package fakeext

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/lambda-mw/mw/mwtest"
)

// ValuesFormat documents the values file, for a command's -h.
const ValuesFormat = `Values file (JSON, -values):

  {
    "parameters": {
      "<name>": {
        "type": "String" | "StringList" | "SecureString",   (default String)
        "value": "<value>", "labels": ["<label>", ...],      (one version)
        "versions": [ {"value": "...", "labels": [...]}, ...], (or several, oldest first: version 1, 2, ...)
        "deny": true,          (every request for it fails: AccessDeniedException)
        "denyDecrypt": true    (reading it decrypted fails: DecryptionFailure)
      }
    },
    "secrets": {
      "<name>": {
        "string": "<value>" | "binary": "<base64>", "stages": [...],   (one version)
        "versions": [ {"string": "..." | "binary": "...", "stages": [...]}, ...],
        "deny": true, "denyDecrypt": true
      }
    },
    "appconfig": [
      {
        "application": "<name>", "environment": "<name>", "profile": "<name>",
        "contentType": "application/json",                      (the default)
        "content": "<text>" | "json": <any JSON value> |         (a freeform profile)
        "flags": {"<key>": {"enabled": true, "<attribute>": <value>, ...}, ...},  (feature flags)
        "versions": [ {"content" | "json" | "flags", "contentType"}, ...],  (or several, oldest first)
        "deny": true           (every request for it fails: 403)
      }
    ]
  }

A StringList value is the comma-joined list. Parameter versions are numbered
from 1 in file order; labels must not start with a digit and may sit on one
version only. Secret versions are stored oldest first as PutSecretValue
stores them (each becomes AWSCURRENT, the one before it AWSPREVIOUS) and get
deterministic version ids (logged at startup); then the listed "stages" are
moved onto their versions, AWSCURRENT first. So with no stages listed the
last version is AWSCURRENT and the one before it AWSPREVIOUS; when stages are
listed, one version must carry AWSCURRENT, a stage sits on one version only,
and AWSPREVIOUS follows AWSCURRENT's moves unless you place it yourself.
An AppConfig profile serves its last version, numbered from 1 in file order
(Configuration-Version); "json" is stored compact; feature flags are given as
the AppConfig extension serves them (a disabled flag is served without its
attributes), and a profile holds flags in every version or in none. Each
profile is listed once. The parameters and secrets are served by the managed
and agent dialects, the appconfig section by the appconfig dialect, and all
three by the cloudext dialect (the Cloud Extensions runtime): one file can
serve every extension.
Errors are reported as file:line:column, or with the path of
the bad entry. Unknown fields are errors.
`

type valuesFile struct {
	Parameters map[string]paramEntry  `json:"parameters"`
	Secrets    map[string]secretEntry `json:"secrets"`
	AppConfig  []configEntry          `json:"appconfig"`
}

type paramEntry struct {
	Type        string         `json:"type"`
	Value       *string        `json:"value"`
	Labels      []string       `json:"labels"`
	Versions    []paramVersion `json:"versions"`
	Deny        bool           `json:"deny"`
	DenyDecrypt bool           `json:"denyDecrypt"`
}

type paramVersion struct {
	Value  *string  `json:"value"`
	Labels []string `json:"labels"`
}

type secretEntry struct {
	String      *string         `json:"string"`
	Binary      *string         `json:"binary"`
	Stages      []string        `json:"stages"`
	Versions    []secretVersion `json:"versions"`
	Deny        bool            `json:"deny"`
	DenyDecrypt bool            `json:"denyDecrypt"`
}

type secretVersion struct {
	String *string  `json:"string"`
	Binary *string  `json:"binary"`
	Stages []string `json:"stages"`
}

// A Store is what a values file fills: mwtest's fake extension, or the
// Cloud Extensions runtime's fake (Runtime). Its methods are mwtest's.
type Store interface {
	PutParameter(name, typ, value string) int64
	LabelParameter(name string, version int64, labels ...string)
	PutSecret(id, value string) string
	PutSecretBinary(id string, value []byte) string
	StageSecret(id, versionID string, stages ...string)
	Deny(name string)
	DenyDecrypt(name string)
	PutConfiguration(application, environment, profile, contentType string, content []byte) int
	PutFeatureFlags(application, environment, profile string, flags map[string]mwtest.Flag) int
	DenyConfiguration(application, environment, profile string)
}

var _ Store = (*mwtest.Extension)(nil)

// LoadValuesFile reads the values file at path (ValuesFormat) and stores
// its values into e. It returns one line per version stored, for a startup
// log: names, types, versions and labels, never a value.
func LoadValuesFile(path string, e Store) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadValues(path, data, e)
}

// LoadValues parses data (named name in errors), checks all of it, and only
// then stores it into e, driving the fake's own Put/Label/Stage methods. It
// returns what LoadValuesFile returns.
func LoadValues(name string, data []byte, e Store) ([]string, error) {
	var vf valuesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vf); err != nil {
		return nil, decodeError(name, data, err)
	}
	if rest := bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		line, col := lineCol(data, int64(len(data)-len(rest)))
		return nil, fmt.Errorf("%s:%d:%d: unexpected data after the top-level object", name, line, col)
	}
	if err := vf.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return vf.apply(e), nil
}

func decodeError(name string, data []byte, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the bad one included.
		line, col := lineCol(data, syn.Offset-1)
		return fmt.Errorf("%s:%d:%d: %v", name, line, col, syn)
	case errors.As(err, &typ):
		// Offset is just past the value (or inside it, for an object):
		// point at its last byte read.
		line, col := lineCol(data, typ.Offset-1)
		where := typ.Field
		if where == "" {
			where = "(top level)"
		}
		return fmt.Errorf("%s:%d:%d: %s: want %s, got JSON %s", name, line, col, where, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(data, int64(len(data)))
		return fmt.Errorf("%s:%d:%d: unexpected end of file", name, line, col)
	}
	// An unknown field: encoding/json names it but not its place (it has
	// read the whole document by then), so point at the first key so named.
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if field, ok := strings.CutPrefix(msg, "unknown field "); ok {
		if off := keyOffset(data, field); off >= 0 {
			line, col := lineCol(data, off)
			return fmt.Errorf("%s:%d:%d: %s", name, line, col, msg)
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// keyOffset finds quoted (a JSON string, quotes included) used as an object
// key in data: followed by optional space and a colon. It returns -1 if
// there is none.
func keyOffset(data []byte, quoted string) int64 {
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte(quoted))
		if i < 0 {
			return -1
		}
		at := from + i
		rest := bytes.TrimLeft(data[at+len(quoted):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			return int64(at)
		}
		from = at + 1
	}
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func (vf *valuesFile) check() error {
	for _, name := range sortedKeys(vf.Parameters) {
		if err := vf.Parameters[name].check(); err != nil {
			return fmt.Errorf("parameters[%q]%w", name, err)
		}
	}
	for _, name := range sortedKeys(vf.Secrets) {
		if err := vf.Secrets[name].check(); err != nil {
			return fmt.Errorf("secrets[%q]%w", name, err)
		}
	}
	return checkConfigs(vf.AppConfig)
}

// pathError is an error at a path below an entry, such as .versions[1].
type pathError struct {
	path string
	msg  string
}

func (p *pathError) Error() string { return p.path + ": " + p.msg }

func errAt(path, format string, args ...any) error {
	return &pathError{path, fmt.Sprintf(format, args...)}
}

func (p paramEntry) versions() []paramVersion {
	if p.Versions != nil {
		return p.Versions
	}
	return []paramVersion{{Value: p.Value, Labels: p.Labels}}
}

func (p paramEntry) check() error {
	switch p.Type {
	case "", mwtest.TypeString, mwtest.TypeStringList, mwtest.TypeSecureString:
	default:
		return errAt(".type", "unknown type %q (want String, StringList or SecureString)", p.Type)
	}
	if err := checkShape(p.Versions != nil, len(p.Versions), p.Value != nil || p.Labels != nil, `"value"/"labels"`); err != nil {
		return err
	}
	owner := map[string]int{}
	for i, v := range p.versions() {
		at := versionAt(p.Versions != nil, i)
		if v.Value == nil {
			return errAt(at+".value", "missing")
		}
		if err := checkLabels(at, v.Labels, owner, i); err != nil {
			return err
		}
	}
	return nil
}

// checkShape checks that an entry gives either one version inline (inline:
// one of the fields named in fields is set) or a non-empty "versions"
// (listed, n long).
func checkShape(listed bool, n int, inline bool, fields string) error {
	switch {
	case !listed:
		return nil
	case inline:
		return errAt("", `give %s or "versions", not both`, fields)
	case n == 0:
		return errAt(".versions", "empty")
	}
	return nil
}

// versionAt is the path of the i-th version: "" when it is given inline.
func versionAt(listed bool, i int) string {
	if !listed {
		return ""
	}
	return fmt.Sprintf(".versions[%d]", i)
}

// checkLabels checks the labels of parameter version i (at path at), and
// records in owner which version each one is on.
func checkLabels(at string, labels []string, owner map[string]int, i int) error {
	for _, l := range labels {
		switch {
		case l == "":
			return errAt(at+".labels", "empty label")
		case l[0] >= '0' && l[0] <= '9':
			return errAt(at+".labels", "label %q starts with a digit (it would read as a version)", l)
		}
		if j, dup := owner[l]; dup {
			return errAt(at+".labels", "label %q is already on version %d", l, j+1)
		}
		owner[l] = i
	}
	return nil
}

func (s secretEntry) versions() []secretVersion {
	if s.Versions != nil {
		return s.Versions
	}
	return []secretVersion{{String: s.String, Binary: s.Binary, Stages: s.Stages}}
}

func (s secretEntry) check() error {
	if err := checkShape(s.Versions != nil, len(s.Versions), s.String != nil || s.Binary != nil || s.Stages != nil, `"string"/"binary"/"stages"`); err != nil {
		return err
	}
	owner := map[string]int{}
	for i, v := range s.versions() {
		at := versionAt(s.Versions != nil, i)
		if err := v.checkValue(at); err != nil {
			return err
		}
		if err := checkStages(at, v.Stages, owner, i); err != nil {
			return err
		}
	}
	if _, ok := owner[mwtest.StageCurrent]; len(owner) > 0 && !ok {
		return errAt("", "no version is %s", mwtest.StageCurrent)
	}
	return nil
}

// checkValue checks that a secret version (at path at) has one value.
func (v secretVersion) checkValue(at string) error {
	switch {
	case v.String == nil && v.Binary == nil:
		return errAt(at, `want "string" or "binary"`)
	case v.String != nil && v.Binary != nil:
		return errAt(at, `give "string" or "binary", not both`)
	case v.Binary != nil:
		if _, err := base64.StdEncoding.DecodeString(*v.Binary); err != nil {
			return errAt(at+".binary", "not base64: %v", err)
		}
	}
	return nil
}

// checkStages checks the stages of secret version i (at path at), and
// records in owner which version each one is on.
func checkStages(at string, stages []string, owner map[string]int, i int) error {
	for _, st := range stages {
		if st == "" {
			return errAt(at+".stages", "empty stage")
		}
		if j, dup := owner[st]; dup {
			return errAt(at+".stages", "stage %q is already on version %d (a stage sits on one version)", st, j+1)
		}
		owner[st] = i
	}
	return nil
}

// apply stores checked values into e, and returns the lines that say so.
func (vf *valuesFile) apply(e Store) []string {
	var lines []string
	for _, name := range sortedKeys(vf.Parameters) {
		lines = append(lines, vf.Parameters[name].apply(e, name)...)
	}
	for _, name := range sortedKeys(vf.Secrets) {
		lines = append(lines, vf.Secrets[name].apply(e, name)...)
	}
	for _, c := range vf.AppConfig {
		lines = append(lines, c.apply(e)...)
	}
	return lines
}

// apply stores parameter name's versions and labels into e, and returns
// the lines that say so.
func (p paramEntry) apply(e Store, name string) []string {
	typ := cmp.Or(p.Type, mwtest.TypeString)
	var lines []string
	for _, v := range p.versions() {
		n := e.PutParameter(name, typ, *v.Value)
		if len(v.Labels) > 0 {
			e.LabelParameter(name, n, v.Labels...)
		}
		lines = append(lines, fmt.Sprintf("parameter %s (%s) version %d labels %v", name, typ, n, v.Labels))
	}
	return append(lines, applyDenials(e, "parameter", name, p.Deny, p.DenyDecrypt)...)
}

// apply stores secret name's versions and stages into e, and returns the
// lines that say so.
func (s secretEntry) apply(e Store, name string) []string {
	vs := s.versions()
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.put(e, name)
	}
	// AWSCURRENT first, since moving it moves AWSPREVIOUS; then the rest.
	isCurrent := func(st string) bool { return st == mwtest.StageCurrent }
	stageWhere(e, name, vs, ids, isCurrent)
	stageWhere(e, name, vs, ids, func(st string) bool { return !isCurrent(st) })
	var lines []string
	for i, v := range vs {
		lines = append(lines, fmt.Sprintf("secret %s (%s) version %d id %s stages %v", name, v.kind(), i+1, ids[i], v.Stages))
	}
	return append(lines, applyDenials(e, "secret", name, s.Deny, s.DenyDecrypt)...)
}

// put stores the version as the newest of secret name, and returns its id.
func (v secretVersion) put(e Store, name string) string {
	if v.Binary != nil {
		b, _ := base64.StdEncoding.DecodeString(*v.Binary) // checked
		return e.PutSecretBinary(name, b)
	}
	return e.PutSecret(name, *v.String)
}

func (v secretVersion) kind() string {
	if v.Binary != nil {
		return "binary"
	}
	return "string"
}

// stageWhere moves the stages that match onto their versions (ids[i] is
// the id of vs[i]).
func stageWhere(e Store, name string, vs []secretVersion, ids []string, match func(string) bool) {
	for i, v := range vs {
		for _, st := range v.Stages {
			if match(st) {
				e.StageSecret(name, ids[i], st)
			}
		}
	}
}

// applyDenials applies deny and denyDecrypt to item name (kind "parameter"
// or "secret"), and returns the lines that say so.
func applyDenials(e Store, kind, name string, deny, denyDecrypt bool) []string {
	var lines []string
	if deny {
		e.Deny(name)
		lines = append(lines, fmt.Sprintf("%s %s: access denied", kind, name))
	}
	if denyDecrypt {
		e.DenyDecrypt(name)
		lines = append(lines, fmt.Sprintf("%s %s: decryption denied", kind, name))
	}
	return lines
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
