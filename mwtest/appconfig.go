package mwtest

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The AppConfig dialect: the AWS AppConfig Agent Lambda extension
// (docs.aws.amazon.com/appconfig/latest/userguide, "Retrieving configuration
// data", "Retrieving basic and multi-variant feature flags"). What no AWS
// source states is marked
// UNVERIFIED below, with the choice the fake makes.

// PutConfiguration deploys a new version of a freeform configuration
// profile (AWS.Freeform) to an environment of an application, and returns
// its version number (1, 2, ...), which the fake answers as
// Configuration-Version. The fake serves the latest version it was given,
// with contentType as Content-Type ("application/json" when empty). content
// is copied. It panics on an empty name, or on a profile already holding
// feature flags.
func (e *Extension) PutConfiguration(application, environment, profile, contentType string, content []byte) int {
	if contentType == "" {
		contentType = appJSON
	}
	k := configKey{application, environment, profile}
	b := append([]byte(nil), content...)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.putConfiguration(k, TypeFreeform, contentType, b, nil)
}

// PutFeatureFlags deploys a new version of an AWS.AppConfig.FeatureFlags
// profile, and returns its version number. The fake serves it as the
// extension does: a JSON object of each flag's key to {"enabled": ...},
// with the flag's attributes beside "enabled" while it is enabled, such as
// {"new-checkout":{"enabled":true,"limit":5}}; for a multi-variant flag,
// the variant the request's Context headers choose (Variant.When), else
// its default variant, with the variant's name in "_variant". It panics on
// a flag AppConfig would refuse (a key off its pattern, a multi-variant
// flag without a default variant), or on a freeform profile; flags is
// copied.
func (e *Extension) PutFeatureFlags(application, environment, profile string, flags map[string]Flag) int {
	k := configKey{application, environment, profile}
	body, kept := flagsBody(k.name(), flags)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.putConfiguration(k, TypeFeatureFlags, appJSON, body, kept)
}

// DenyConfiguration makes requests for a profile in an environment fail as
// they do when the function's role may not call
// appconfig:StartConfigurationSession on it: HTTP 403, whether or not it
// exists.
func (e *Extension) DenyConfiguration(application, environment, profile string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := configKey{application, environment, profile}
	e.store.deniedConfigs[k] = true
	e.store.name(k.name())
}

// oversizeConfiguration is the size of the body FaultMalformed answers in
// the AppConfig dialect: one byte more than 4 MiB, more than the 4 MB a
// configuration in AppConfig's hosted store may hold at most (2 MB for the
// other stores; "Understanding configuration store quotas and
// limitations").
const oversizeConfiguration = 4<<20 + 1

// oversize is a JSON body of oversizeConfiguration bytes.
func oversize() string { return "[" + strings.Repeat(" ", oversizeConfiguration-2) + "]" }

// The wire of the AppConfig dialect.
const (
	applicationsPrefix = "/applications/"
	// configurationVersionHeader carries the version served.
	configurationVersionHeader = "Configuration-Version"
	// msgConfigurationNotFound is the 404's message, from the answer that
	// Powertools for AWS Lambda (TypeScript) mocks in its unit test of the
	// agent (packages/parameters/tests/unit/getConfig.test.ts); its
	// end-to-end test meets a 404 for a missing profile against the real
	// extension. The fake answers it for a missing application,
	// environment or profile, and for an unknown path.
	msgConfigurationNotFound = "Unrecognized or malformed path"
)

func (e *Extension) serveAppConfig(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		e.reply(w, http.StatusMethodNotAllowed, textPlain, "method not allowed")
		return
	}
	k, ok := parseConfigPath(r.URL.EscapedPath())
	if !ok {
		e.appConfigFail(w, &failure{code: codeResourceNotFound, msg: msgConfigurationNotFound})
		return
	}
	if !e.admit(w, r, k.name(), false) {
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		e.appConfigFail(w, &failure{code: codeBadRequest, msg: "malformed query"})
		return
	}
	e.mu.Lock()
	p, version, f := e.store.getConfiguration(k)
	var v configVersion
	if f == nil {
		v = p.versions[version-1]
	}
	e.mu.Unlock()
	if f != nil {
		e.appConfigFail(w, f)
		return
	}
	var evalCtx map[string]string
	if v.flags != nil {
		if evalCtx, ok = parseContext(r.Header.Values(contextHeader)); !ok {
			e.appConfigFail(w, &failure{code: codeBadRequest, msg: msgMalformedContext})
			return
		}
	}
	switch {
	case q.Has("flag"):
		e.serveFlags(w, k, version, v, q["flag"], evalCtx)
	case len(evalCtx) > 0:
		w.Header().Set(configurationVersionHeader, strconv.Itoa(version))
		e.serve(w, k.name(), v.contentType, renderFlags(v.flags, slices.Sorted(maps.Keys(v.flags)), evalCtx))
	default:
		w.Header().Set(configurationVersionHeader, strconv.Itoa(version))
		e.serve(w, k.name(), v.contentType, string(v.content))
	}
}

// contextHeader carries a caller's context, key=value, for a multi-variant
// flag's rules: "Multiple context values may be passed either across
// multiple headers or as comma-separated values in a single header"
// ("Using AWS AppConfig Agent to retrieve a feature flag with variants").
const contextHeader = "Context"

// msgMalformedContext is the fake's 400 for a Context entry without '='
// or with an empty key. UNVERIFIED: what the extension answers then.
const msgMalformedContext = "malformed Context header: want key=value"

