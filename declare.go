package mw

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/lambda-mw/mw/internal/awsname"
	"github.com/lambda-mw/mw/internal/resolved"
	"github.com/lambda-mw/mw/internal/telemetry"
)

// An item is one declared item: what to fetch, the name handlers read it
// by, and how to cache it.
type item struct {
	// Item is what is fetched, and the item's identity: two declarations
	// of one Item are fetched once. Its Refresh is never set here.
	Item

	// alias is the name handlers read the item by, when it is not Name.
	alias string

	ttl      time.Duration
	hasTTL   bool
	optional bool
	hasDef   bool
	def      string

	// src is the source From names, or nil for the one mw chooses.
	src Source

	// from is the environment entry that declared the item, quoted, or ""
	// when code declared it. It decides how a mistake is reported.
	from string
}

// ref is the name handlers read the item by: its alias, else its name.
func (it item) ref() string {
	if it.alias != "" {
		return it.alias
	}
	return it.Name
}

// key identifies the item by kind and ref, as spans list it: "secret:db".
func (it item) key() string { return it.Kind.String() + ":" + it.ref() }

// target names what the item fetches, without its alias: `"prod/db" (stage
// AWSPREVIOUS)`.
func (it item) target() string {
	s := fmt.Sprintf("%q", it.Name)
	if v := it.version(); v != "" {
		s += " (" + v + ")"
	}
	return s
}

// describe names the item in messages: `secret "db" (prod/db, stage
// AWSPREVIOUS)`.
func (it item) describe() string { return subject(it.Kind, it.ref(), it.qualifiedName(), it.version()) }

// label names the item on spans and metrics, as describe and fetchError do
// in messages.
func (it item) label() telemetry.Label {
	return telemetry.Label{Kind: it.Kind.String(), Name: it.qualifiedName(), Alias: it.alias, Version: it.version(), Key: it.key()}
}

// fetchError makes the *FetchError that reports failure f of the item. The
// error is plain data: its hint, the source's or its class's, is fixed here.
func (it item) fetchError(f fetchFailure) *FetchError {
	if f.class == "" {
		f.class = ClassOther
	}
	hint := f.hint
	if hint == "" {
		hint = classHint(f.class, it.Kind)
	}
	if f.unready {
		// Most likely what the answer says: an extension is ready within
		// milliseconds of the first invoke, and the window is seconds.
		hint += "; or it was not ready: nothing the " + f.source + " answered within the startup window (WithStartupWindow) showed it serving"
	}
	return &FetchError{Kind: it.Kind, Name: it.qualifiedName(), Alias: it.alias, Version: it.version(), Source: f.source,
		Class: f.class, Status: f.status, Code: f.code, Attempts: f.attempts, Elapsed: f.elapsed, Stale: f.stale, Err: f.err, hint: hint,
		ref: it.ref()}
}

// sameCaching reports whether a and b, which fetch the same thing, are cached
// and served alike.
func sameCaching(a, b item) bool {
	return a.ttl == b.ttl && a.hasTTL == b.hasTTL && a.optional == b.optional && a.hasDef == b.hasDef && a.def == b.def &&
		sameSource(a.src, b.src)
}

// sameSource reports whether a and b are one source: the same value of a
// comparable type, or both nil.
func sameSource(a, b Source) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	t := reflect.TypeOf(a)
	return t == reflect.TypeOf(b) && t.Comparable() && a == b
}

// check reports what is wrong with one declaration on its own: what its
// name, alias and options reveal before anything is fetched.
func (it item) check() error {
	switch {
	case it.Name == "" && it.alias != "":
		return fmt.Errorf("%s alias %q is declared with an empty name", it.Kind, it.alias)
	case it.Name == "":
		return fmt.Errorf("an empty %s name is declared", it.Kind)
	case strings.TrimSpace(it.alias) != it.alias:
		return fmt.Errorf("%s alias %q has leading or trailing space", it.Kind, it.alias)
	case it.RoleARN != "" && !awsname.IsRole(it.RoleARN):
		return fmt.Errorf("%s: RoleARN(%q) is not the ARN of an IAM role: want arn:<partition>:iam::<account>:role/<name>", it.describe(), it.RoleARN)
	}
	if err := optItemTTL.check(it.ttl); err != nil {
		return fmt.Errorf("%s: %v", it.describe(), err)
	}
	switch it.Kind {
	case KindParameter:
		return it.checkParameter()
	case KindSecret:
		return it.checkSecret()
	case KindParametersByPath:
		return it.checkPath()
	case KindAppConfig:
		return it.checkAppConfig()
	}
	return nil
}

