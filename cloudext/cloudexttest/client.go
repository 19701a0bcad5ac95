package cloudexttest

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lambda-mw/mw/cloudext"
)

// Config returns an aws.Config whose credentials are the runtime
// credentials the fake accepts (Auth's, or RuntimeAccessKeyID,
// RuntimeSecretKey and RuntimeSessionToken), in us-east-1: what
// config.LoadDefaultConfig gives a Lambda function, whose runtime has the
// same credentials.
func (s *Server) Config() aws.Config {
	s.mu.Lock()
	a := s.auth
	s.mu.Unlock()
	if a.Mode != AuthRuntimeCredentials {
		a = Auth{}.withDefaults()
	}
	creds := aws.Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretKey, SessionToken: a.SessionToken, Source: "cloudexttest"}
	return aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return creds, nil
	})}
}

// NewSource returns a cloudext.Source for the fake served at baseURL (the
// URL of Start's server), authenticating as the fake's profile requires
// (its Auth, its SSRF token, its AppConfig signing name), and then as opts
// say. Give it to mw.WithSource:
//
//	f, srv := cloudexttest.Start(t, cloudexttest.Settings{})
//	f.PutSecret("prod/db", "pw")
//	h := mw.Wrap(handler, mw.WithSource(f.NewSource(srv.URL)), mw.WithSecrets("prod/db"))
func (s *Server) NewSource(baseURL string, opts ...cloudext.Option) *cloudext.Source {
	s.mu.Lock()
	a, token := s.auth, s.ssrfToken
	s.mu.Unlock()
	base := []cloudext.Option{cloudext.WithEndpoint(baseURL), cloudext.WithAppConfigSigningName(s.settings.AppConfigSigningName)}
	switch a.Mode {
	case AuthExtensionKey:
		base = append(base, cloudext.WithExtensionKey(cloudext.ExtensionKey(a.AccessKeyID, a.SecretKey)))
	case AuthNone:
		base = append(base, cloudext.WithoutAuthentication())
	}
	if token != "" {
		base = append(base, cloudext.WithSSRFToken(token), cloudext.WithSSRFHeader(s.settings.SSRFHeaders[0]))
	}
	return cloudext.New(s.Config(), append(base, opts...)...)
}
