package mwtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda-mw/mw"
)

// A Backend is what a Source under test reads from, as the conformance
// suite fills it and acts out its faults. *Extension is one; a source over
// AWS's APIs can be tested with a backend over a local AWS emulator.
// Version ids and versions are the backend's, as PutSecret and PutParameter
// return them.
type Backend interface {
	PutParameter(name, typ, value string) int64
	LabelParameter(name string, version int64, labels ...string)
	PutSecret(id, value string) string
	PutSecretBinary(id string, value []byte) string
	StageSecret(id, versionID string, stages ...string)
	// Deny makes reads of the item fail for a missing permission, and
	// DenyDecrypt for a KMS key the reader may not use.
	Deny(name string)
	DenyDecrypt(name string)
	// FailNext makes the next n requests for name meet f. For an
	// AppConfig profile, name is application/environment/profile.
	FailNext(name string, f Fault, n int)
	// SetLatency delays every answer by d.
	SetLatency(d time.Duration)
}

// An AppConfigBackend is a Backend that also holds AWS AppConfig
// configurations: what a source of AppConfig profiles reads. *Extension is
// one. The conformance suite needs it for a source that serves
// mw.KindAppConfig.
type AppConfigBackend interface {
	Backend
	// PutConfiguration deploys a new version of a freeform profile to an
	// environment, and returns its version number; the latest is served.
	PutConfiguration(application, environment, profile, contentType string, content []byte) int
	// DenyConfiguration makes reads of a profile fail for a missing
	// permission.
	DenyConfiguration(application, environment, profile string)
}

// A RoleBackend is a Backend that also holds what other IAM roles read:
// what a source that serves mw.Item.RoleARN reads as a role. *Extension is
// one, as cloudexttest.Server is. The conformance suite needs it for a
// source whose Plan serves a secret read as a role; for one that also
// serves parameters read as a role, the backend must also have a method
// PutRoleParameter(role, name, typ, value string) int64, as *Extension
// has.
type RoleBackend interface {
	Backend
	// PutRoleSecret stores a new version of secret id as role reads it,
	// and returns its version id; the version it replaces becomes
	// AWSPREVIOUS. A role is one the source can take on once it was given
	// a value; any other is one it cannot. The suite's roles are of
	// accounts other than the backend's own, one account each, so that a
	// backend may keep values by account, as AWS does.
	PutRoleSecret(role, id, value string) string
}

// roleParameterBackend is a RoleBackend that also holds parameters as a
// role reads them.
type roleParameterBackend interface {
	PutRoleParameter(role, name, typ, value string) int64
}

// The roles the suite reads items as: two the backend is given values for,
// and one it is not.
const (
	conformanceRoleA       = "arn:aws:iam::111111111111:role/mwtest-a"
	conformanceRoleB       = "arn:aws:iam::222222222222:role/mwtest-b"
	conformanceRoleUnknown = "arn:aws:iam::333333333333:role/mwtest-unknown"
)

// conformanceCanary starts every value the suite stores: no error may hold
// it.
const conformanceCanary = "mwtest-canary-"

// TestSource runs the conformance suite of mw.Source over the source that
// newSource returns with the backend it reads, one pair per subtest: a test
// of each behaviour mw relies on (its name and plans; values of every type
// at every version; batches; not-found, access denied, KMS, throttling,
// server errors and unusable answers, each classified; refreshes;
// concurrency; cancellation; items read as another role; and no value in
// any error), for every kind of item the source serves, that is whose Plan
// does not return an error wrapping mw.ErrNotServed. Kinds it does not
// serve are reported as skipped. A source that serves AppConfig profiles
// needs a backend that is an AppConfigBackend; one that serves items read
// as a role (mw.RoleARN), a RoleBackend. A source that serves a kind but
// cannot read it as a role must refuse such an item in Plan, with a reason
// that names the item and its role, and the suite checks that it does.
//
// A source that cannot tell a missing item from a missing permission (the
// managed extension answers both with one generic HTTP 400) must report
// such answers as mw.ClassRejected with NotReady set; any other source
// must report each precisely.
//
//	func TestConformance(t *testing.T) {
//		mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
//			be := newMyBackend(t)
//			return mysource.New(be.Config()), be
//		})
//	}
func TestSource(t *testing.T, newSource func(t *testing.T) (mw.Source, Backend)) {
	suite := map[string]func(*testing.T, conformance){
		"Name":             testName,
		"Plan":             testPlan,
		"Parameters":       testParameters,
		"Secrets":          testSecrets,
		"ParametersByPath": testPaths,
		"AppConfig":        testAppConfig,
		"Batch":            testBatch,
		"NotFound":         testNotFound,
		"AccessDenied":     testAccessDenied,
		"Decrypt":          testDecrypt,
		"Throttled":        testThrottled,
		"ServerError":      testServerError,
		"Malformed":        testMalformed,
		"Refresh":          testRefresh,
		"Roles":            testRoles,
		"Concurrency":      testConcurrency,
		"Cancellation":     testCancellation,
	}
	for _, name := range slices.Sorted(maps.Keys(suite)) {
		t.Run(name, func(t *testing.T) {
			src, be := newSource(t)
			suite[name](t, conformance{t: t, src: src, be: be})
		})
	}
}

