package cloudexttest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/lambda-mw/mw/mwtest"
)

// route is one extension's route and how it speaks.
type route struct {
	secrets, parameters, appconfig bool
	json                           bool   // AWS JSON 1.1
	extension                      string // the extension's id, as a runtime answer names it
	contentType                    string
	serverError                    Answer
}

var (
	routeSM = route{secrets: true, extension: "aws:secretsmanager", contentType: "application/json", serverError: InternalFailure}
	routePS = route{parameters: true, json: true, extension: "aws:parameterstore", contentType: "application/x-amz-json-1.1", serverError: InternalServerError}
	routeAC = route{appconfig: true, json: true, extension: "aws:appconfig", contentType: "application/x-amz-json-1.1", serverError: InternalServerException}
)

func routeOf(path string) (route, bool) {
	switch path {
	case RouteSecretsManager:
		return routeSM, true
	case RouteParameterStore, RouteParameterStore + "/":
		return routePS, true
	case RouteAppConfig, strings.TrimSuffix(RouteAppConfig, "/"):
		return routeAC, true
	}
	return route{}, false
}

// signingName is the SigV4 service name the route's requests are signed
// for, as AWS's curl examples sign them (AppConfig's is a setting).
func (rt route) signingName(s *Server) string {
	switch {
	case rt.secrets:
		return "secretsmanager"
	case rt.parameters:
		return "ssm"
	}
	return s.settings.AppConfigSigningName
}

func (rt route) authStyle(s *Server) AuthStyle {
	switch {
	case rt.secrets:
		return s.settings.SecretsManagerAuth
	case rt.parameters:
		return s.settings.ParameterStoreAuth
	}
	return s.settings.AppConfigAuth
}

func (rt route) serve(s *Server, w http.ResponseWriter, r *http.Request, body []byte) {
	switch {
	case rt.secrets:
		s.serveSecret(w, r)
	case rt.parameters:
		s.serveParameters(w, r, body)
	default:
		s.serveAppConfig(w, r, body)
	}
}