func (it item) checkAppConfig() error {
	if it.Application == "" || it.Environment == "" {
		return fmt.Errorf("%s: WithAppConfig needs an application, an environment and a profile", it.describe())
	}
	return nil
}

func (it item) checkParameter() error {
	switch {
	case it.Version != 0 && it.Label != "":
		return fmt.Errorf("%s: ParameterVersion and Label are exclusive", it.describe())
	case it.Version < 0:
		return fmt.Errorf("%s: ParameterVersion must be positive", it.describe())
	case it.Version != 0 && strings.HasPrefix(it.Name, awsname.ReferencePrefix):
		return fmt.Errorf("%s: a secret read through %s is pinned by its version stage, given with Label, not ParameterVersion", it.describe(), awsname.ReferencePrefix)
	case awsname.HasSelector(it.Name) && (it.Version != 0 || it.Label != ""):
		return fmt.Errorf("%s: the name already selects a version with its ':' suffix; drop ParameterVersion or Label", it.describe())
	case awsname.Service(it.Name) == "secretsmanager":
		return fmt.Errorf("%s is a Secrets Manager ARN: declare it with WithSecrets, or read it through Parameter Store as %s<secret id>", it.describe(), awsname.ReferencePrefix)
	case awsname.Service(it.Name) != "" && awsname.Service(it.Name) != "ssm":
		return fmt.Errorf("%s is an ARN of %s, not of an SSM parameter", it.describe(), awsname.Service(it.Name))
	case strings.HasSuffix(it.Name, "/") && len(it.Name) > 1:
		return fmt.Errorf("%s ends in '/', as a path does: declare every parameter under it with WithParametersByPath", it.describe())
	}
	return nil
}

func (it item) checkSecret() error {
	switch svc := awsname.Service(it.Name); {
	case svc == "ssm":
		return fmt.Errorf("%s is an SSM parameter ARN: declare it with WithParameters", it.describe())
	case svc != "" && svc != "secretsmanager":
		return fmt.Errorf("%s is an ARN of %s, not of a Secrets Manager secret", it.describe(), svc)
	case strings.HasPrefix(it.Name, awsname.ReferencePrefix):
		return fmt.Errorf("%s is a Parameter Store reference to a secret: declare it with WithParameters, or declare the secret id %q with WithSecrets",
			it.describe(), strings.TrimPrefix(it.Name, awsname.ReferencePrefix))
	}
	return nil
}

func (it item) checkPath() error {
	switch {
	case !strings.HasPrefix(it.Name, "/"):
		return fmt.Errorf("%s: a path begins with '/', such as /app/prod", it.describe())
	case strings.HasPrefix(it.Name, awsname.ReferencePrefix):
		return fmt.Errorf("%s: Parameter Store cannot list secrets by path", it.describe())
	case it.hasDef:
		return fmt.Errorf("%s: a path has no single value to Default to; use Optional", it.describe())
	}
	return nil
}

// declarations are the items of one Wrap, deduplicated, and the index from
// the names handlers use to them.
type declarations struct {
	items []item
	index *resolved.Index
}

// worse returns the mistake to report of a, found first, and b: a code
// mistake over an environment one, since code mistakes must fail at Wrap;
// else a. Either may be nil.
func worse(a, b *DeclarationError) *DeclarationError {
	if a == nil || (a.fromEnv && b != nil && !b.fromEnv) {
		return b
	}
	return a
}

