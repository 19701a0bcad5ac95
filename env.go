package mw

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/lambda-mw/mw/internal/loopback"
)

// The environment variables Wrap reads, so that operators can declare
// items and point mw at its endpoint in the function's configuration,
// without a code change. The package documentation describes them.
const (
	envSecrets    = "MW_SECRETS"
	envParameters = "MW_PARAMETERS"
	envEndpoint   = "MW_ENDPOINT"
	envAgent      = "MW_AGENT"
	// envAllowRemote allows an endpoint on a host other than loopback.
	envAllowRemote = "MW_ALLOW_REMOTE_ENDPOINT"
)

// readEnv returns the items the environment declares, and sets in ext the
// endpoint and dialect it names where code set none. It returns the first
// malformed entry, quoted.
func readEnv(ext *extensionConfig) ([]item, *DeclarationError) {
	var first *DeclarationError
	keep := func(e *DeclarationError) { first = worse(first, e) }
	var items []item
	for _, v := range [...]struct {
		env  string
		kind Kind
	}{{envParameters, KindParameter}, {envSecrets, KindSecret}} {
		more, err := parseDeclarations(v.env, os.Getenv(v.env), v.kind)
		items = append(items, more...)
		keep(err)
	}
	keep(readBool(envAllowRemote, &ext.remote))
	if raw := os.Getenv(envEndpoint); ext.endpoint == "" && raw != "" {
		if u, err := loopback.CheckEndpoint(raw, ext.remote, allowRemote(false)); err != nil {
			keep(&DeclarationError{msg: fmt.Sprintf("%s=%q: %v", envEndpoint, loopback.RedactURL(raw), err), fromEnv: true})
		} else {
			ext.endpoint = u
		}
	}
	agent := ext.agent
	keep(readBool(envAgent, &ext.agent))
	ext.fromEnv = ext.agent && !agent
	return items, first
}

// readBool sets *b when env holds true, and reports a value that is not a
// boolean.
func readBool(env string, b *bool) *DeclarationError {
	raw := os.Getenv(env)
	if raw == "" {
		return nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return &DeclarationError{msg: fmt.Sprintf("%s=%q: want true or false", env, raw), fromEnv: true}
	}
	*b = *b || v
	return nil
}

// parseDeclarations reads a list such as "db=prod/db, /app/flags": entries
// separated by commas, each a name or ARN, or alias=name. An entry is cut at
// its first '=': a secret whose name holds '=' needs an alias.
func parseDeclarations(env, list string, k Kind) ([]item, *DeclarationError) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	entries := strings.Split(list, ",")
	var items []item
	var first *DeclarationError
	for n, raw := range entries {
		entry := strings.TrimSpace(raw)
		from := fmt.Sprintf("%s entry %d of %d, %q,", env, n+1, len(entries), entry)
		bad := func(why string) {
			if first == nil {
				first = &DeclarationError{msg: from + " " + why, fromEnv: true}
			}
		}
		alias, name, hasAlias := strings.Cut(entry, "=")
		alias, name = strings.TrimSpace(alias), strings.TrimSpace(name)
		if !hasAlias {
			alias, name = "", alias
		}
		switch {
		case entry == "":
			bad("is empty: separate entries with single commas")
			continue
		case hasAlias && alias == "":
			bad(`has no alias before "=": write alias=name, or the name alone`)
			continue
		case hasAlias && name == "":
			bad(`has no name after "=": write alias=name, or the name alone`)
			continue
		case strings.ContainsFunc(alias+name, unicode.IsSpace):
			bad(fmt.Sprintf("has a space inside: no %s name or alias holds one", k))
			continue
		}
		items = append(items, item{Item: Item{Kind: k, Name: name}, alias: alias, from: strings.TrimSuffix(from, ",")})
	}
	return items, first
}

// allowRemote says how to allow an endpoint off loopback, when the
// environment is read or not (noEnv, WithoutEnvironment).
func allowRemote(noEnv bool) string {
	if noEnv {
		return "allow it with WithRemoteEndpoint (WithoutEnvironment ignores " + envAllowRemote + ")"
	}
	return "allow it with WithRemoteEndpoint or " + envAllowRemote + "=true"
}
