package moto

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lambda-mw/mw/mwtest"
)

// The region and account of every ARN moto makes up.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// A Backend is a moto Server as a test's source of parameters and secrets:
// it seeds them with the data methods of mwtest.Extension (PutParameter,
// LabelParameter, PutSecret, PutSecretBinary, StageSecret, Deny,
// DenyDecrypt, PutRoleSecret, PutRoleParameter), serves them through a
// proxy that counts requests by operation, by name and by the role whose
// credentials signed them (Calls, Fetches, CallsAs), refuses AssumeRole
// for roles it was given nothing for, and injects faults (Fail,
// SetLatency), and gives the aws.Config that points the SDK at the proxy.
//
// Seeding goes to moto directly and is not counted. Its methods fail the
// test on error, from the test's goroutine; the proxy is safe for
// concurrent use.
type Backend struct {
	tb    testing.TB
	srv   string // moto's own URL
	proxy *httptest.Server
	ssm   *ssm.Client
	sm    *secretsmanager.Client
	p     *proxy
}

// NewBackend clears srv's state and starts a proxy in front of it, closed
// when the test ends. The Backends of one Server share its state: use one
// at a time. A nil srv (moto_server is missing, and Main allowed the tests
// to skip) skips the test.
func NewBackend(tb testing.TB, srv *Server) *Backend {
	tb.Helper()
	if srv == nil {
		tb.Skip(ErrMissing)
	}
	if err := srv.Reset(); err != nil {
		tb.Fatal(err)
	}
	p := newProxy(srv.URL)
	b := &Backend{tb: tb, srv: srv.URL, p: p, proxy: httptest.NewServer(p)}
	tb.Cleanup(b.proxy.Close)
	direct := Config(srv.URL)
	b.ssm = ssm.NewFromConfig(direct)
	b.sm = secretsmanager.NewFromConfig(direct)
	return b
}

// Config returns an aws.Config for endpoint: region us-east-1, static
// credentials test/test, no shared config read.
func Config(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// Config returns an aws.Config that reaches moto through the proxy.
func (b *Backend) Config() aws.Config { return Config(b.proxy.URL) }

// URL is the proxy's URL.
func (b *Backend) URL() string { return b.proxy.URL }

// ParameterARN returns the ARN moto gives the parameter name.
func ParameterARN(name string) string {
	return "arn:aws:ssm:" + Region + ":" + AccountID + ":parameter/" + strings.TrimPrefix(name, "/")
}

func (b *Backend) ctx() context.Context { return context.Background() }

func (b *Backend) check(what string, err error) {
	if err != nil {
		b.tb.Helper()
		b.tb.Fatalf("moto: %s: %v", what, err)
	}
}

// PutParameter stores a new version of parameter name and returns its
// number. typ is "String" (also for ""), "StringList" (value already
// comma-joined) or "SecureString" (with the default key, alias/aws/ssm).
func (b *Backend) PutParameter(name, typ, value string) int64 {
	b.tb.Helper()
	if typ == "" {
		typ = string(ssmtypes.ParameterTypeString)
	}
	out, err := b.ssm.PutParameter(b.ctx(), &ssm.PutParameterInput{
		Name: aws.String(name), Type: ssmtypes.ParameterType(typ), Value: aws.String(value), Overwrite: aws.Bool(true),
	})
	b.check("PutParameter "+name, err)
	return out.Version
}

// PutParameters stores values (by name) as parameters of type typ, as
// PutParameter does, with workers requests at a time: moto takes a few
// milliseconds of its own per request, and serves concurrent ones.
func (b *Backend) PutParameters(typ string, values map[string]string, workers int) {
	b.tb.Helper()
	if typ == "" {
		typ = string(ssmtypes.ParameterTypeString)
	}
	workers = max(workers, 1)
	names := make(chan string)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range names {
				_, err := b.ssm.PutParameter(b.ctx(), &ssm.PutParameterInput{
					Name: aws.String(n), Type: ssmtypes.ParameterType(typ), Value: aws.String(values[n]), Overwrite: aws.Bool(true),
				})
				if err != nil {
					errs <- fmt.Errorf("PutParameter %s: %w", n, err)
					for range names { // drain: the others stop too
					}
					return
				}
			}
		})
	}
	for n := range values {
		names <- n
	}
	close(names)
	wg.Wait()
	close(errs)
	b.check("PutParameters", <-errs)
}