// conformance is one subtest's source and backend.
type conformance struct {
	t   *testing.T
	src mw.Source
	be  Backend
}

// serves reports whether the source serves items of kind k: it neither
// leaves them to another source nor refuses them.
func (c conformance) serves(k mw.Kind) bool {
	_, err := c.src.Plan(probeItem(k, "probe"))
	return err == nil
}

// need skips the subtest unless the source serves items of kind k.
func (c conformance) need(k mw.Kind) {
	c.t.Helper()
	if !c.serves(k) {
		c.t.Skipf("the %s source serves no %s items", c.src.Name(), k)
	}
}

// fetch asks for items, in calls as their plans group them, and returns
// their results in order. It checks what every call must do: one result
// per item, and no value in an error.
func (c conformance) fetch(ctx context.Context, items ...mw.Item) []mw.Result {
	c.t.Helper()
	out := make([]mw.Result, len(items))
	type call struct {
		op  string
		pos []int
	}
	var calls []*call
	open := map[string]*call{}
	for i, it := range items {
		p, err := c.src.Plan(it)
		if err != nil {
			c.t.Fatalf("Plan(%s): %v", it, err)
		}
		cl := open[p.Op]
		if cl == nil || len(cl.pos) >= max(p.Batch, 1) {
			cl = &call{op: p.Op}
			open[p.Op] = cl
			calls = append(calls, cl)
		}
		cl.pos = append(cl.pos, i)
	}
	for _, cl := range calls {
		batch := make([]mw.Item, len(cl.pos))
		for j, i := range cl.pos {
			batch[j] = items[i]
		}
		res := c.src.Fetch(ctx, cl.op, batch)
		if len(res) != len(batch) {
			c.t.Fatalf("Fetch(%s) of %d items returned %d results", cl.op, len(batch), len(res))
		}
		for j, i := range cl.pos {
			out[i] = res[j]
			c.noValueIn(res[j].Err)
		}
	}
	return out
}

// noValueIn fails the test if err, printed any way, holds a value.
func (c conformance) noValueIn(err error) {
	c.t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, conformanceCanary) {
			c.t.Fatalf("an error holds a value: %s", s)
		}
	}
}

// value fetches one item and wants v.
func (c conformance) value(it mw.Item, want string) {
	c.t.Helper()
	c.values([]mw.Item{it}, want)
}

// values fetches items, in calls as their plans group them, and wants
// each the value at its position in want.
func (c conformance) values(items []mw.Item, want ...string) {
	c.t.Helper()
	res := c.fetch(c.ctx(), items...)
	for i, w := range want {
		if res[i].Err != nil || res[i].Value != w {
			c.t.Errorf("%s: %q, %v; want %q", items[i], res[i].Value, res[i].Err, w)
		}
	}
}

// failure fetches one item and returns its SourceError.
func (c conformance) failure(it mw.Item) *mw.SourceError {
	c.t.Helper()
	r := c.fetch(c.ctx(), it)[0]
	var se *mw.SourceError
	if r.Value != "" || !errors.As(r.Err, &se) {
		c.t.Fatalf("%s: value %q, error %v; want a *mw.SourceError and no value", it, r.Value, r.Err)
	}
	return se
}