// collect deduplicates items and indexes them by ref. The same thing
// declared twice alike is fetched once, under each ref it was declared
// with. It is an error for two different things to share a ref, or for code
// to declare one thing with different caching; where the environment
// repeats what code declares, code's options stand.
func collect(items []item) (declarations, *DeclarationError) {
	c := collector{d: declarations{index: resolved.NewIndex(resolved.Kind(listedKind())), items: make([]item, 0, len(items))},
		refs: map[ref]int{}, byWhat: map[Item]int{}}
	for _, it := range items {
		c.add(it)
	}
	return c.d, c.first
}

type ref struct {
	kind Kind
	name string
}

type collector struct {
	d      declarations
	refs   map[ref]int  // by kind and ref: position in d.items
	byWhat map[Item]int // by what is fetched: position in d.items
	first  *DeclarationError
}

func (c *collector) fail(env bool, format string, args ...any) {
	c.first = worse(c.first, &DeclarationError{msg: fmt.Sprintf(format, args...), fromEnv: env})
}

func (c *collector) add(it item) {
	if err := it.check(); err != nil {
		c.fail(it.from != "", "%s%v", origin(it), err)
		return
	}
	r := ref{it.Kind, it.ref()}
	if i, dup := c.refs[r]; dup {
		c.conflict(c.d.items[i], it)
		return
	}
	if i, dup := c.byWhat[it.Item]; dup {
		// Another ref for a thing already declared: fetch it once.
		if prev := c.d.items[i]; prev.from == "" && it.from == "" && !sameCaching(prev, it) {
			c.fail(false, "%s and %s are the same %s, declared with different options (%s): an item is cached once, "+
				"so declare it with the same options everywhere", prev.describe(), it.describe(), it.Kind, optionsDiff(prev, it))
			return
		}
		c.index(r, i)
		return
	}
	c.byWhat[it.Item] = len(c.d.items)
	c.index(r, len(c.d.items))
	c.addSpellings(it)
	if it.Kind.facts().lists != 0 {
		c.d.index.AddPath(it.Name, len(c.d.items))
	}
	c.d.items = append(c.d.items, it)
}

// addSpellings records the other names a handler might read it by: an
// AppConfig profile's application/environment/profile, and what comes
// before its name there (its application, its application/environment),
// so that a read by one of them says which name to read by.
func (c *collector) addSpellings(it item) {
	q := it.qualifiedName()
	if q == it.Name {
		return
	}
	k, ref := resolved.Kind(it.Kind), it.ref()
	c.d.index.AddSpelling(k, q, ref)
	for i := range len(q) - len(it.Name) {
		if q[i] == '/' {
			c.d.index.AddPart(k, q[:i], ref)
		}
	}
}

func (c *collector) index(r ref, i int) {
	c.refs[r] = i
	c.d.index.Add(resolved.Kind(r.kind), r.name, i)
}

// conflict reports a second declaration of a ref, unless it repeats the
// first.
func (c *collector) conflict(prev, it item) {
	env := prev.from != "" || it.from != ""
	switch {
	case prev.Item != it.Item && it.alias != "":
		c.fail(env, "%s%s alias %q is declared twice: for %s and for %s",
			origin(prev, it), it.Kind, it.alias, prev.target(), it.target())
	case prev.Item != it.Item:
		c.fail(env, "%s%s %q is declared twice, at different versions (%s and %s): give one of them an Alias",
			origin(prev, it), it.Kind, it.ref(), versionOf(prev), versionOf(it))
	case !env && !sameCaching(prev, it):
		c.fail(false, "%s is declared twice, with different options (%s): declare it once, with the options it needs%s",
			it.describe(), optionsDiff(prev, it), handleHint(it.Kind))
	}
}

// optionsDiff says how the caching options of a and b differ:
// "TTL(5m0s) and TTL(1m0s); Optional and not".
func optionsDiff(a, b item) string {
	var diffs []string
	show := func(it item) string {
		if it.hasTTL {
			return fmt.Sprintf("TTL(%v)", it.ttl)
		}
		return "the Wrap's TTL"
	}
	if a.hasTTL != b.hasTTL || a.ttl != b.ttl {
		diffs = append(diffs, show(a)+" and "+show(b))
	}
	if a.optional != b.optional && !a.hasDef && !b.hasDef {
		diffs = append(diffs, map[bool]string{true: "Optional and not", false: "not Optional and Optional"}[a.optional])
	}
	if a.hasDef != b.hasDef || a.def != b.def {
		diffs = append(diffs, "two Defaults")
	}
	if !sameSource(a.src, b.src) {
		diffs = append(diffs, "two sources ("+sourceName(a.src)+" and "+sourceName(b.src)+")")
	}
	return strings.Join(diffs, "; ")
}