// LabelParameter attaches labels to a version of parameter name.
func (b *Backend) LabelParameter(name string, version int64, labels ...string) {
	b.tb.Helper()
	out, err := b.ssm.LabelParameterVersion(b.ctx(), &ssm.LabelParameterVersionInput{
		Name: aws.String(name), ParameterVersion: aws.Int64(version), Labels: labels,
	})
	b.check("LabelParameterVersion "+name, err)
	if len(out.InvalidLabels) > 0 {
		b.tb.Fatalf("moto: LabelParameterVersion %s: invalid labels %q", name, out.InvalidLabels)
	}
}

// PutSecret stores a new SecretString version of secret id, creating the
// secret if need be, and returns its version id. The new version becomes
// AWSCURRENT and the one it replaces AWSPREVIOUS.
func (b *Backend) PutSecret(id, value string) string {
	b.tb.Helper()
	return b.putSecret(id, aws.String(value), nil)
}

// PutSecretBinary is PutSecret for a SecretBinary value.
func (b *Backend) PutSecretBinary(id string, value []byte) string {
	b.tb.Helper()
	return b.putSecret(id, nil, value)
}

func (b *Backend) putSecret(id string, str *string, bin []byte) string {
	b.tb.Helper()
	out, err := b.sm.PutSecretValue(b.ctx(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(id), SecretString: str, SecretBinary: bin,
	})
	if _, missing := errors.AsType[*smtypes.ResourceNotFoundException](err); missing {
		created, err := b.sm.CreateSecret(b.ctx(), &secretsmanager.CreateSecretInput{
			Name: aws.String(id), SecretString: str, SecretBinary: bin,
		})
		b.check("CreateSecret "+id, err)
		return aws.ToString(created.VersionId)
	}
	b.check("PutSecretValue "+id, err)
	return aws.ToString(out.VersionId)
}