func (c conformance) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c.t.Cleanup(cancel)
	return ctx
}

// opaque reports whether the source answers a missing item with the
// managed extension's generic 400, which cannot tell it from the others.
func (c conformance) opaque(k mw.Kind) bool {
	c.t.Helper()
	se := c.failure(probeItem(k, "never-stored"))
	return se.Class == mw.ClassRejected && se.NotReady
}

// The application and environment of the AppConfig profiles the suite
// stores.
const (
	conformanceApplication = "mwtest"
	conformanceEnvironment = "conformance"
)

// probeItem is an item of kind k named for name, in the suite's
// application and environment for an AppConfig profile.
func probeItem(k mw.Kind, name string) mw.Item {
	it := mw.Item{Kind: k, Name: probeName(k, name)}
	if k == mw.KindAppConfig {
		it.Application, it.Environment = conformanceApplication, conformanceEnvironment
	}
	return it
}

// appConfig returns the backend as an AppConfigBackend, or fails the test.
func (c conformance) appConfig() AppConfigBackend {
	c.t.Helper()
	be, ok := c.be.(AppConfigBackend)
	if !ok {
		c.t.Fatalf("the %s source serves AppConfig profiles, but its backend %T is no mwtest.AppConfigBackend", c.src.Name(), c.be)
	}
	return be
}

// put stores value as it's new value (a new version) in the backend.
func (c conformance) put(it mw.Item, value string) {
	c.t.Helper()
	switch it.Kind {
	case mw.KindParameter:
		c.be.PutParameter(it.Name, TypeSecureString, value)
	case mw.KindSecret:
		c.be.PutSecret(it.Name, value)
	case mw.KindAppConfig:
		c.appConfig().PutConfiguration(it.Application, it.Environment, it.Name, "application/octet-stream", []byte(value))
	}
}

// deny makes reads of it fail for a missing permission.
func (c conformance) deny(it mw.Item) {
	c.t.Helper()
	if it.Kind == mw.KindAppConfig {
		c.appConfig().DenyConfiguration(it.Application, it.Environment, it.Name)
		return
	}
	c.be.Deny(it.Name)
}

// failNext makes the next n requests for it meet f.
func (c conformance) failNext(it mw.Item, f Fault, n int) {
	name := it.Name
	if it.Kind == mw.KindAppConfig {
		name = it.Application + "/" + it.Environment + "/" + it.Name
	}
	c.be.FailNext(name, f, n)
}

func probeName(k mw.Kind, name string) string {
	if k == mw.KindParameter || k == mw.KindParametersByPath {
		return "/mwtest/" + name
	}
	return "mwtest/" + name
}

// want checks a failure's class and whether mw may retry it; an opaque
// source may answer with its generic 400 instead.
func (c conformance) want(se *mw.SourceError, class mw.Class, retry, opaque bool) {
	c.t.Helper()
	switch {
	case opaque && se.Class == mw.ClassRejected && se.NotReady && !se.Retry:
	case se.Class == class && se.Retry == retry && !se.NotReady:
	default:
		c.t.Errorf("%v: class %s, retry %v, not ready %v; want %s, retry %v", se, se.Class, se.Retry, se.NotReady, class, retry)
	}
	if se.Hint == "" {
		c.t.Errorf("%v: no hint", se)
	}
}

func testName(t *testing.T, c conformance) {
	n := c.src.Name()
	if n == "" || n != strings.ToLower(n) || strings.ContainsAny(n, " \t\n:") {
		t.Errorf("Name() = %q; want a short lowercase word", n)
	}
}

func testPlan(t *testing.T, c conformance) {
	if _, err := c.src.Plan(mw.Item{Kind: mw.Kind(200), Name: "x"}); !errors.Is(err, mw.ErrNotServed) {
		t.Errorf("Plan of an unknown kind: %v; want an error wrapping mw.ErrNotServed", err)
	}
	served := 0
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret, mw.KindParametersByPath, mw.KindAppConfig} {
		it := mw.Item{Kind: k, Name: probeName(k, "p"), Application: "a", Environment: "e"}
		p, err := c.src.Plan(it)
		switch {
		case errors.Is(err, mw.ErrNotServed):
		case err != nil:
			// A refusal of the whole kind says what to use instead.
			if len(err.Error()) < 20 {
				t.Errorf("Plan(%s) refuses without saying why: %v", it, err)
			}
		case p.Op == "":
			t.Errorf("Plan(%s) has no Op", it)
		default:
			served++
		}
	}
	if served == 0 {
		t.Error("the source serves no kind of item")
	}
}

