package test

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

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
	"github.com/lambda-mw/mw/cloudext"
	"github.com/lambda-mw/mw/cloudext/cloudexttest"
	"github.com/lambda-mw/mw/internal/busy"
	"github.com/lambda-mw/mw/mwtest"
)

// Roles of two other accounts, whose values differ from the function's
// own: one read through the SDK source, one through Cloud Extensions.
const (
	roleA = "arn:aws:iam::111111111111:role/reader-a"
	roleB = "arn:aws:iam::222222222222:role/reader-b"
)

// mix is one Wrap's three sources: mw's own over HTTP to the fake
// extension, the SDK source against moto, and Cloud Extensions against its
// fake, each holding values the others do not.
type mix struct {
	w   *world
	ext *mwtest.Extension
	url string // the fake extension's
	cx  *cloudexttest.Server
	cxs *cloudext.Source
	sdk *awssdk.Source
}

func newMix(t *testing.T) *mix {
	w := newWorld(t)
	ext, extSrv := mwtest.Start(t, mwtest.Managed)
	cx, cxSrv := cloudexttest.Start(t, cloudexttest.Settings{})
	m := &mix{w: w, ext: ext, url: extSrv.URL, cx: cx, cxs: cx.NewSource(cxSrv.URL), sdk: awssdk.New(w.b.Config())}

	ext.PutSecret("ext/db", canary+"ext-db")
	ext.PutParameter("/ext/url", mwtest.TypeString, canary+"ext-url")

	w.b.PutParameter("/sdk/tree/a", "SecureString", canary+"sdk-a")
	w.b.PutParameter("/sdk/tree/b/c", "String", canary+"sdk-c")
	w.b.PutSecret("sdk/key", canary+"sdk-key")
	w.b.PutRoleSecret(roleA, "shared", canary+"shared-a")

	cx.PutConfiguration("app", "prod", "settings", "application/json", []byte(`{"v":"`+canary+`cx"}`))
	cx.PutSecret("cx/token", canary+"cx-token")
	cx.PutRoleSecret(roleB, "shared", canary+"shared-b")
	return m
}

// sourceOf is the source each item is read through, by its key as spans
// name items (kind:alias, else kind:name).
var sourceOf = map[string]string{
	"secret:ext/db":                "extension",
	"parameter:/ext/url":           "extension",
	"parameters_by_path:/sdk/tree": "awssdk",
	"secret:sdk/key":               "awssdk",
	"secret:shared-a":              "awssdk",
	"appconfig:settings":           "cloudext",
	"secret:cx/token":              "cloudext",
	"secret:shared-b":              "cloudext",
}

// wrap declares the items: the extension's by default, the SDK's with
// From, Cloud Extensions' for every AppConfig profile (WithSource with a
// kind) and for two secrets (From), one secret as a role through each of
// the two sources that can take one on.
func (m *mix) wrap() func(context.Context, struct{}) (map[string]string, error) {
	return mw.Wrap(readMix, append(m.ext.Options(m.url),
		mw.WithTracerProvider(m.w.tp), mw.WithMeterProvider(m.w.mp),
		mw.WithSource(m.cxs, mw.KindAppConfig),
		mw.WithSecrets("ext/db"),
		mw.WithParameters("/ext/url"),
		mw.WithParametersByPath("/sdk/tree", mw.From(m.sdk)),
		mw.WithSecret("sdk/key", mw.From(m.sdk)),
		mw.WithSecret("shared", mw.RoleARN(roleA), mw.Alias("shared-a"), mw.From(m.sdk)),
		mw.WithAppConfig("app", "prod", "settings"),
		mw.WithSecret("cx/token", mw.From(m.cxs)),
		mw.WithSecret("shared", mw.RoleARN(roleB), mw.Alias("shared-b"), mw.From(m.cxs)),
	)...)
}

// readMix reads every item, by the key spans name it by.
func readMix(ctx context.Context, _ struct{}) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	read := func(key string, v string, err error) {
		out[key] = v
		errs = append(errs, err)
	}
	for _, id := range []string{"ext/db", "sdk/key", "shared-a", "cx/token", "shared-b"} {
		v, err := mw.Secret(ctx, id)
		read("secret:"+id, v, err)
	}
	v, err := mw.Parameter(ctx, "/ext/url")
	read("parameter:/ext/url", v, err)
	tree, err := mw.ParametersByPath(ctx, "/sdk/tree")
	read("parameters_by_path:/sdk/tree", fmt.Sprint(len(tree), tree["/sdk/tree/a"], tree["/sdk/tree/b/c"]), err)
	b, err := mw.AppConfig(ctx, "settings")
	read("appconfig:settings", string(b), err)
	return out, errors.Join(errs...)
}

// wantMix is what readMix reads.
var wantMix = map[string]string{
	"secret:ext/db":                canary + "ext-db",
	"parameter:/ext/url":           canary + "ext-url",
	"parameters_by_path:/sdk/tree": fmt.Sprint(2, canary+"sdk-a", canary+"sdk-c"),
	"secret:sdk/key":               canary + "sdk-key",
	"secret:shared-a":              canary + "shared-a",
	"appconfig:settings":           `{"v":"` + canary + `cx"}`,
	"secret:cx/token":              canary + "cx-token",
	"secret:shared-b":              canary + "shared-b",
}

