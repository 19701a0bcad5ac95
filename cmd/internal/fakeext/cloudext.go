package fakeext

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/mwtest"
)

// The Cloud Extensions runtime, as the commands serve it: cloudexttest's
// fake, filled from the values file, with the runtime's startup.

// CloudExtPort is the Cloud Extensions runtime's port: every page of
// AWS's Cloud Extensions User Guide uses it, and cloudext.New calls
// http://localhost:5333 by default.
const CloudExtPort = 5333

// Runtime is cloudexttest's fake of the AWS Systems Manager Cloud
// Extensions runtime as a Fake and a Store. Not ready, it answers every
// request 503 ServiceUnavailableException, reason PROFILE_LOADING; told
// it stays not ready a while longer (Startup's NotReadyFor), it answers
// EXTENSION_LOADING for the second half of that while, as the runtime
// loads its profile, then its extensions; NotReadyFor(n) answers the next
// n requests EXTENSION_LOADING. It serves its counters (RuntimeStats) at
// /_mw/stats.
type Runtime struct {
	*cloudexttest.Server

	mu          sync.Mutex
	serving     bool
	served      map[string]int64 // answers that carried an item's value, by name
	unavailable map[string]int64 // 503 answers, by reason

	after func(time.Duration, func()) // time.AfterFunc, but in tests
}

var (
	_ Fake  = (*Runtime)(nil)
	_ Store = (*Runtime)(nil)
)

// NewRuntime returns a Runtime that serves, with no values, checking
// requests as auth says (cloudexttest's Auth: runtime credentials, an
// extension key, or none).
func NewRuntime(auth cloudexttest.Auth) *Runtime {
	return &Runtime{
		Server:      cloudexttest.New(cloudexttest.Settings{Auth: auth}),
		serving:     true,
		served:      map[string]int64{},
		unavailable: map[string]int64{},
		after:       func(d time.Duration, f func()) { time.AfterFunc(d, f) },
	}
}

// SetReady makes the runtime serve, or load its profile (503
// PROFILE_LOADING).
func (r *Runtime) SetReady(ready bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serving = ready
	if ready {
		r.SetLoading(cloudexttest.PhaseServing)
	} else {
		r.SetLoading(cloudexttest.PhaseProfileLoading)
	}
}

// NotReadyFor makes the runtime serve, answering its next n requests
// that pass its checks 503 EXTENSION_LOADING.
func (r *Runtime) NotReadyFor(n int) {
	r.Inject("", cloudexttest.ExtensionLoading, n)
	r.SetReady(true)
}

// Loading is told that the runtime stays not ready d longer: it loads its
// profile for the first half of d, and its extensions for the second
// (503 EXTENSION_LOADING), unless it serves by then.
func (r *Runtime) Loading(d time.Duration) {
	r.after(d/2, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.serving {
			r.SetLoading(cloudexttest.PhaseExtensionLoading)
		}
	})
}

// PutFeatureFlags deploys a feature flag profile, as cloudexttest's
// PutFlags does, from mwtest's flags: a list attribute is a list of
// strings or of numbers.
func (r *Runtime) PutFeatureFlags(application, environment, profile string, flags map[string]mwtest.Flag) int {
	out := make(map[string]cloudexttest.Flag, len(flags))
	for key, f := range flags {
		attrs := make(map[string]any, len(f.Attributes))
		for k, v := range f.Attributes {
			attrs[k] = flagAttribute(v)
		}
		out[key] = cloudexttest.Flag{Enabled: f.Enabled, Attributes: attrs}
	}
	return r.PutFlags(application, environment, profile, out)
}

// flagAttribute turns a JSON array of strings or of numbers into the
// typed list cloudexttest takes; any other value is returned as it is.
func flagAttribute(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	if len(list) > 0 {
		if _, num := list[0].(float64); num {
			nums := make([]float64, len(list))
			for i, e := range list {
				nums[i], _ = e.(float64)
			}
			return nums
		}
	}
	strs := make([]string, len(list))
	for i, e := range list {
		strs[i], _ = e.(string)
	}
	return strs
}