// roleARNPattern is what the Secrets Manager extension accepts as a
// roleArn: arn:partition:iam::account:role/name.
var roleARNPattern = regexp.MustCompile(`^arn:[a-z-]+:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)

// serveSecret answers GET /secretsmanager/get?secretId=... with versionId,
// versionStage, refreshNow and roleArn, as the extension documents them.
func (s *Server) serveSecret(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(headerForwardedFor) != "" {
		s.extensionError(w, routeSM, BadRequest)
		return
	}
	s.mu.Lock()
	token := s.ssrfToken
	s.mu.Unlock()
	if token != "" && !s.hasSSRFToken(r, token) {
		s.count(func(st *Stats) { st.SSRFRefused++ })
		s.extensionError(w, routeSM, Answer{Status: http.StatusForbidden, Type: "InvalidSsrfTokenException"})
		return
	}
	if r.Method != http.MethodGet {
		s.extensionError(w, routeSM, BadRequest)
		return
	}
	q := r.URL.Query()
	id, role := q.Get("secretId"), q.Get("roleArn")
	refresh := strings.ToLower(q.Get("refreshNow"))
	if id == "" || refresh != "" && refresh != "true" && refresh != "false" && refresh != "1" && refresh != "0" ||
		role != "" && !roleARNPattern.MatchString(role) {
		s.extensionError(w, routeSM, BadRequest)
		return
	}
	s.count(func(st *Stats) {
		st.Operations["GetSecretValue"]++
		if refresh == "true" || refresh == "1" {
			st.RefreshNow++
		}
		if role != "" {
			st.WithRole++
		}
	})
	if a, f, ok := s.takeInjected([]string{id}); ok {
		s.answerInjected(w, routeSM, a, f)
		return
	}
	if !s.await(w, r, routeSM) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.store
	if role != "" {
		if st = s.roles[role]; st == nil {
			s.extensionError(w, routeSM, SecretAccessDenied)
			return
		}
	}
	sec := st.findSecret(id)
	switch {
	case st.denied[id] || sec != nil && st.denied[sec.name]:
		s.extensionError(w, routeSM, SecretAccessDenied)
		return
	case sec == nil:
		s.extensionError(w, routeSM, ResourceNotFound)
		return
	case st.noDecrypt[sec.name]:
		s.extensionError(w, routeSM, DecryptionFailure)
		return
	}
	v := sec.pick(q.Get("versionId"), q.Get("versionStage"))
	if v == nil {
		s.extensionError(w, routeSM, ResourceNotFound)
		return
	}
	out := map[string]any{"ARN": secretARN(sec.name), "Name": sec.name, "VersionId": v.id,
		"VersionStages": v.stages, "CreatedDate": float64(v.created.UnixMilli()) / 1000,
		"SecretString": nil, "SecretBinary": nil}
	if v.str != nil {
		out["SecretString"] = *v.str
	} else {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(v.bin)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) hasSSRFToken(r *http.Request, token string) bool {
	for _, h := range s.settings.SSRFHeaders {
		if v := r.Header.Get(h); v != "" {
			return v == token
		}
	}
	return false
}

// jsonRequest checks a JSON 1.1 request's method, content type and
// target, and answers it ValidationException if it is not one of ops.
func (s *Server) jsonRequest(w http.ResponseWriter, r *http.Request, rt route, ops ...string) (string, bool) {
	target := r.Header.Get("X-Amz-Target")
	ok := r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1")
	for _, op := range ops {
		if ok && target == op {
			return op, true
		}
	}
	a := UnknownOperation
	if rt.parameters {
		a = Answer{Status: http.StatusBadRequest, Type: "ValidationException"}
	}
	s.extensionError(w, rt, a)
	return "", false
}

// serveParameters answers AmazonSSM.GetParameter and GetParameters.
func (s *Server) serveParameters(w http.ResponseWriter, r *http.Request, body []byte) {
	op, ok := s.jsonRequest(w, r, routePS, "AmazonSSM.GetParameter", "AmazonSSM.GetParameters")
	if !ok {
		return
	}
	var in struct {
		Name           string
		Names          []string
		WithDecryption *bool
	}
	invalid := Answer{Status: http.StatusBadRequest, Type: "ValidationException"}
	if json.Unmarshal(body, &in) != nil {
		s.extensionError(w, routePS, invalid)
		return
	}
	names := in.Names
	if op == "AmazonSSM.GetParameter" {
		names = []string{in.Name}
	}
	if len(names) == 0 || len(names) > 10 || len(in.Name) > 2048 || in.Name == "" && op == "AmazonSSM.GetParameter" {
		s.extensionError(w, routePS, invalid)
		return
	}
	s.count(func(st *Stats) { st.Operations[strings.TrimPrefix(op, "AmazonSSM.")]++ })
	if a, f, ok := s.takeInjected(names); ok {
		s.answerInjected(w, routePS, a, f)
		return
	}
	if !s.await(w, r, routePS) {
		return
	}
	decrypt := in.WithDecryption != nil && *in.WithDecryption
	s.mu.Lock()
	defer s.mu.Unlock()
	var params []any
	invalidNames := []string{}
	for _, ref := range names {
		if strings.HasPrefix(ref, referencePrefix) {
			out, fail := s.store.reference(ref, decrypt)
			if fail != nil {
				s.extensionError(w, routePS, *fail)
				return
			}
			params = append(params, out)
			continue
		}
		p, name, sel := s.store.findParameter(ref)
		switch {
		case s.store.denied[name] || p != nil && s.store.denied[p.name]:
			s.extensionError(w, routePS, ParameterAccess)
			return
		case p == nil:
			if op == "AmazonSSM.GetParameter" {
				s.extensionError(w, routePS, Answer{Status: http.StatusBadRequest, Type: "ParameterNotFound"})
				return
			}
			invalidNames = append(invalidNames, ref)
			continue
		}
		n, ok := p.pick(sel)
		if !ok {
			if op == "AmazonSSM.GetParameter" {
				s.extensionError(w, routePS, Answer{Status: http.StatusBadRequest, Type: "ParameterVersionNotFound"})
				return
			}
			invalidNames = append(invalidNames, ref)
			continue
		}
		v := p.versions[n-1]
		value := v.value
		if v.typ == TypeSecureString {
			if !decrypt {
				value = "kms:cloudexttest:" + base64.StdEncoding.EncodeToString([]byte(p.name))
			} else if s.store.noDecrypt[p.name] {
				s.extensionError(w, routePS, InvalidKeyID)
				return
			}
		}
		out := map[string]any{"Name": p.name, "Type": v.typ, "Value": value, "Version": n, "ARN": mwtest.ParameterARN(p.name),
			"LastModifiedDate": float64(v.modified.UnixMilli()) / 1000, "DataType": "text"}
		if sel != "" {
			out["Selector"] = ":" + sel
		}
		params = append(params, out)
	}
	w.Header().Set("Content-Type", routePS.contentType)
	if op == "AmazonSSM.GetParameter" {
		s.writeJSON(w, http.StatusOK, map[string]any{"Parameter": params[0]})
		return
	}
	if params == nil {
		params = []any{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"Parameters": params, "InvalidParameters": invalidNames})
}

// serveAppConfig answers AppConfig.GetConfiguration and AppConfig.GetFlag.
func (s *Server) serveAppConfig(w http.ResponseWriter, r *http.Request, body []byte) {
	op, ok := s.jsonRequest(w, r, routeAC, "AppConfig.GetConfiguration", "AppConfig.GetFlag")
	if !ok {
		return
	}
	var in struct {
		Application   string            `json:"application"`
		Environment   string            `json:"environment"`
		Configuration string            `json:"configuration"`
		Flag          string            `json:"flag"`
		Context       map[string]string `json:"context"`
	}
	if json.Unmarshal(body, &in) != nil {
		s.extensionError(w, routeAC, CannotParse)
		return
	}
	if in.Application == "" || in.Environment == "" || in.Configuration == "" || op == "AppConfig.GetFlag" && in.Flag == "" ||
		len(in.Application) > 64 || len(in.Environment) > 64 || len(in.Configuration) > 128 {
		s.extensionError(w, routeAC, Answer{Status: http.StatusBadRequest, Type: "ValidationException", Reason: "FIELD_VALIDATION_FAILED"})
		return
	}
	s.count(func(st *Stats) { st.Operations[strings.TrimPrefix(op, "AppConfig.")]++ })
	name := in.Application + "/" + in.Environment + "/" + in.Configuration
	if a, f, ok := s.takeInjected([]string{name}); ok {
		s.answerInjected(w, routeAC, a, f)
		return
	}
	if !s.await(w, r, routeAC) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store.denied[name] {
		s.extensionError(w, routeAC, RemoteAccessDenied)
		return
	}
	versions := s.store.configs[configKey{in.Application, in.Environment, in.Configuration}]
	if len(versions) == 0 {
		s.semanticError(w, "configuration", "RESOURCE_NOT_FOUND")
		return
	}
	v := versions[len(versions)-1]
	w.Header().Set("Content-Type", routeAC.contentType)
	if op == "AppConfig.GetConfiguration" {
		s.writeJSON(w, http.StatusOK, map[string]any{"content": base64.StdEncoding.EncodeToString(v.content),
			"contentType": v.contentType, "revision": revision(name, len(versions))})
		return
	}
	if v.flags == nil {
		s.semanticError(w, "flag", "FLAG_UNREADABLE")
		return
	}
	f, ok := v.flags[in.Flag]
	if !ok {
		s.semanticError(w, "flag", "FLAG_NOT_FOUND")
		return
	}
	enabled, variant, attrs := evaluate(f, in.Context)
	out := map[string]any{"enabled": enabled}
	if variant != "" {
		out["variant"] = variant
	}
	if len(attrs) > 0 {
		wire := map[string]any{}
		for k, a := range attrs {
			wire[k] = attributeWire(a)
		}
		out["attributes"] = wire
	}
	s.writeJSON(w, http.StatusOK, out)
}

// attributeWire is a FlagAttributeValue: one member set, by the value's
// type. The list members' names are this fake's choice (stringList,
// numberList): AWS does not document them.
func attributeWire(v any) map[string]any {
	switch x := v.(type) {
	case string:
		return map[string]any{"string": x}
	case bool:
		return map[string]any{"boolean": x}
	case float64:
		return map[string]any{"number": x}
	case int:
		return map[string]any{"number": float64(x)}
	case []string:
		return map[string]any{"stringList": x}
	case []float64:
		return map[string]any{"numberList": x}
	}
	panic("cloudexttest: a flag attribute of a type AppConfig has not: want string, float64, bool, []string or []float64")
}

// revision is the fake's revision of a profile's version n: a value that
// changes whenever the served content does.
func revision(name string, n int) string {
	sum := sha256.Sum256([]byte(name + "#" + strconv.Itoa(n)))
	return hex.EncodeToString(sum[:8])
}