// One Wrap reads through three sources at once: concurrent cold invokes,
// beside busy goroutines, then warm ones, each get every value, the
// secret read as two roles through the two sources that take on roles;
// each item is fetched once, by its own source; and every mw.fetch span
// and every fetch metric says which source served each item (mw.source),
// with no value anywhere. Run with -race.
func TestMixedSources(t *testing.T) {
	m := newMix(t)
	h := m.wrap()
	busy.Goroutines(t, 0)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			got, err := h(ctx, struct{}{})
			if err != nil || !maps.Equal(got, wantMix) {
				t.Errorf("invoke %d: %v, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	for range 3 {
		if err := invoke(func(ctx context.Context) error {
			got, err := h(ctx, struct{}{})
			if err == nil && !maps.Equal(got, wantMix) {
				err = fmt.Errorf("warm invoke: %v", got)
			}
			return err
		}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// Each item fetched once, from its source, and nothing from another.
	if n := m.ext.Stats().Fetches; n != 2 {
		t.Errorf("the extension answered %d fetches, want 2", n)
	}
	if n := m.w.b.CallsAs("GetParametersByPath", "") + m.w.b.CallsAs("BatchGetSecretValue", "") + m.w.b.CallsAs("BatchGetSecretValue", roleA); n != 3 ||
		m.w.b.Requests() != 4 { // and one AssumeRole
		t.Errorf("moto: %d calls of the SDK's items, %d requests; want 3, 4", n, m.w.b.Requests())
	}
	if st := m.cx.Stats(); st.Operations["GetSecretValue"] != 2 || st.Operations["GetConfiguration"] != 1 || st.WithRole != 1 {
		t.Errorf("Cloud Extensions: %v, %d with a role; want 2 GetSecretValue (one as a role), 1 GetConfiguration", st.Operations, st.WithRole)
	}

	// Every fetch span names its source, and each item's span its own.
	seen := map[string]string{}
	for _, s := range m.w.rec.Ended() {
		if s.Name() != "mw.fetch" {
			continue
		}
		src := attr(s, "mw.source").AsString()
		for _, key := range spanKeys(s) {
			if prev, dup := seen[key]; dup {
				t.Errorf("%s is on two mw.fetch spans (%s and %s): fetched twice", key, prev, src)
			}
			seen[key] = src
		}
	}
	if !maps.Equal(seen, sourceOf) {
		t.Errorf("mw.fetch spans: item → mw.source\n%v\nwant\n%v", seen, sourceOf)
	}

	// So does every fetch's duration metric.
	byMetric := map[string][]string{}
	for _, p := range m.w.points()["mw.fetch.duration"] {
		kind, _ := p.attrs.Value("mw.item.kind")
		ref, ok := p.attrs.Value("mw.item.alias")
		if !ok {
			ref, _ = p.attrs.Value("mw.item.name")
		}
		src, _ := p.attrs.Value("mw.source")
		key := kind.AsString() + ":" + lastSegment(kind.AsString(), ref.AsString())
		byMetric[key] = append(byMetric[key], src.AsString())
	}
	for key, want := range sourceOf {
		if got := byMetric[key]; !slices.Equal(got, []string{want}) {
			t.Errorf("mw.fetch.duration of %s: mw.source %q, want [%s]", key, got, want)
		}
	}
	if n := m.w.noCanary(); n == 0 {
		t.Error("no span or metric was searched")
	}
}

// spanKeys are the items an mw.fetch span names: its mw.fetch.items, or,
// for a call of one, the item's kind and alias (else name).
func spanKeys(s sdktrace.ReadOnlySpan) []string {
	if keys := attr(s, "mw.fetch.items").AsStringSlice(); len(keys) > 0 {
		return keys
	}
	kind := attr(s, "mw.item.kind").AsString()
	ref := attr(s, "mw.item.alias").AsString()
	if ref == "" {
		ref = attr(s, "mw.item.name").AsString()
	}
	return []string{kind + ":" + lastSegment(kind, ref)}
}

// lastSegment is how handlers read an AppConfig profile, whose name spans
// write as application/environment/profile: by its profile's name.
func lastSegment(kind, name string) string {
	if kind == "appconfig" {
		return name[strings.LastIndexByte(name, '/')+1:]
	}
	return name
}

// Each source of the mix passes the conformance suite of sources, as it
// is configured there: the SDK source against moto, Cloud Extensions
// against its fake. (mw's own, over HTTP to the fake extension, passes it
// in the library's module, TestTheExtensionSourceConforms.)
func TestMixedSourcesConform(t *testing.T) {
	t.Run("awssdk", func(t *testing.T) {
		mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
			w := newWorld(t)
			return awssdk.New(w.b.Config()), w.b
		})
	})
	t.Run("cloudext", func(t *testing.T) {
		mwtest.TestSource(t, func(t *testing.T) (mw.Source, mwtest.Backend) {
			f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
			return f.NewSource(srv.URL), f
		})
	})
}
