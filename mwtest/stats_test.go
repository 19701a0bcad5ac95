package mwtest_test

import (
	"net/http"
	"strconv"
	"strings"
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

// A client that names what does not exist, in any dialect and with no
// token at all, cannot grow the counters or the stats answer: per-name
// counts keep the names the fake holds, a bounded few others, and count
// the rest in one key. Long names, unknown names and other spellings of a
// held name (an ARN with a made-up region, a made-up label) all try.
func TestStatsBoundedForUnknownNames(t *testing.T) {
	const n = 400
	long := strings.Repeat("x", 4<<10)
	for _, d := range []mwtest.Dialect{mwtest.Managed, mwtest.Agent, mwtest.AppConfig} {
		t.Run(d.String(), func(t *testing.T) {
			e, srv := mwtest.Start(t, d)
			e.SetToken("") // anyone may ask, as the AppConfig extension lets them
			var known, knownPath string
			var flood func(i int) []string
			switch d {
			case mwtest.Managed:
				e.PutParameter("/p", mwtest.TypeString, "v")
				known, knownPath = "/p", paramPath("/p")
				flood = func(i int) []string {
					s := strconv.Itoa(i) + long
					return []string{paramPath("/" + s), secretPath(s), paramPath("/p:" + s),
						paramPath("arn:aws:ssm:" + s + ":" + mwtest.AccountID + ":parameter/p")}
				}
			case mwtest.Agent:
				e.PutSecret("s", "v")
				known, knownPath = "s", secretPath("s")
				flood = func(i int) []string {
					s := strconv.Itoa(i) + long
					return []string{secretPath(s), "/v1/" + s, secretPath("arn:aws:secretsmanager:" + s + ":" + mwtest.AccountID + ":secret:s")}
				}
			default:
				e.PutConfiguration("a", "e", "p", "", []byte("{}"))
				known, knownPath = "a/e/p", configPath("a", "e", "p")
				flood = func(i int) []string {
					s := strconv.Itoa(i) + long
					return []string{configPath(s, "e", "p"), configPath("a", s, "p")}
				}
			}
			sent := 0
			short := func(i int) string { return "missing-" + strconv.Itoa(i) }
			for i := range n {
				for _, p := range flood(i) {
					get(t, srv, p, nil)
					sent++
				}
				if d == mwtest.AppConfig {
					get(t, srv, configPath("a", "e", short(i)), nil)
				} else {
					get(t, srv, secretPath(short(i)), nil)
				}
				sent++
			}
			get(t, srv, knownPath, nil)

			r := get(t, srv, mwtest.StatsPath, nil)
			if len(r.body) > 1<<20 {
				t.Fatalf("after %d requests with names of %d bytes, /_mw/stats answers %d bytes", sent, len(long), len(r.body))
			}
			st := decode[mwtest.Stats](t, r)
			if len(st.ByName) > 200 || len(st.Served) > 200 {
				t.Errorf("%d requests grew ByName to %d keys and Served to %d", sent, len(st.ByName), len(st.Served))
			}
			var sum int64
			for _, c := range st.ByName {
				sum += c
			}
			if sum != st.Fetches || st.Fetches != int64(sent+1) {
				t.Errorf("ByName counts %d, Fetches %d; want every one of the %d value requests counted", sum, st.Fetches, sent+1)
			}
			first := short(0)
			if d == mwtest.AppConfig {
				first = "a/e/" + first
			}
			if e.Fetches(first) != 1 {
				t.Errorf("the first unknown name, %q, lost its key: Fetches %d", first, e.Fetches(first))
			}
			if e.Fetches(known) != 1 || e.Served(known) != 1 {
				t.Errorf("held item %q: Fetches %d, Served %d; want 1, 1", known, e.Fetches(known), e.Served(known))
			}
		})
	}
}
