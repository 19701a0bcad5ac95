package awssdk_test

import (
	"fmt"
	"testing"

	"github.com/lambda-mw/mw"
	"github.com/lambda-mw/mw/awssdk"
)

// TestBatchGetSecretValue: string and binary secrets, by name, full ARN and
// partial ARN, a missing and a deleted one, in one call whose per-secret
// Errors fail those items alone.
func TestBatchGetSecretValue(t *testing.T) {
	b := newBackend(t)
	b.PutSecret("prod/db", "db-password")
	b.PutSecret("prod/db", "db-password-2")
	binary := []byte{0, 1, 0xfe, 0xff, 'x'}
	b.PutSecretBinary("prod/cert", binary)
	b.PutSecret("prod/old", "old-value")
	b.DeleteSecret("prod/old")
	full := b.SecretARN("prod/db")
	partial := full[:len(full)-7]
	src := awssdk.New(b.Config())

	items := []mw.Item{
		secret("prod/db"),
		secret("prod/cert"),
		secret(full),
		secret(partial),
		secret("prod/missing"),
		secret("prod/old"),
	}
	res := fetch(t, src, "BatchGetSecretValue", items...)
	wantValues(t, items[:4], res[:4], []string{"db-password-2", string(binary), "db-password-2", "db-password-2"})
	wantFailure(t, "missing", res[4].Err, failure{
		class: mw.ClassNotFound, status: 200, code: "ResourceNotFoundException",
		hint: []string{"no such secret", "region us-east-1"},
	})
	wantFailure(t, "deleted", res[5].Err, failure{
		class: mw.ClassNotFound, status: 200, code: "InvalidRequestException",
		hint: []string{"scheduled for deletion", "secretsmanager:RestoreSecret"},
	})
	if got := b.Calls("BatchGetSecretValue"); got != 1 {
		t.Errorf("BatchGetSecretValue calls = %d, want 1", got)
	}
	if got := b.Requests(); got != 1 {
		t.Errorf("requests = %d, want 1", got)
	}
}

// TestBatchGetSecretValueBatches fetches M secrets in one Fetch: ⌈M/20⌉
// BatchGetSecretValue calls, each id in exactly one.
func TestBatchGetSecretValueBatches(t *testing.T) {
	b := newBackend(t)
	var all []mw.Item
	var values []string
	for i := range 45 {
		id := fmt.Sprintf("batch/s%02d", i)
		b.PutSecret(id, "value-"+id)
		all = append(all, secret(id))
		values = append(values, "value-"+id)
	}
	checkBatches(t, b, awssdk.New(b.Config()), "BatchGetSecretValue", 20, all, values, 1, 20, 21, 40, 45)
}

// TestGetSecretValuePinned: secrets pinned by stage or version id go
// through GetSecretValue, one call each.
func TestGetSecretValuePinned(t *testing.T) {
	b := newBackend(t)
	v1 := b.PutSecret("app/key", "key-1")
	v2 := b.PutSecret("app/key", "key-2")
	v3 := b.PutSecret("app/key", "key-3")
	b.StageSecret("app/key", v1, "blue")
	b.PutSecret("app/gone", "gone")
	b.DeleteSecret("app/gone")
	src := awssdk.New(b.Config())

	items := []mw.Item{
		{Kind: mw.KindSecret, Name: "app/key", VersionStage: "AWSCURRENT"},
		{Kind: mw.KindSecret, Name: "app/key", VersionStage: "AWSPREVIOUS"},
		{Kind: mw.KindSecret, Name: "app/key", VersionStage: "blue"},
		{Kind: mw.KindSecret, Name: "app/key", VersionID: v2},
		{Kind: mw.KindSecret, Name: b.SecretARN("app/key"), VersionID: v3, VersionStage: "AWSCURRENT"},
	}
	res := fetch(t, src, "GetSecretValue", items...)
	wantValues(t, items, res, []string{"key-3", "key-2", "key-1", "key-2", "key-3"})
	if got := b.Calls("GetSecretValue"); got != int64(len(items)) {
		t.Errorf("GetSecretValue calls = %d, want %d", got, len(items))
	}

	b.Reset()
	bad := []mw.Item{
		{Kind: mw.KindSecret, Name: "app/key", VersionStage: "nosuchstage"},
		{Kind: mw.KindSecret, Name: "app/missing", VersionStage: "AWSCURRENT"},
		{Kind: mw.KindSecret, Name: "app/gone", VersionStage: "AWSCURRENT"},
	}
	res = fetch(t, src, "GetSecretValue", bad...)
	// moto answers ResourceNotFoundException with HTTP 404; AWS with 400.
	wantFailure(t, "no such stage", res[0].Err, failure{class: mw.ClassNotFound, status: 404,
		code: "ResourceNotFoundException", hint: []string{"version id or stage"}})
	wantFailure(t, "no such secret", res[1].Err, failure{class: mw.ClassNotFound, status: 404,
		code: "ResourceNotFoundException", hint: []string{"no such secret"}})
	wantFailure(t, "deleted", res[2].Err, failure{class: mw.ClassNotFound, status: 400,
		code: "InvalidRequestException", hint: []string{"scheduled for deletion"}})
	if got := b.Calls("GetSecretValue"); got != 3 {
		t.Errorf("GetSecretValue calls = %d, want 3", got)
	}
}
