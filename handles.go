package mw

import (
	"context"
	"fmt"
	"io"
)

// A SecretHandle is a secret declared with WithSecret, held as a value: an
// Option to give Wrap, and the way handlers read the secret, so that a
// misspelt name is a compile error rather than ErrNotDeclared at run time.
// It is read by its Alias when it has one, else by its id. Its zero value
// declares nothing and reads nothing.
type SecretHandle struct{ it item }

func (h SecretHandle) apply(c *config) {
	if h.it.Kind != 0 { // the zero handle declares nothing
		c.items = append(c.items, h.it)
	}
}

// Value returns the secret's value, as Secret does.
func (h SecretHandle) Value(ctx context.Context) (string, error) {
	return Secret(ctx, h.it.ref())
}

// Binary returns the secret's value as bytes, as SecretBinary does.
func (h SecretHandle) Binary(ctx context.Context) ([]byte, error) {
	return SecretBinary(ctx, h.it.ref())
}

// Refresh fetches the secret again, now, as RefreshSecret does.
func (h SecretHandle) Refresh(ctx context.Context) (string, error) {
	return RefreshSecret(ctx, h.it.ref())
}

// String names the secret, never its value: `secret "prod/db"`.
func (h SecretHandle) String() string { return h.it.describe() }

// GoString is String, so that %#v reveals no Default either.
func (h SecretHandle) GoString() string { return h.String() }

// Format writes String under every verb, so that no verb (%d, %x, ...)
// prints a Default.
func (h SecretHandle) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }

// A ParameterHandle is a parameter declared with WithParameter, held as a
// value: an Option to give Wrap, and the way handlers read the parameter
// (see SecretHandle).
type ParameterHandle struct{ it item }

func (h ParameterHandle) apply(c *config) {
	if h.it.Kind != 0 { // the zero handle declares nothing
		c.items = append(c.items, h.it)
	}
}

// Value returns the parameter's value, as Parameter does.
func (h ParameterHandle) Value(ctx context.Context) (string, error) {
	return Parameter(ctx, h.it.ref())
}

// List returns a StringList parameter's items, as ParameterList does.
func (h ParameterHandle) List(ctx context.Context) ([]string, error) {
	return ParameterList(ctx, h.it.ref())
}

// Refresh fetches the parameter again, now, as RefreshParameter does.
func (h ParameterHandle) Refresh(ctx context.Context) (string, error) {
	return RefreshParameter(ctx, h.it.ref())
}

// String names the parameter, never its value: `parameter "/app/flags"`.
func (h ParameterHandle) String() string { return h.it.describe() }

// GoString is String, so that %#v reveals no Default either.
func (h ParameterHandle) GoString() string { return h.String() }

// Format writes String under every verb, so that no verb (%d, %x, ...)
// prints a Default.
func (h ParameterHandle) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, h.String()) }
