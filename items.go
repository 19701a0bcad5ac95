package mw

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lambda-mw/mw/internal/resolved"
)

// An item is one declared parameter or secret: what to fetch, the name
// handlers read it by, and how to cache it.
type item struct {
	kind resolved.Kind
	name string // as sent to the extension: a name, an ARN, or /aws/reference/secretsmanager/<id>
	sel  selector

	// alias is the name handlers read the item by, when it is not name.
	alias string

	ttl      time.Duration
	hasTTL   bool
	optional bool
	hasDef   bool
	def      string

	// from is the environment entry that declared the item, quoted, or ""
	// when code declared it. It decides how a conflict is reported.
	from string
}

// selector picks a version of an item other than the current one. Every
// field is part of what is fetched, and so of the item's identity.
type selector struct {
	version   int64  // parameter version number
	label     string // parameter label (a version stage for /aws/reference/secretsmanager/)
	versionID string // secret version id
	stage     string // secret version stage, such as AWSPREVIOUS
}

// String describes the selector for messages and spans: "" for the current
// version, else e.g. "version 3", "label live", "stage AWSPREVIOUS".
func (s selector) String() string {
	var parts []string
	if s.version != 0 {
		parts = append(parts, "version "+strconv.FormatInt(s.version, 10))
	}
	if s.label != "" {
		parts = append(parts, "label "+s.label)
	}
	if s.versionID != "" {
		parts = append(parts, "version id "+s.versionID)
	}
	if s.stage != "" {
		parts = append(parts, "stage "+s.stage)
	}
	return strings.Join(parts, ", ")
}

// ref is the name handlers read the item by: its alias, else its name.
func (it item) ref() string {
	if it.alias != "" {
		return it.alias
	}
	return it.name
}

// key identifies the item by kind and ref, as spans list it: "secret:db".
func (it item) key() string { return it.kind.String() + ":" + it.ref() }

// what is the fetched thing: its kind, name and selector.
type what struct {
	kind resolved.Kind
	name string
	sel  selector
}

func (it item) what() what { return what{it.kind, it.name, it.sel} }

// sameCaching reports whether a and b, which fetch the same thing, are cached
// and served alike.
func sameCaching(a, b item) bool {
	return a.ttl == b.ttl && a.hasTTL == b.hasTTL && a.optional == b.optional && a.hasDef == b.hasDef && a.def == b.def
}

// describe names the item in messages: `secret "db" (prod/db, stage
// AWSPREVIOUS)`.
func (it item) describe() string { return it.fetchError("", nil).subject() }

// fetchError starts the FetchError that reports this item.
func (it item) fetchError(class Class, err error) *FetchError {
	return &FetchError{Kind: it.kind.String(), Name: it.name, Alias: it.alias, Version: it.sel.String(), Class: class, Err: err}
}

// An ItemOption configures one item declared with WithSecret or
// WithParameter.
type ItemOption func(*item)

// TTL sets how long this item is served from memory, overriding WithTTL.
func TTL(d time.Duration) ItemOption {
	return func(it *item) { it.ttl, it.hasTTL = d, true }
}

// Optional lets the handler run when this item cannot be fetched. The
// accessor then returns a *LookupError wrapping ErrNotFound and the
// *FetchError that says why.
func Optional() ItemOption {
	return func(it *item) { it.optional = true }
}

// Default makes the item optional, and makes the accessor return v when
// the item cannot be fetched. The typed accessors decode v as they would
// the fetched value.
func Default(v string) ItemOption {
	return func(it *item) { it.optional, it.hasDef, it.def = true, true, v }
}

// Alias makes handlers read the item by name instead of by the name or ARN
// it was declared with: declare
//
//	mw.WithSecret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", mw.Alias("db"))
//
// and read mw.Secret(ctx, "db"). An item declared with an alias is read by
// the alias only. Two items may not share an alias: Wrap panics if they do.
// Aliases are also how one secret or parameter is declared at two versions.
func Alias(name string) ItemOption {
	return func(it *item) { it.alias = name }
}

// Version pins a parameter to a version number (ssm:GetParameter's
// name:version). Parameters only; exclusive with Label.
func Version(n int64) ItemOption {
	return func(it *item) { it.sel.version = n }
}

// Label pins a parameter to the version carrying a label. For a secret read
// through Parameter Store (/aws/reference/secretsmanager/<id>) the label is
// a version stage, such as AWSPREVIOUS. Parameters only; exclusive with
// Version.
func Label(l string) ItemOption {
	return func(it *item) { it.sel.label = l }
}

