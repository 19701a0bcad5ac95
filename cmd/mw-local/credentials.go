package main

import "strings"

// The function's AWS credentials.

// The variables that hold them, as Lambda sets them for every function.
const (
	accessKeyEnv = "AWS_ACCESS_KEY_ID"
	secretKeyEnv = "AWS_SECRET_ACCESS_KEY"
	tokenEnv     = "AWS_SESSION_TOKEN"
)

// credentials are the function's AWS credentials, which Lambda gives every
// function: made for the run, unless -env gives them. The extension and
// the agent check the session token; the cloudext dialect checks each
// request's signature against all three, as the Cloud Extensions runtime
// checks the function's (its own are the same).
type credentials struct {
	accessKeyID, secretKey, token string
	made                          map[string]bool // the variables made for the run, by name
}

// newCredentials takes the credentials -env gives, and makes the others:
// an access key ID of the shape of a temporary one (ASIA…), a secret key
// and a token, random.
func newCredentials(user map[string]string) credentials {
	c := credentials{made: map[string]bool{}}
	for _, v := range []struct {
		name string
		to   *string
		make func() string
	}{
		{accessKeyEnv, &c.accessKeyID, func() string { return "ASIA" + strings.ToUpper(randomHex(8)) }},
		{secretKeyEnv, &c.secretKey, func() string { return randomHex(20) }},
		{tokenEnv, &c.token, func() string { return randomHex(16) }},
	} {
		value, given := user[v.name]
		if !given {
			value, c.made[v.name] = v.make(), true
		}
		*v.to = value
	}
	return c
}

// env returns the variables that hold the credentials.
func (c credentials) env() map[string]string {
	return map[string]string{accessKeyEnv: c.accessKeyID, secretKeyEnv: c.secretKey, tokenEnv: c.token}
}
