package cloudexttest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// DefaultSSRFHeader is the Secrets Manager extension's first SSRF token
// header.
const DefaultSSRFHeader = "X-Aws-Parameters-Secrets-Token"

// The credentials the fake accepts by default: runtime credentials as a
// Lambda function's environment holds them (an access key, its secret and
// a session token), and an extension key of the documented shapes. They
// are test values, and are never printed by the fake.
const (
	RuntimeAccessKeyID   = "AKIACLOUDEXTTEST0001"
	RuntimeSecretKey     = "cloudexttest-runtime-secret-access-key"
	RuntimeSessionToken  = "cloudexttest-runtime-session-token"
	ExtensionAccessKeyID = "CXEKCLOUDEXTTEST0001"
	ExtensionSecretKey   = "cloudexttest-extension-key-1"
)

const (
	extensionKeyPrefix  = "CXEK"
	amzDateLayout       = "20060102T150405Z"
	signatureAlgorithm  = "AWS4-HMAC-SHA256"
	headerSecurityToken = "X-Amz-Security-Token"
	headerAmzDate       = "X-Amz-Date"
	headerErrorType     = "X-Amzn-Errortype"
	headerErrorReason   = "Cloudextensions-Error-Reason"
	headerForwardedFor  = "X-Forwarded-For"
)

// An AuthMode is a profile's authentication of local clients.
type AuthMode int

// The authentications a profile may set (the Cloud Extensions API's
// Authentication union).
const (
	// AuthRuntimeCredentials: requests are signed with SigV4 with the
	// runtime's own credentials (the default).
	AuthRuntimeCredentials AuthMode = iota
	// AuthExtensionKey: requests are signed with the profile's extension
	// key, a CXEK… access key ID and its secret key, with no session
	// token.
	AuthExtensionKey
	// AuthNone: requests need no signature.
	AuthNone
)

// Auth is the profile's authentication and the credentials it accepts.
// Empty credentials are the defaults of the mode: RuntimeAccessKeyID,
// RuntimeSecretKey and RuntimeSessionToken, or ExtensionAccessKeyID and
// ExtensionSecretKey.
type Auth struct {
	Mode         AuthMode
	AccessKeyID  string
	SecretKey    string
	SessionToken string // runtime credentials only; "" for none
}

func (a Auth) withDefaults() Auth {
	if a.AccessKeyID != "" {
		return a
	}
	switch a.Mode {
	case AuthRuntimeCredentials:
		a.AccessKeyID, a.SecretKey, a.SessionToken = RuntimeAccessKeyID, RuntimeSecretKey, RuntimeSessionToken
	case AuthExtensionKey:
		a.AccessKeyID, a.SecretKey = ExtensionAccessKeyID, ExtensionSecretKey
	}
	return a
}

// Format prints the mode and the access key ID, never a secret.
func (a Auth) Format(f fmt.State, _ rune) {
	mode := map[AuthMode]string{AuthRuntimeCredentials: "runtimeCredentials", AuthExtensionKey: "extensionKey", AuthNone: "none"}[a.Mode]
	_, _ = io.WriteString(f, "cloudexttest.Auth("+mode+", "+a.AccessKeyID+")")
}