func testParameters(t *testing.T, c conformance) {
	c.need(mw.KindParameter)
	v := conformanceCanary + "p"
	c.be.PutParameter("/mwtest/string", TypeString, v)
	c.be.PutParameter("/mwtest/list", TypeStringList, v+"1,"+v+"2")
	c.be.PutParameter("/mwtest/secure", TypeSecureString, v+"secure")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/string"}, v)
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/list"}, v+"1,"+v+"2")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/secure"}, v+"secure") // decrypted

	v1 := c.be.PutParameter("/mwtest/versioned", TypeString, v+"one")
	c.be.PutParameter("/mwtest/versioned", TypeString, v+"two")
	c.be.LabelParameter("/mwtest/versioned", v1, "old")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/versioned"}, v+"two")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/versioned", Version: v1}, v+"one")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/versioned", Label: "old"}, v+"one")
	c.value(mw.Item{Kind: mw.KindParameter, Name: fmt.Sprintf("/mwtest/versioned:%d", v1)}, v+"one")
	c.value(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/versioned:old"}, v+"one")
}

func testSecrets(t *testing.T, c conformance) {
	c.need(mw.KindSecret)
	v := conformanceCanary + "s"
	first := c.be.PutSecret("mwtest/secret", v+"one")
	c.be.PutSecret("mwtest/secret", v+"two") // the new AWSCURRENT; the first is AWSPREVIOUS
	c.value(mw.Item{Kind: mw.KindSecret, Name: "mwtest/secret"}, v+"two")
	c.value(mw.Item{Kind: mw.KindSecret, Name: "mwtest/secret", VersionStage: StagePrevious}, v+"one")
	c.value(mw.Item{Kind: mw.KindSecret, Name: "mwtest/secret", VersionID: first}, v+"one")

	bin := append([]byte(v), 0, 0xff, '\n')
	c.be.PutSecretBinary("mwtest/binary", bin)
	c.value(mw.Item{Kind: mw.KindSecret, Name: "mwtest/binary"}, string(bin))
}

func testPaths(t *testing.T, c conformance) {
	c.need(mw.KindParametersByPath)
	v := conformanceCanary + "t"
	c.be.PutParameter("/mwtest/tree/a", TypeString, v+"a")
	c.be.PutParameter("/mwtest/tree/b/c", TypeSecureString, v+"c")
	c.be.PutParameter("/mwtest/other/x", TypeString, v+"x")
	res := c.fetch(c.ctx(),
		mw.Item{Kind: mw.KindParametersByPath, Name: "/mwtest/tree"},
		mw.Item{Kind: mw.KindParametersByPath, Name: "/mwtest/empty"})
	want := map[string]string{"/mwtest/tree/a": v + "a", "/mwtest/tree/b/c": v + "c"}
	if res[0].Err != nil || !maps.Equal(res[0].Values, want) {
		t.Errorf("/mwtest/tree: %d values, %v; want %d", len(res[0].Values), res[0].Err, len(want))
	}
	if res[1].Err != nil || res[1].Values == nil || len(res[1].Values) != 0 {
		t.Errorf("/mwtest/empty: %d values, %v; want an empty map and no error", len(res[1].Values), res[1].Err)
	}
}

// testBatch fetches as many items as one call takes, one missing among
// them: the others have their values, in order, and only it fails.
func testBatch(t *testing.T, c conformance) {
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret} {
		if !c.serves(k) {
			continue
		}
		p, _ := c.src.Plan(mw.Item{Kind: k, Name: probeName(k, "x")})
		n := max(p.Batch, 1) + 1 // a call and one more
		items := make([]mw.Item, n)
		for i := range items {
			items[i] = mw.Item{Kind: k, Name: probeName(k, fmt.Sprintf("batch/%02d", i))}
			if i == n/2 {
				continue // missing
			}
			if k == mw.KindParameter {
				c.be.PutParameter(items[i].Name, TypeString, fmt.Sprint(conformanceCanary, i))
			} else {
				c.be.PutSecret(items[i].Name, fmt.Sprint(conformanceCanary, i))
			}
		}
		for i, r := range c.fetch(c.ctx(), items...) {
			switch {
			case i == n/2 && (r.Err == nil || r.Value != ""):
				t.Errorf("%s: the missing item got %q, %v", k, r.Value, r.Err)
			case i != n/2 && (r.Err != nil || r.Value != fmt.Sprint(conformanceCanary, i)):
				t.Errorf("%s: item %d got %q, %v", k, i, r.Value, r.Err)
			}
		}
	}
}