// parseContext reads the Context headers: key=value entries, one a header
// or several, comma-separated, in one, spaces around them and around '='
// trimmed. A later entry of a key overrides an earlier one (UNVERIFIED). It
// reports false for an entry without '=' or with an empty key.
func parseContext(headers []string) (map[string]string, bool) {
	var evalCtx map[string]string
	for _, h := range headers {
		for entry := range strings.SplitSeq(h, ",") {
			if strings.TrimSpace(entry) == "" {
				continue
			}
			k, v, ok := strings.Cut(entry, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, false
			}
			if evalCtx == nil {
				evalCtx = map[string]string{}
			}
			evalCtx[k] = strings.TrimSpace(v)
		}
	}
	return evalCtx, true
}

// msgFlagNotFound is the fake's 404 for a flag key the profile lacks.
const msgFlagNotFound = "Unrecognized flag key"

// serveFlags answers the flag query, ?flag=a&flag=b, which the extension
// serves from version 2.0.45 on ("Retrieving basic and multi-variant
// feature flags"), each flag as served for evalCtx. AWS's pages show no
// answer to it; what the fake answers follows two open-source clients
// whose tests run against AWS's agent container image: for one flag, its
// object alone, {"enabled":true,"limit":5}; for several, an object of each
// key asked for to its object, in the order asked; and an error when a key
// is not in the profile. UNVERIFIED: that error's status and body (the
// fake answers 404 {"Message":"Unrecognized flag key"}), and what a
// freeform profile gets (the fake answers 400 BadRequestException).
func (e *Extension) serveFlags(w http.ResponseWriter, k configKey, version int, v configVersion, asked []string, evalCtx map[string]string) {
	if v.flags == nil {
		e.appConfigFail(w, &failure{code: codeBadRequest, msg: "the flag query needs a profile of type " + TypeFeatureFlags})
		return
	}
	var keys []string
	for _, key := range asked {
		if _, ok := v.flags[key]; !ok {
			e.appConfigFail(w, &failure{code: codeResourceNotFound, msg: msgFlagNotFound})
			return
		}
		if !slices.Contains(keys, key) {
			keys = append(keys, key)
		}
	}
	body := renderFlags(v.flags, keys, evalCtx)
	if len(keys) == 1 {
		body = v.flags[keys[0]].served(evalCtx)
	}
	w.Header().Set(configurationVersionHeader, strconv.Itoa(version))
	e.serve(w, k.name(), appJSON, body)
}

// parseConfigPath reads
// /applications/{application}/environments/{environment}/configurations/{profile},
// each segment percent-decoded on its own, so that %2F is a '/' inside a
// name ("Retrieving configuration data": a name with a slash must be URL
// encoded).
func parseConfigPath(escaped string) (configKey, bool) {
	parts := strings.Split(escaped, "/")
	if len(parts) != 7 || parts[0] != "" || parts[1] != "applications" || parts[3] != "environments" || parts[5] != "configurations" {
		return configKey{}, false
	}
	var seg [3]string
	for i, raw := range []string{parts[2], parts[4], parts[6]} {
		s, err := url.PathUnescape(raw)
		if err != nil || s == "" {
			return configKey{}, false
		}
		seg[i] = s
	}
	return configKey{seg[0], seg[1], seg[2]}, true
}

// appConfigFail answers a failure as the extension does, with the status
// of the AppConfig error behind it, and a JSON body. UNVERIFIED but for the
// 404: the statuses and bodies of the extension's other errors. The fake
// passes AppConfig's own statuses on (AccessDenied 403, BadRequest 400,
// Throttling 429, InternalServer 500) with a body of the 404's shape.
func (e *Extension) appConfigFail(w http.ResponseWriter, f *failure) {
	e.count(func(s *Stats) { s.ByError[f.code]++ })
	e.replyAWS(w, appConfigStatus(f.code), f.code, f.msg)
}

// appConfigStatus is the HTTP status of an AWS error code in the AppConfig
// dialect.
func appConfigStatus(code string) int {
	switch code {
	case codeResourceNotFound:
		return http.StatusNotFound
	case codeAccessDenied:
		return http.StatusForbidden
	case codeThrottling:
		return http.StatusTooManyRequests
	case codeInternalFailure:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// appConfigError is the JSON body of an error answer in the AppConfig
// dialect: {"Message": ..., "ResourceType": "Configuration"} for a missing
// configuration, as Powertools mocks it; {"Message": ...} otherwise.
func appConfigError(code, msg string) string {
	if code == codeResourceNotFound && msg == msgConfigurationNotFound {
		return mustJSON(struct {
			Message      string `json:"Message"`
			ResourceType string `json:"ResourceType"`
		}{msg, "Configuration"})
	}
	return mustJSON(struct {
		Message string `json:"Message"`
	}{msg})
}

// awaitFirstFetch holds a request to a fake in the AppConfig dialect that
// is not ready until it is, as the extension holds a request for data it
// has not yet fetched while it calls AppConfig ("Understanding how the AWS
// AppConfig Agent Lambda extension works": "If the data isn't in the cache,
// the extension calls AWS AppConfig to get the configuration data"). It
// reports whether the request should go on; if not, it has been answered
// already or its client is gone.
// While held, it counts as hanging, for WaitHanging.
func (e *Extension) awaitFirstFetch(w http.ResponseWriter, r *http.Request) bool {
	held := false
	defer func() {
		if held {
			e.mu.Lock()
			e.hanging--
			e.mu.Unlock()
		}
	}()
	for {
		e.mu.Lock()
		ready, changed := e.ready, e.readyChanged
		if !ready && !held {
			held = true
			e.stats.NotReady++
			e.hanging++
			close(e.hangChanged)
			e.hangChanged = make(chan struct{})
		}
		e.mu.Unlock()
		if ready {
			return true
		}
		if !await(e, w, r, changed) {
			return false
		}
	}
}
