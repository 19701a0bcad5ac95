package mw

import "context"

// AppConfig returns the configuration of a profile declared with
// WithAppConfig, by the profile's name (or its Alias), as the AWS AppConfig
// Agent Lambda extension served it for the current invoke: the bytes of the
// deployed version, whatever its content type (JSON, YAML, text, or binary
// data). It does no I/O. Each call returns a new slice, which the caller
// may keep and change. As the other accessors, it returns a *LookupError
// when ctx holds no values or the profile was not declared, or when an
// Optional profile has no value.
func AppConfig(ctx context.Context, profile string) ([]byte, error) {
	s, i, err := find(ctx, KindAppConfig, profile)
	if err != nil {
		return nil, err
	}
	return []byte(s.Values[i]), nil
}

// AppConfigJSON decodes a declared profile's JSON configuration into a T,
// as SecretJSON does for secrets: decoded once per type and value when T
// holds no pointers, maps, slices or interfaces, else on each call. A
// configuration that is not JSON of T's shape (such as a YAML one) gives a
// *LookupError wrapping ErrDecode, which says where the JSON went wrong but
// never quotes it.
func AppConfigJSON[T any](ctx context.Context, profile string) (T, error) {
	return decodeJSON[T](ctx, KindAppConfig, profile)
}