func testNotFound(t *testing.T, c conformance) {
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret} {
		if c.serves(k) {
			se := c.failure(mw.Item{Kind: k, Name: probeName(k, "missing")})
			c.want(se, mw.ClassNotFound, false, true)
		}
	}
	if c.serves(mw.KindParameter) {
		c.be.PutParameter("/mwtest/one-version", TypeString, conformanceCanary)
		se := c.failure(mw.Item{Kind: mw.KindParameter, Name: "/mwtest/one-version", Version: 9})
		c.want(se, mw.ClassNotFound, false, true)
	}
	if c.serves(mw.KindAppConfig) {
		// A missing profile, in an environment that holds another, and a
		// profile asked for in an environment it is not deployed to.
		c.put(probeItem(mw.KindAppConfig, "present"), conformanceCanary)
		missing := probeItem(mw.KindAppConfig, "missing")
		c.want(c.failure(missing), mw.ClassNotFound, false, false)
		elsewhere := probeItem(mw.KindAppConfig, "present")
		elsewhere.Environment = "elsewhere"
		c.want(c.failure(elsewhere), mw.ClassNotFound, false, false)
	}
}

// testAppConfig: a profile's configuration comes back as its bytes, of
// any content, at its latest version, whatever its names hold; each
// environment and application has its own.
func testAppConfig(t *testing.T, c conformance) {
	c.need(mw.KindAppConfig)
	be := c.appConfig()
	v := conformanceCanary + "c"
	it := probeItem(mw.KindAppConfig, "settings")
	be.PutConfiguration(it.Application, it.Environment, it.Name, "application/json", []byte(`{"a":"`+v+`1"}`))
	c.value(it, `{"a":"`+v+`1"}`)
	if n := be.PutConfiguration(it.Application, it.Environment, it.Name, "application/json", []byte(`{"a":"`+v+`2"}`)); n != 2 {
		t.Errorf("the second version is number %d", n)
	}
	c.value(it, `{"a":"`+v+`2"}`)

	// Bytes that are not text, and an empty configuration.
	bin := append([]byte(v), 0, 0xff, '\n', 0xc3)
	raw := probeItem(mw.KindAppConfig, "binary")
	be.PutConfiguration(raw.Application, raw.Environment, raw.Name, "application/octet-stream", bin)
	c.value(raw, string(bin))
	empty := probeItem(mw.KindAppConfig, "empty")
	be.PutConfiguration(empty.Application, empty.Environment, empty.Name, "text/plain", nil)
	c.value(empty, "")

	// Names that must be escaped, and the same profile name elsewhere.
	for i, names := range [][3]string{
		{"team/app", "pre prod", "p?q#r%&=+"},
		{"ünï", "..", "."},
		{conformanceApplication, "other", it.Name},
		{"other", conformanceEnvironment, it.Name},
	} {
		odd := mw.Item{Kind: mw.KindAppConfig, Application: names[0], Environment: names[1], Name: names[2]}
		be.PutConfiguration(odd.Application, odd.Environment, odd.Name, "text/plain", []byte(fmt.Sprint(v, "odd-", i)))
		c.value(odd, fmt.Sprint(v, "odd-", i))
	}
	c.value(it, `{"a":"`+v+`2"}`)
}

// stored stores an item named name of each kind the source serves, of
// parameters, secrets and AppConfig profiles, valued conformanceCanary+name,
// and returns them.
func (c conformance) stored(name string) []mw.Item {
	var items []mw.Item
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret, mw.KindAppConfig} {
		if c.serves(k) {
			it := probeItem(k, name)
			c.put(it, conformanceCanary+name)
			items = append(items, it)
		}
	}
	return items
}