// VersionID pins a secret to a version id. Secrets only.
func VersionID(id string) ItemOption {
	return func(it *item) { it.sel.versionID = id }
}

// VersionStage pins a secret to the version carrying a stage, such as
// AWSPREVIOUS or AWSPENDING during a rotation. Without it a secret is read
// at AWSCURRENT. Secrets only.
func VersionStage(stage string) ItemOption {
	return func(it *item) { it.sel.stage = stage }
}

// check reports what is wrong with one declaration on its own.
func (it item) check() error {
	switch {
	case it.name == "" && it.alias != "":
		return fmt.Errorf("%s alias %q is declared with an empty name", it.kind, it.alias)
	case it.name == "":
		return fmt.Errorf("an empty %s name is declared", it.kind)
	case strings.TrimSpace(it.alias) != it.alias:
		return fmt.Errorf("%s alias %q has leading or trailing space", it.kind, it.alias)
	}
	s := it.sel
	switch it.kind {
	case resolved.Parameter:
		switch {
		case s.versionID != "" || s.stage != "":
			return fmt.Errorf("%s: VersionID and VersionStage apply to secrets; for a parameter use Version or Label", it.describe())
		case s.version != 0 && s.label != "":
			return fmt.Errorf("%s: Version and Label are exclusive", it.describe())
		case s.version < 0:
			return fmt.Errorf("%s: Version must be positive", it.describe())
		}
	case resolved.Secret:
		if s.version != 0 || s.label != "" {
			return fmt.Errorf("%s: Version and Label apply to parameters; for a secret use VersionID or VersionStage", it.describe())
		}
	}
	return nil
}

// declarations are the items of one Wrap, deduplicated, and the index from
// the names handlers use to them.
type declarations struct {
	items []item
	index *resolved.Index
}

// A declError is a declaration that cannot stand. fromEnv says whether an
// environment entry is involved: code mistakes panic at Wrap, while an
// operator's mistake fails the invokes, with a message quoting the entry.
type declError struct {
	msg     string
	fromEnv bool
}

func (e *declError) Error() string { return "mw: " + e.msg }

// worse returns the mistake to report of a, found first, and b: a code
// mistake over an environment one, since code mistakes must fail at Wrap;
// else a. Either may be nil.
func worse(a, b *declError) *declError {
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
func collect(items []item) (declarations, *declError) {
	d := declarations{index: &resolved.Index{Parameters: map[string]int{}, Secrets: map[string]int{}}}
	var first *declError
	fail := func(env bool, format string, args ...any) {
		first = worse(first, &declError{msg: fmt.Sprintf(format, args...), fromEnv: env})
	}
	byWhat := map[what]int{}
	for _, it := range items {
		if err := it.check(); err != nil {
			fail(it.from != "", "%s%v", origin(it), err)
			continue
		}
		refs := d.index.Parameters
		if it.kind == resolved.Secret {
			refs = d.index.Secrets
		}
		if i, dup := refs[it.ref()]; dup {
			prev := d.items[i]
			env := prev.from != "" || it.from != ""
			switch {
			case prev.what() != it.what() && it.alias != "":
				fail(env, "%s%s alias %q is declared twice: for %s and for %s",
					origin(prev, it), it.kind, it.alias, prev.describe(), it.describe())
			case prev.what() != it.what():
				fail(env, "%s%s %q is declared twice, at different versions (%s and %s): give one of them an Alias",
					origin(prev, it), it.kind, it.name, versionOf(prev), versionOf(it))
			case !env && !sameCaching(prev, it):
				fail(false, "%s is declared twice, with different options", it.describe())
			}
			continue
		}
		if i, dup := byWhat[it.what()]; dup {
			// Another ref for a thing already declared: fetch it once.
			if prev := d.items[i]; prev.from == "" && it.from == "" && !sameCaching(prev, it) {
				fail(false, "%s and %s are the same %s, declared with different options", prev.describe(), it.describe(), it.kind)
				continue
			}
			refs[it.ref()] = i
			continue
		}
		byWhat[it.what()] = len(d.items)
		refs[it.ref()] = len(d.items)
		d.items = append(d.items, it)
	}
	return d, first
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

func versionOf(it item) string {
	if s := it.sel.String(); s != "" {
		return s
	}
	if it.kind == resolved.Secret {
		return "AWSCURRENT"
	}
	return "the latest version"
}
