package cloudext

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/lambda-mw/mw"
)

// The shapes of an extension key, as the Cloud Extensions API reference
// documents them (ExtensionKey, SecretKey): "CXEK followed by 16 uppercase
// letters or digits", and a secret key of "16 to 36 letters, digits, or
// hyphens".
var (
	accessKeyIDPattern = regexp.MustCompile(`^CXEK[A-Z0-9]{16}$`)
	secretKeyPattern   = regexp.MustCompile(`^[a-zA-Z0-9-]{16,36}$`)
)

// credentials are what requests are signed with: the aws.Config's, or an
// extension key.
type credentials interface {
	// get returns the credentials to sign with; its error is a
	// *mw.SourceError, or ctx's own.
	get(ctx context.Context) (aws.Credentials, error)
	// refused tells that the runtime refused them: a key read from a
	// secret is read again by the next request, in case it was rotated.
	refused()
}

// runtimeCredentials are the aws.Config's: in Lambda, the function's own,
// which the runtime has too (runtimeCredentials authentication).
type runtimeCredentials struct{ p aws.CredentialsProvider }

var errNoConfigCredentials = errors.New("the aws.Config has no credentials; nothing was sent")

func (r runtimeCredentials) get(ctx context.Context) (aws.Credentials, error) {
	if r.p == nil {
		return aws.Credentials{}, &mw.SourceError{Class: mw.ClassConfig, Err: errNoConfigCredentials,
			Hint: "load the aws.Config with config.LoadDefaultConfig, which reads the function's credentials, " +
				"or use cloudext.WithExtensionKey or cloudext.WithoutAuthentication, as the profile's authentication says"}
	}
	c, err := r.p.Retrieve(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return aws.Credentials{}, ctx.Err()
		}
		// The provider's message is not kept: it may quote a credential
		// file or a token.
		return aws.Credentials{}, &mw.SourceError{Class: mw.ClassConfig,
			Err:  errors.New("the aws.Config's credentials could not be retrieved; nothing was sent"),
			Hint: "check where the aws.Config finds credentials (in Lambda, the function's environment)"}
	}
	return c, nil
}

func (runtimeCredentials) refused() {}

// keyCredentials are an extension key (extensionKey authentication).
type keyCredentials struct{ p aws.CredentialsProvider }

func (k keyCredentials) get(ctx context.Context) (aws.Credentials, error) {
	c, err := k.p.Retrieve(ctx)
	if err != nil {
		if se, ok := errors.AsType[*mw.SourceError](err); ok {
			return aws.Credentials{}, se
		}
		if ctx.Err() != nil {
			return aws.Credentials{}, ctx.Err()
		}
		return aws.Credentials{}, &mw.SourceError{Class: mw.ClassConfig,
			Err:  errors.New("the extension key could not be retrieved; nothing was sent"),
			Hint: "check the aws.CredentialsProvider given to cloudext.WithExtensionKey"}
	}
	if err := checkKey(c.AccessKeyID, c.SecretAccessKey, "the extension key"); err != nil {
		return aws.Credentials{}, err
	}
	c.SessionToken = "" // an extension key has none
	return c, nil
}

func (k keyCredentials) refused() {
	if inv, ok := k.p.(interface{ Invalidate() }); ok {
		inv.Invalidate()
	}
}

// checkKey refuses an access key ID or secret key that cannot be an
// extension key's, without saying either.
func checkKey(id, secret, from string) *mw.SourceError {
	switch {
	case !accessKeyIDPattern.MatchString(id):
		hint := "give the profile's extension key: its access key ID is CXEK followed by 16 uppercase letters or digits " +
			"(aws cloudextensions get-profile shows it)"
		if strings.HasPrefix(id, "AKIA") || strings.HasPrefix(id, "ASIA") {
			hint = "that is an IAM access key, not an extension key: give the profile's CXEK… key, " +
				"or, if the profile's authentication is runtimeCredentials, drop cloudext.WithExtensionKey"
		}
		return &mw.SourceError{Class: mw.ClassConfig, Hint: hint,
			Err: fmt.Errorf("the access key ID of %s is not an extension key's (CXEK and 16 letters or digits); nothing was sent", from)}
	case !secretKeyPattern.MatchString(secret):
		return &mw.SourceError{Class: mw.ClassConfig,
			Err:  fmt.Errorf("the secret key of %s is not 16 to 36 letters, digits or hyphens; nothing was sent", from),
			Hint: "give the extension key's secret key alone, with no spaces, quotes or newline"}
	}
	return nil
}

// ExtensionKey returns an extension key given directly, for
// WithExtensionKey. It prints as its access key ID alone.
func ExtensionKey(accessKeyID, secretKey string) aws.CredentialsProvider {
	return staticKey{id: accessKeyID, secret: secretKey}
}

type staticKey struct{ id, secret string }

func (k staticKey) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret, Source: "cloudext.ExtensionKey"}, nil
}

// Format prints the key without its secret key, for any verb.
func (k staticKey) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "cloudext.ExtensionKey("+printableID(k.id)+")")
}

// ExtensionKeyFromEnv returns an extension key read from two environment
// variables, accessKeyIDVar and secretKeyVar, on each request, for
// WithExtensionKey: for example the function's CLOUDEXTENSIONS_ACCESS_KEY_ID
// and CLOUDEXTENSIONS_SECRET_KEY, set from the profile's key. A variable
// that is unset fails each request, naming the variable.
func ExtensionKeyFromEnv(accessKeyIDVar, secretKeyVar string) aws.CredentialsProvider {
	return envKey{idVar: accessKeyIDVar, secretVar: secretKeyVar}
}

type envKey struct{ idVar, secretVar string }