func testAccessDenied(t *testing.T, c conformance) {
	for _, it := range c.stored("denied") {
		c.deny(it)
		c.want(c.failure(it), mw.ClassAccessDenied, false, c.opaque(it.Kind))
	}
}

func testDecrypt(t *testing.T, c conformance) {
	for _, it := range c.stored("no-key") {
		if it.Kind == mw.KindAppConfig {
			continue // the extension reads no KMS key of its own
		}
		c.be.DenyDecrypt(it.Name)
		c.want(c.failure(it), mw.ClassDecrypt, false, c.opaque(it.Kind))
	}
}

func testThrottled(t *testing.T, c conformance) {
	for _, it := range c.stored("throttled") {
		c.failNext(it, FaultThrottle, 1)
		c.want(c.failure(it), mw.ClassThrottled, true, c.opaque(it.Kind))
		c.value(it, conformanceCanary+"throttled") // the next request is served
	}
}

func testServerError(t *testing.T, c conformance) {
	for _, it := range c.stored("failing") {
		c.failNext(it, FaultServerError, 1)
		c.want(c.failure(it), mw.ClassServerError, true, false)
		c.value(it, conformanceCanary+"failing")
	}
}

func testMalformed(t *testing.T, c conformance) {
	for _, it := range c.stored("garbled") {
		c.failNext(it, FaultMalformed, 1)
		c.want(c.failure(it), mw.ClassMalformed, false, false)
	}
}

// testRefresh: an item asked for with Refresh has the value stored now,
// whatever the source cached.
func testRefresh(t *testing.T, c conformance) {
	for _, it := range c.stored("rotated") {
		c.value(it, conformanceCanary+"rotated")
		c.put(it, conformanceCanary+"rotated-2")
		it.Refresh = true
		c.value(it, conformanceCanary+"rotated-2")
	}
}

// testConcurrency: many calls at once each get their own values. Run it
// with -race.
func testConcurrency(t *testing.T, c conformance) {
	var items []mw.Item
	for i := range 8 {
		items = append(items, c.stored(fmt.Sprintf("concurrent-%d", i))...)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i, r := range c.fetch(c.ctx(), items...) {
				name := items[i].Name[strings.LastIndexByte(items[i].Name, '/')+1:]
				if r.Err != nil || r.Value != conformanceCanary+name {
					t.Errorf("%s: %q, %v", items[i], r.Value, r.Err)
				}
			}
		})
	}
	wg.Wait()
}