// The reasons of an authentication failure (the AppConfig extension's
// error table, the AppConfig Cloud Extension SDK's AccessDeniedException).
const (
	reasonMissing      = "MISSING_AUTHENTICATION"
	reasonExpired      = "SIGNATURE_EXPIRED"
	reasonUnknownKey   = "UNKNOWN_ACCESS_KEY"
	reasonIAMCredUsed  = "IAM_CREDENTIAL_USED"
	reasonMismatch     = "SIGNATURE_MISMATCH"
	emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// verify checks a request's SigV4 signature as the profile requires, and
// returns the reason it is refused, or "". The signature is recomputed
// with the AWS SDK's signer from the request's own time, scope and signed
// headers and the credentials the profile accepts, and compared.
func (s *Server) verify(r *http.Request, body []byte, rt route, now time.Time) string {
	s.mu.Lock()
	auth := s.auth
	s.mu.Unlock()
	if auth.Mode == AuthNone {
		return ""
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return reasonMissing
	}
	cred, signed, sig, ok := authFields(authz)
	scope := strings.Split(cred, "/")
	if !ok || len(scope) != 5 || scope[4] != "aws4_request" || signed == "" || sig == "" {
		return reasonMismatch
	}
	keyID, region, service := scope[0], scope[2], scope[3]
	at, err := time.Parse(amzDateLayout, r.Header.Get(headerAmzDate))
	if err != nil || at.Format("20060102") != scope[1] {
		return reasonMismatch
	}
	if d := now.Sub(at); d > s.settings.ClockSkew || d < -s.settings.ClockSkew {
		return reasonExpired
	}
	switch {
	case keyID == auth.AccessKeyID:
	case auth.Mode == AuthExtensionKey && !strings.HasPrefix(keyID, extensionKeyPrefix):
		return reasonIAMCredUsed
	default:
		return reasonUnknownKey
	}
	if service != rt.signingName(s) || s.settings.Region != "" && region != s.settings.Region {
		return reasonMismatch
	}
	token := ""
	if auth.Mode == AuthRuntimeCredentials {
		token = auth.SessionToken
		if token != "" && !hmac.Equal([]byte(r.Header.Get(headerSecurityToken)), []byte(token)) {
			return reasonMismatch
		}
	}
	want, err := resign(r, body, signed, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: auth.SecretKey, SessionToken: token}, service, region, at)
	if err != nil {
		return reasonMismatch
	}
	_, wantSigned, wantSig, _ := authFields(want)
	if wantSigned != signed || !hmac.Equal([]byte(wantSig), []byte(sig)) {
		return reasonMismatch
	}
	return ""
}

// authFields returns the Credential, SignedHeaders and Signature of an
// Authorization header, and false if it is not a SigV4 one.
func authFields(authz string) (cred, signed, sig string, ok bool) {
	fields, ok := strings.CutPrefix(authz, signatureAlgorithm+" ")
	if !ok {
		return "", "", "", false
	}
	for f := range strings.SplitSeq(fields, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			cred = v
		case "SignedHeaders":
			signed = v
		case "Signature":
			sig = v
		}
	}
	return cred, signed, sig, true
}

// resign signs a copy of r that has only the headers r says it signed, as
// a client with creds would have, and returns its Authorization header.
func resign(r *http.Request, body []byte, signedHeaders string, creds aws.Credentials, service, region string, at time.Time) (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "", err
	}
	req.Host = r.Host
	req.ContentLength = 0
	for h := range strings.SplitSeq(signedHeaders, ";") {
		switch h {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			req.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if creds.SessionToken != "" && !strings.Contains(";"+signedHeaders+";", ";x-amz-security-token;") {
		return "", fmt.Errorf("the session token is not signed")
	}
	hash := emptyPayloadSHA256
	if len(body) > 0 {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hash, service, region, at); err != nil {
		return "", err
	}
	return req.Header.Get("Authorization"), nil
}

// authError answers a request whose authentication is refused, in the
// route's style.
func (s *Server) authError(w http.ResponseWriter, rt route, reason string) {
	const msg = "The request is not signed with credentials that the profile accepts."
	switch rt.authStyle(s) {
	case AuthStyleSecretsManager:
		status, typ := http.StatusForbidden, "SignatureDoesNotMatch"
		switch reason {
		case reasonMissing:
			status, typ = http.StatusUnauthorized, "MissingAuthenticationToken"
		case reasonUnknownKey, reasonIAMCredUsed:
			typ = "InvalidClientTokenId"
		}
		w.Header().Set(headerErrorType, typ)
		s.writeJSON(w, status, map[string]any{s.settings.RuntimeMessageKey: msg})
	case AuthStyleParameterStore:
		w.Header().Set(headerErrorType, "AccessDeniedException")
		w.Header().Set(headerErrorReason, reason)
		s.writeJSON(w, http.StatusBadRequest, map[string]any{"__type": "AccessDeniedException", "Message": msg})
	default:
		w.Header().Set(headerErrorType, "AccessDeniedException")
		s.writeJSON(w, http.StatusForbidden, map[string]any{"__type": "AccessDeniedException", "message": msg, "reason": reason})
	}
}