func (k envKey) Retrieve(context.Context) (aws.Credentials, error) {
	for _, v := range []string{k.idVar, k.secretVar} {
		if os.Getenv(v) == "" {
			return aws.Credentials{}, &mw.SourceError{Class: mw.ClassConfig,
				Err:  fmt.Errorf("%s is unset or empty: the extension key cannot be read; nothing was sent", v),
				Hint: fmt.Sprintf("set %s and %s in the function's environment to the profile's extension key", k.idVar, k.secretVar)}
		}
	}
	id, secret := os.Getenv(k.idVar), os.Getenv(k.secretVar)
	if err := checkKey(id, secret, k.idVar+" and "+k.secretVar); err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, Source: "cloudext.ExtensionKeyFromEnv"}, nil
}

// ExtensionKeyFromSecret returns an extension key whose secret key is read
// from the AWS Secrets Manager secret secretID (a name or ARN, whose
// SecretString is the key alone), with cfg's credentials, for
// WithExtensionKey: AWS suggests keeping the key in Secrets Manager. The
// secret is read by the first request that needs the key, within that
// request's context, one read at a time; the key is kept until the
// runtime refuses it (it may have been rotated: an update of the profile
// that supplies no secret key rotates it), when the next request reads it
// again. A failed read is not kept. The function's role needs
// secretsmanager:GetSecretValue on the secret (and kms:Decrypt for a
// customer managed key).
func ExtensionKeyFromSecret(cfg aws.Config, accessKeyID, secretID string) aws.CredentialsProvider {
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		// mw retries a failed request, read included, within the
		// invoke's deadline: one attempt here.
		o.Retryer, o.RetryMaxAttempts = aws.NopRetryer{}, 0
		o.ClientLogMode &^= aws.LogRequestWithBody | aws.LogResponseWithBody
	})
	return &secretKey{read: func(ctx context.Context) (*string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return nil, err
		}
		return out.SecretString, nil
	}, id: accessKeyID, secretID: secretID, turn: make(chan struct{}, 1)}
}

// secretKey is an extension key whose secret key is read from a secret.
type secretKey struct {
	read     func(context.Context) (*string, error)
	id       string
	secretID string
	turn     chan struct{} // one read at a time

	mu  sync.Mutex
	key string // "" until read
}

func (k *secretKey) cached() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.key
}

// Retrieve returns the key, reading the secret if it has not been read.
func (k *secretKey) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds := func(key string) aws.Credentials {
		return aws.Credentials{AccessKeyID: k.id, SecretAccessKey: key, Source: "cloudext.ExtensionKeyFromSecret"}
	}
	if key := k.cached(); key != "" {
		return creds(key), nil
	}
	select {
	case k.turn <- struct{}{}:
		defer func() { <-k.turn }()
	case <-ctx.Done():
		return aws.Credentials{}, ctx.Err()
	}
	if key := k.cached(); key != "" { // read while this one waited
		return creds(key), nil
	}
	v, err := k.read(ctx)
	if err != nil {
		return aws.Credentials{}, k.readError(ctx, err)
	}
	key := ""
	if v != nil {
		key = strings.TrimSpace(*v)
	}
	if e := checkKey(k.id, key, "the extension key, with its secret key read from "+k.secretID); e != nil {
		return aws.Credentials{}, e
	}
	k.mu.Lock()
	k.key = key
	k.mu.Unlock()
	return creds(key), nil
}

// Invalidate forgets the key: the next request reads the secret again.
func (k *secretKey) Invalidate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key = ""
}

// Format prints the key without its secret key, for any verb.
func (k *secretKey) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "cloudext.ExtensionKeyFromSecret("+printableID(k.id)+", "+k.secretID+")")
}

// readError describes a failed read of the key's secret by its AWS error
// code alone: the message of an error of Secrets Manager names the secret
// and the caller, never a value, but the SDK's error may hold more.
func (k *secretKey) readError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	code := ""
	if ae, ok := errors.AsType[smithy.APIError](err); ok {
		code = ae.ErrorCode()
	}
	se := &mw.SourceError{Code: code, Err: fmt.Errorf("reading the extension key's secret key from the secret %s failed; nothing was sent to the runtime", k.secretID)}
	switch code {
	case "ResourceNotFoundException":
		se.Class, se.Hint = mw.ClassConfig, "no such secret: check the secret id given to cloudext.ExtensionKeyFromSecret, and the aws.Config's Region"
	case "AccessDeniedException":
		se.Class, se.Hint = mw.ClassAccessDenied, "allow secretsmanager:GetSecretValue on the secret that holds the extension key, in the function's role"
	case "DecryptionFailure":
		se.Class, se.Hint = mw.ClassDecrypt, "allow kms:Decrypt on the KMS key that encrypts the secret that holds the extension key"
	case "ThrottlingException", "InternalServiceError", "InternalFailure":
		se.Class, se.Retry, se.Hint = mw.ClassServerError, true, "Secrets Manager could not answer the read of the extension key's secret; mw retries"
		if code == "ThrottlingException" {
			se.Class = mw.ClassThrottled
		}
	case "":
		se.Class, se.Retry, se.Hint = mw.ClassUnavailable, true, "Secrets Manager did not answer the read of the extension key's secret: "+
			"a function in a VPC needs a NAT gateway or an interface VPC endpoint for secretsmanager"
	default:
		se.Class, se.Hint = mw.ClassOther, "Secrets Manager refused the read of the extension key's secret: check the secret id"
	}
	return se
}

// printableID is an access key ID as it may be printed: an extension key's
// ID is not secret, but only one of that shape is printed whole.
func printableID(id string) string {
	if accessKeyIDPattern.MatchString(id) {
		return id
	}
	return "an access key ID that is not an extension key's"
}