// sourceName names a From source in messages, or the one mw chooses.
func sourceName(s Source) string {
	if s == nil {
		return "the default"
	}
	return "From(" + s.Name() + ")"
}

// handleHint says how to declare an item of kind k once and read it
// anywhere, where a handle does it.
func handleHint(k Kind) string {
	switch k {
	case KindSecret:
		return ", and read it anywhere through the handle mw.WithSecret returns"
	case KindParameter:
		return ", and read it anywhere through the handle mw.WithParameter returns"
	}
	return ""
}

// origin prefixes a message with the environment entries involved.
func origin(items ...item) string {
	var froms []string
	for _, it := range items {
		if it.from != "" {
			froms = append(froms, it.from)
		}
	}
	if len(froms) == 0 {
		return ""
	}
	return strings.Join(froms, " and ") + ": "
}

// versionOf names the version an item asks for, or where it comes from,
// and the role that reads it, if not the function's own.
func versionOf(it item) string {
	v := it.Kind.facts().current
	switch {
	case it.Application != "" || it.Environment != "":
		v = it.qualifiedName()
	case it.version() != "":
		v = it.version()
	}
	if it.RoleARN != "" {
		v += " as role " + it.RoleARN
	}
	return v
}

// What the duration options (WithTTL, TTL, WithStartupWindow,
// WithFetchTimeout, WithMaxStale, WithRefreshAhead) take. Each gives zero
// a meaning of its own; none gives one to a negative duration; and a
// positive one below minDuration is refused as a mistake of unit: a bare
// number is a time.Duration of that many nanoseconds, so WithTTL(300) is
// 300 ns, not the 300 s meant.

// minDuration is the shortest positive duration an option takes. Nothing
// mw times is shorter than a millisecond: a loopback answer takes about
// that, and Lambda counts time in milliseconds.
const minDuration = time.Millisecond

// durationOption names a duration option in messages.
type durationOption struct {
	name  string // as code calls it: "WithTTL"
	short string // what a duration below minDuration would do
	zero  string // what 0 means for it
}

var (
	optTTL           = durationOption{"WithTTL", "a TTL this short fetches on almost every invoke", "WithTTL(0) fetches on every invoke"}
	optItemTTL       = durationOption{"TTL", "a TTL this short fetches on almost every invoke", "TTL(0) fetches on every invoke"}
	optStartupWindow = durationOption{"WithStartupWindow", "a startup window this short ends before the extension can answer",
		"WithStartupWindow(0) never waits for the extension to start"}
	optFetchTimeout = durationOption{"WithFetchTimeout", "a fetch timeout this short ends every fetch before its answer",
		"WithFetchTimeout(0) leaves the invoke's deadline alone to bound a fetch"}
	optMaxStale     = durationOption{"WithMaxStale", "a value this briefly stale is never served", "WithMaxStale(0) never serves a stale value"}
	optRefreshAhead = durationOption{"WithRefreshAhead", "a refresh this little ahead of expiry almost never runs ahead",
		"WithRefreshAhead(0) turns refreshing ahead off"}
)

// check reports what is wrong with d for o: a negative duration, or a
// positive one below minDuration.
func (o durationOption) check(d time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s(%v): a duration here cannot be negative; %s", o.name, d, o.zero)
	case d > 0 && d < time.Microsecond:
		return fmt.Errorf("%s(%v): %s; a bare number is a time.Duration of that many nanoseconds: did you mean %d * time.Second?",
			o.name, d, o.short, int64(d))
	case d > 0 && d < minDuration:
		return fmt.Errorf("%s(%v): %s, and mw times nothing below a millisecond: did you mean %d * time.Millisecond?",
			o.name, d, o.short, int64(d/time.Microsecond))
	}
	return nil
}
