package mw

import (
	"context"

	"github.com/lambda-mw/mw/internal/resolved"
)

// Secret returns the value of a secret declared with WithSecrets, as the
// current invoke resolved it. It does no I/O. ctx must be the context the
// wrapped handler received, or one derived from it; otherwise, or when id
// was not declared, it returns a *LookupError naming the secret.
//
// A binary secret is returned as its raw bytes.
func Secret(ctx context.Context, id string) (string, error) {
	return lookup(ctx, resolved.Secret, id)
}

// Parameter returns the value of a parameter declared with WithParameters,
// as the current invoke resolved it. SecureString parameters come back
// decrypted, and StringList parameters comma-joined. It does no I/O. ctx must
// be the context the wrapped handler received, or one derived from it;
// otherwise, or when name was not declared, it returns a *LookupError
// naming the parameter.
func Parameter(ctx context.Context, name string) (string, error) {
	return lookup(ctx, resolved.Parameter, name)
}

func lookup(ctx context.Context, k resolved.Kind, name string) (string, error) {
	if ctx == nil {
		return "", &LookupError{Kind: k.String(), Name: name, Err: ErrNoValues}
	}
	s := resolved.FromContext(ctx)
	if s == nil {
		return "", &LookupError{Kind: k.String(), Name: name, Err: ErrNoValues}
	}
	v, ok := s.Lookup(k, name)
	if !ok {
		return "", &LookupError{Kind: k.String(), Name: name, Err: ErrNotDeclared}
	}
	return v, nil
}