// StageSecret attaches stages to a version of secret id, moving each from
// the version that has it.
func (b *Backend) StageSecret(id, versionID string, stages ...string) {
	b.tb.Helper()
	for _, stage := range stages {
		desc, err := b.sm.DescribeSecret(b.ctx(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
		b.check("DescribeSecret "+id, err)
		in := &secretsmanager.UpdateSecretVersionStageInput{
			SecretId: aws.String(id), VersionStage: aws.String(stage), MoveToVersionId: aws.String(versionID),
		}
		for v, ss := range desc.VersionIdsToStages {
			for _, s := range ss {
				if s == stage && v != versionID {
					in.RemoveFromVersionId = aws.String(v)
				}
			}
		}
		_, err = b.sm.UpdateSecretVersionStage(b.ctx(), in)
		b.check("UpdateSecretVersionStage "+id, err)
	}
}

// PutRoleSecret stores a new SecretString version of secret id as role
// reads it, and returns its version id; PutRoleParameter does the same for
// a parameter. moto keeps each account's state apart, and the credentials
// its AssumeRole issues are of the role's account: so the value goes to the
// account that role's ARN names (roles of one account read the same
// values, and a role of the default account reads the Backend's own). Each
// makes role one the proxy lets AssumeRole assume; a role given nothing is
// refused there with AccessDenied, as IAM refuses a role whose trust policy
// does not trust the caller.
func (b *Backend) PutRoleSecret(role, id, value string) string {
	b.tb.Helper()
	b.assumable(role)
	return b.inAccountOf(role).putSecret(id, aws.String(value), nil)
}

// PutRoleParameter: see PutRoleSecret.
func (b *Backend) PutRoleParameter(role, name, typ, value string) int64 {
	b.tb.Helper()
	b.assumable(role)
	return b.inAccountOf(role).PutParameter(name, typ, value)
}

// AllowAssume makes role one the proxy lets AssumeRole assume, with
// nothing stored for it: a role of the default account reads the
// Backend's own values.
func (b *Backend) AllowAssume(role string) { b.assumable(role) }

func (b *Backend) assumable(role string) { b.p.set(func(p *proxy) { p.assumable[role] = true }) }

// inAccountOf returns a Backend whose seeding clients act in the account of
// role's ARN, through moto's x-moto-account-id header.
func (b *Backend) inAccountOf(role string) *Backend {
	b.tb.Helper()
	parts := strings.SplitN(role, ":", 6)
	if len(parts) != 6 || parts[2] != "iam" || len(parts[4]) != 12 {
		b.tb.Fatalf("moto: %q is not an IAM role's ARN", role)
	}
	header := smithyhttp.AddHeaderValue("x-moto-account-id", parts[4])
	direct := Config(b.srv)
	c := *b
	c.ssm = ssm.NewFromConfig(direct, func(o *ssm.Options) { o.APIOptions = append(o.APIOptions, header) })
	c.sm = secretsmanager.NewFromConfig(direct, func(o *secretsmanager.Options) { o.APIOptions = append(o.APIOptions, header) })
	return &c
}

// DeleteSecret schedules secret id for deletion (a 7-day recovery window):
// reading it then fails with InvalidRequestException.
func (b *Backend) DeleteSecret(id string) {
	b.tb.Helper()
	_, err := b.sm.DeleteSecret(b.ctx(), &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(id), RecoveryWindowInDays: aws.Int64(7),
	})
	b.check("DeleteSecret "+id, err)
}

// Deny makes requests that name the parameter or secret name (by name or
// ARN, with any selector) fail with AccessDeniedException, as IAM does
// (moto does not emulate IAM): a whole Parameter Store call or
// GetSecretValue fails, 400; BatchGetSecretValue answers 200 with the
// secret in Errors.
func (b *Backend) Deny(name string) { b.p.set(func(p *proxy) { p.denied[name] = true }) }

// DenyDecrypt makes reading the SecureString parameter or the secret name
// fail as a KMS key the role may not use does: Parameter Store answers the
// whole call 400 AccessDeniedException "The ciphertext refers to a customer
// master key ...", GetSecretValue 400 DecryptionFailure, BatchGetSecretValue
// an entry of Errors with DecryptionFailure.
func (b *Backend) DenyDecrypt(name string) { b.p.set(func(p *proxy) { p.noDecrypt[name] = true }) }

// Fail injects f into requests for op (such as "GetParameters"; "" for
// any) that name name ("" for any): the next f.Times of them, or all when
// Times is 0, once f.After of them have passed.
func (b *Backend) Fail(op, name string, f Fault) {
	b.p.set(func(p *proxy) {
		p.faults = append(p.faults, &rule{op: op, name: name, f: f, left: f.Times, skip: f.After})
	})
}

// SetLatency delays every request by d before it is forwarded (a request
// whose client goes away meanwhile is dropped).
func (b *Backend) SetLatency(d time.Duration) { b.p.set(func(p *proxy) { p.latency = d }) }

// Calls returns the number of requests for op, such as "GetParameters" or
// "BatchGetSecretValue", faulted ones included.
func (b *Backend) Calls(op string) int64 {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return b.p.calls[op]
}

// Requests returns the number of requests of any operation.
func (b *Backend) Requests() int64 {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return b.p.requests
}

// Fetches returns the number of requests that named name exactly as sent:
// a parameter name with its selector, a secret id, a path (an ARN counts
// apart from the name).
func (b *Backend) Fetches(name string) int64 {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return b.p.byName[name]
}

// CallsAs returns the number of requests for op signed with the
// credentials that AssumeRole issued for role, "" for the aws.Config's own.
func (b *Backend) CallsAs(op, role string) int64 {
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	return b.p.callsAs[callAs{op, role}]
}

// Reset zeroes the counters and removes the faults and the latency. Values,
// denials and roles stay.
func (b *Backend) Reset() {
	b.p.set(func(p *proxy) {
		p.calls, p.byName, p.requests = make(map[string]int64), make(map[string]int64), 0
		p.callsAs = make(map[callAs]int64)
		p.faults, p.latency = nil, 0
	})
}

// SecretARN returns the full ARN of secret id, as moto made it up.
func (b *Backend) SecretARN(id string) string {
	b.tb.Helper()
	desc, err := b.sm.DescribeSecret(b.ctx(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	b.check("DescribeSecret "+id, err)
	return aws.ToString(desc.ARN)
}

// FailNext makes the next n requests that name name meet f, as AWS
// answers it: throttling (400 ThrottlingException), a server error (500
// InternalServerError), a body that is not JSON, or a reset connection.
// With it, a Backend is an mwtest.RoleBackend, for mwtest.TestSource.
func (b *Backend) FailNext(name string, f mwtest.Fault, n int) {
	var mf Fault
	switch f {
	case mwtest.FaultThrottle:
		mf = Throttling()
	case mwtest.FaultServerError:
		mf = ServerError("InternalServerError")
	case mwtest.FaultMalformed:
		mf = Malformed(`{"unexpected":`)
	case mwtest.FaultReset:
		mf = Fault{Reset: true}
	}
	mf.Times = n
	b.Fail("", name, mf)
}
