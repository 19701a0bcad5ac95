package mwtest_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/lambda-mw/mw/mwtest"
)

var dialects = []mwtest.Dialect{mwtest.Managed, mwtest.Agent}

// A client without the token cannot grow the counters: whatever paths and
// names it sends, the maps keep a fixed set of keys.
func TestStatsBoundedWithoutToken(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			const n = 100
			for i := range n {
				s := strconv.Itoa(i)
				get(t, srv, "/unknown/"+s+"?name=x"+s, nil)
				get(t, srv, paramPath("/p"+s), nil)
				get(t, srv, secretPath("s"+s), nil)
				get(t, srv, "/v1/s"+s, nil)
			}
			st := e.Stats()
			if st.Total != 4*n {
				t.Errorf("Total = %d, want %d", st.Total, 4*n)
			}
			if len(st.ByPath) > 6 || len(st.ByName) != 0 || len(st.ByError) != 0 || len(st.ByStatus) > 3 {
				t.Errorf("counters grew with requests without a token: %d paths, %d names, %d errors, %d statuses",
					len(st.ByPath), len(st.ByName), len(st.ByError), len(st.ByStatus))
			}
			if st.ByPath["other"] != n {
				t.Errorf(`ByPath["other"] = %d, want %d (every unknown path in one bucket)`, st.ByPath["other"], n)
			}
		})
	}
}

// Known routes keep their own keys, with or without a token.
func TestStatsByPathRoutes(t *testing.T) {
	e, srv := mwtest.Start(t, mwtest.Agent)
	e.PutSecret("s", "v")
	get(t, srv, "/ping", nil)
	get(t, srv, "/start_serving", nil)
	get(t, srv, secretPath("s"), withToken)
	get(t, srv, "/v1/s", withToken)
	get(t, srv, "/v1/t", nil)
	get(t, srv, "/systemsmanager/parameters/get?name=p", withToken)
	get(t, srv, "/nope", withToken)
	want := map[string]int64{"/ping": 1, "/start_serving": 1, "/secretsmanager/get": 1, "/v1/": 2, "/systemsmanager/parameters/get": 1, "other": 1}
	got := e.Stats().ByPath
	if len(got) != len(want) {
		t.Errorf("ByPath = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ByPath[%q] = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if r := get(t, srv, "/nope", withToken); r.status != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.status)
	}
}

// Served counts, by name, only the answers that carried the value: not an
// attempt answered "not ready", a fault or an error, which Fetches counts.
func TestServedCountsAnswersThatCarriedTheValue(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			e.PutSecret("s", "v")
			e.NotReadyFor(2)
			for range 3 { // two INIT answers, then the value
				get(t, srv, secretPath("s"), withToken)
			}
			e.SetFaults(mwtest.Faults{ServerError: 1})
			get(t, srv, secretPath("s"), withToken)
			e.SetFaults(mwtest.Faults{})
			get(t, srv, secretPath("s", "&versionStage=NOPE"), withToken)
			get(t, srv, secretPath("missing"), withToken)
			get(t, srv, secretPath("s"), withToken)

			if e.Fetches("s") != 6 || e.Served("s") != 2 || e.Served("missing") != 0 {
				t.Errorf("Fetches %d, Served %d (missing: %d); want 6, 2, 0", e.Fetches("s"), e.Served("s"), e.Served("missing"))
			}
			st := decode[mwtest.Stats](t, get(t, srv, mwtest.StatsPath, nil))
			if len(st.Served) != 1 || st.Served["s"] != 2 {
				t.Errorf("stats served = %v, want map[s:2]", st.Served)
			}
		})
	}
	e, srv := mwtest.Start(t, mwtest.Managed)
	e.PutParameter("/p", mwtest.TypeSecureString, "v")
	e.NotReadyFor(1)
	get(t, srv, paramPath("/p", "&withDecryption=true"), withToken)
	get(t, srv, paramPath("/p", "&withDecryption=true"), withToken)
	get(t, srv, paramPath("/p", "&version=9"), withToken)
	if e.Fetches("/p") != 3 || e.Served("/p") != 1 {
		t.Errorf("parameter: Fetches %d, Served %d; want 3, 1", e.Fetches("/p"), e.Served("/p"))
	}
	e.Reset()
	if e.Served("/p") != 0 {
		t.Error("Reset kept Served")
	}
}