// testCancellation: a call returns when its context ends, with an error
// for each item and no value, even when the backend has not answered.
func testCancellation(t *testing.T, c conformance) {
	items := c.stored("slow")
	c.be.SetLatency(time.Minute)
	t.Cleanup(func() { c.be.SetLatency(0) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	for i, r := range c.fetch(ctx, items...) {
		if r.Err == nil || r.Value != "" {
			t.Errorf("%s: %q, %v; want an error", items[i], r.Value, r.Err)
		}
	}
	// Not a speed measurement: a bound that proves the context, not the
	// backend's minute, ended the calls.
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the calls returned %v after their context ended", el)
	}
}

// testRoles: each kind the source serves is either read as a role or
// refused as one in Plan, with a reason, never left to another source. A
// secret read as two roles and as the source's own has three values, in
// one call of Fetch or several, each role's own, at its versions and
// after a refresh; a role the source cannot take on is access denied, and
// a secret a role has not is not found. Parameters and paths read as a
// role likewise, where the source serves them.
func testRoles(t *testing.T, c conformance) {
	var asRole []mw.Kind
	for _, k := range []mw.Kind{mw.KindParameter, mw.KindSecret, mw.KindParametersByPath, mw.KindAppConfig} {
		if !c.serves(k) {
			continue
		}
		it := probeItem(k, "as-role")
		it.RoleARN = conformanceRoleA
		_, err := c.src.Plan(it)
		switch {
		case err == nil:
			asRole = append(asRole, k)
		case errors.Is(err, mw.ErrNotServed):
			t.Errorf("Plan(%s): %v; a source that serves the kind but cannot read it as a role refuses the item, "+
				"rather than leave it to another source", it, err)
		case !strings.Contains(err.Error(), conformanceRoleA):
			t.Errorf("Plan(%s) refuses it without naming the item and its role: %v", it, err)
		}
	}
	for _, k := range asRole {
		switch k {
		case mw.KindSecret:
			c.rolesOfSecrets()
		case mw.KindParameter:
			c.rolesOfParameters()
		case mw.KindParametersByPath:
			c.rolesOfPaths()
		default:
			t.Errorf("the suite does not know how to store a %s as a role", k)
		}
	}
}

// roles returns the backend as a RoleBackend, or fails the test.
func (c conformance) roles() RoleBackend {
	c.t.Helper()
	be, ok := c.be.(RoleBackend)
	if !ok {
		c.t.Fatalf("the %s source serves items read as a role, but its backend %T is no mwtest.RoleBackend", c.src.Name(), c.be)
	}
	return be
}

func as(it mw.Item, role string) mw.Item {
	it.RoleARN = role
	return it
}

func (c conformance) rolesOfSecrets() {
	be := c.roles()
	v := conformanceCanary + "r"
	it := probeItem(mw.KindSecret, "shared")
	be.PutSecret(it.Name, v+"own")
	be.PutRoleSecret(conformanceRoleA, it.Name, v+"a")
	be.PutRoleSecret(conformanceRoleB, it.Name, v+"b")
	c.values([]mw.Item{it, as(it, conformanceRoleA), as(it, conformanceRoleB)}, v+"own", v+"a", v+"b")
	be.PutRoleSecret(conformanceRoleA, it.Name, v+"a2")
	refreshed := as(it, conformanceRoleA)
	refreshed.Refresh = true
	c.value(refreshed, v+"a2")
	previous := as(it, conformanceRoleA)
	previous.VersionStage = StagePrevious
	c.value(previous, v+"a")
	c.value(it, v+"own")

	c.want(c.failure(as(it, conformanceRoleUnknown)), mw.ClassAccessDenied, false, false)
	ownOnly := probeItem(mw.KindSecret, "own-only")
	be.PutSecret(ownOnly.Name, v+"own-only")
	c.want(c.failure(as(ownOnly, conformanceRoleA)), mw.ClassNotFound, false, false)
}

func (c conformance) rolesOfParameters() {
	be := c.roleParameters()
	v := conformanceCanary + "rp"
	it := probeItem(mw.KindParameter, "shared")
	c.be.PutParameter(it.Name, TypeSecureString, v+"own")
	be.PutRoleParameter(conformanceRoleA, it.Name, TypeSecureString, v+"a")
	be.PutRoleParameter(conformanceRoleB, it.Name, TypeString, v+"b")
	c.values([]mw.Item{it, as(it, conformanceRoleA), as(it, conformanceRoleB)}, v+"own", v+"a", v+"b")
	c.want(c.failure(as(it, conformanceRoleUnknown)), mw.ClassAccessDenied, false, false)
}

func (c conformance) rolesOfPaths() {
	be := c.roleParameters()
	v := conformanceCanary + "rt"
	c.be.PutParameter("/mwtest/role-tree/own", TypeString, v+"own")
	be.PutRoleParameter(conformanceRoleA, "/mwtest/role-tree/a", TypeString, v+"a")
	be.PutRoleParameter(conformanceRoleB, "/mwtest/elsewhere/b", TypeString, v+"b")
	path := probeItem(mw.KindParametersByPath, "role-tree")
	res := c.fetch(c.ctx(), path, as(path, conformanceRoleA), as(path, conformanceRoleB))
	for i, want := range []map[string]string{{"/mwtest/role-tree/own": v + "own"}, {"/mwtest/role-tree/a": v + "a"}, {}} {
		if res[i].Err != nil || !maps.Equal(res[i].Values, want) {
			c.t.Errorf("path %d: %d values, %v; want %d", i, len(res[i].Values), res[i].Err, len(want))
		}
	}
}

// roleParameters returns the backend as one that holds parameters as a
// role reads them, or fails the test.
func (c conformance) roleParameters() roleParameterBackend {
	c.t.Helper()
	be, ok := c.be.(roleParameterBackend)
	if !ok {
		c.t.Fatalf("the %s source serves parameters read as a role, but its backend %T has no PutRoleParameter(role, name, typ, value string) int64", c.src.Name(), c.be)
	}
	return be
}