// RuntimeStats are a Runtime's counters: cloudexttest's, the answers
// that carried an item's value by name, and the 503 answers by reason.
// Names and counts, never a value.
type RuntimeStats struct {
	Requests int64 `json:"requests"` // every request but /_mw/stats
	// Operations counts the requests past the runtime's checks, by
	// operation: GetSecretValue, GetParameters, GetConfiguration, GetFlag.
	Operations map[string]int64 `json:"operations"`
	// Served counts the answers that carried an item's value, by the
	// item's name: a secret's or a parameter's, a configuration's
	// application/environment/profile. A request answered 503 fetched
	// nothing; one GetParameters may serve several parameters.
	Served map[string]int64 `json:"served"`
	// Unavailable counts the 503 ServiceUnavailableException answers, by
	// reason: PROFILE_LOADING, EXTENSION_LOADING, RUNTIME_SHUTTING_DOWN.
	Unavailable  map[string]int64 `json:"unavailable"`
	AuthRefused  int64            `json:"authRefused"` // refused for their signature
	Unsigned     int64            `json:"unsigned"`
	SSRFRefused  int64            `json:"ssrfRefused"`
	ForwardedFor int64            `json:"forwardedFor"`
	RefreshNow   int64            `json:"refreshNow"`
	WithRole     int64            `json:"withRole"`
}

// Counters returns the runtime's RuntimeStats.
func (r *Runtime) Counters() any {
	st := r.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	return RuntimeStats{
		Requests: st.Requests, Operations: st.Operations, Served: maps.Clone(r.served), Unavailable: maps.Clone(r.unavailable),
		AuthRefused: st.AuthRefused, Unsigned: st.Unsigned, SSRFRefused: st.SSRFRefused, ForwardedFor: st.ForwardedFor,
		RefreshNow: st.RefreshNow, WithRole: st.WithRole,
	}
}

// ServeHTTP answers GET /_mw/stats with the counters (not counted), and
// any other request as the runtime, counting what its answer says: the
// items it served, or the reason it could not.
func (r *Runtime) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == mwtest.StatsPath && req.Method == http.MethodGet {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r.Counters())
		return
	}
	in, _ := io.ReadAll(io.LimitReader(req.Body, maxRequestBody))
	req.Body = io.NopCloser(bytes.NewReader(in))
	rw := &answerWriter{statusWriter: statusWriter{ResponseWriter: w}}
	r.Server.ServeHTTP(rw, req)
	switch rw.status {
	case http.StatusServiceUnavailable:
		var body struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(rw.body.Bytes(), &body) // the fake's own answer: a reason it documents
		r.mu.Lock()
		defer r.mu.Unlock()
		r.unavailable[body.Reason]++
	case http.StatusOK:
		names := servedNames(req, in, rw.body.Bytes())
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, n := range names {
			r.served[n]++
		}
	}
}

// maxRequestBody is as much of a request's body as the fake reads.
const maxRequestBody = 1 << 20

// servedNames returns the names of the items a successful answer carried:
// the Name of a secret or of each parameter it holds, or the
// configuration a GetConfiguration asked for. A GetFlag serves no item.
// Only names are decoded from the answer.
func servedNames(req *http.Request, in, out []byte) []string {
	switch req.URL.Path {
	case cloudexttest.RouteSecretsManager:
		var sec struct{ Name string }
		if json.Unmarshal(out, &sec) == nil && sec.Name != "" {
			return []string{sec.Name}
		}
	case cloudexttest.RouteAppConfig, strings.TrimSuffix(cloudexttest.RouteAppConfig, "/"):
		var cfg struct{ Application, Environment, Configuration string }
		if req.Header.Get("X-Amz-Target") == "AppConfig.GetConfiguration" && json.Unmarshal(in, &cfg) == nil {
			return []string{cfg.Application + "/" + cfg.Environment + "/" + cfg.Configuration}
		}
	default:
		type named struct{ Name string }
		var params struct {
			Parameter  *named
			Parameters []named
		}
		if json.Unmarshal(out, &params) != nil {
			return nil
		}
		var names []string
		if params.Parameter != nil {
			names = append(names, params.Parameter.Name)
		}
		for _, p := range params.Parameters {
			names = append(names, p.Name)
		}
		return names
	}
	return nil
}

// answerWriter keeps the status and the body of an answer: a 503 for the
// reason it gives, a 200 for the names of the items it carried. The body
// is read for those, and dropped with the writer.
type answerWriter struct {
	statusWriter
	body bytes.Buffer
}

func (w *answerWriter) Write(b []byte) (int, error) {
	n, err := w.statusWriter.Write(b)
	if w.status == http.StatusOK || w.status == http.StatusServiceUnavailable {
		w.body.Write(b)
	}
	return n, err
}
