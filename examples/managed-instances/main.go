// Command managed-instances is a function for Lambda Managed Instances
// (LMI), where one process serves many invokes at once: Lambda sets
// AWS_LAMBDA_MAX_CONCURRENCY from the function's
// PerExecutionEnvironmentMaxConcurrency, and aws-lambda-go (v1.51.0 and
// later) runs that many invoke loops as goroutines.
//
// mw needs nothing special for it: the values of one mw.Wrap are shared by
// all its concurrent invokes, each item is fetched once however many cold
// invokes ask for it at the same moment, and its cache is goroutine-safe.
// What needs care is the function's own state, which all those goroutines
// share too: here a counter (atomic) and the HMAC key material (read-only
// after mw fetched it; a new hash.Hash per invoke, because a hash.Hash is
// not safe for concurrent use).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lambda-mw/mw"
)

const (
	// signingKey is a SecureString parameter; mw asks for it decrypted.
	signingKey = "/mw-examples/managed-instances/signing-key"
	// partnerToken is a secret string sent to a partner API.
	partnerToken = "mw-examples/managed-instances/partner-token"
)

// served counts the invokes this process has served. Concurrent invokes
// update it, so it is atomic; a plain int would be a data race.
var served atomic.Int64

// Event is the function's input.
type Event struct {
	OrderID string `json:"order_id"`
}

// Response is the function's output; no secret in it.
type Response struct {
	OrderID        string `json:"order_id"`
	Signature      string `json:"signature"` // HMAC-SHA256 of the order id with the signing key
	PartnerToken   bool   `json:"partner_token"`
	ServedHere     int64  `json:"served_by_this_process"`
	MaxConcurrency int    `json:"max_concurrency"` // AWS_LAMBDA_MAX_CONCURRENCY, 0 outside LMI
	PID            int    `json:"pid"`
}

func handler(ctx context.Context, e Event) (Response, error) {
	key, err := mw.Parameter(ctx, signingKey)
	if err != nil {
		return Response{}, err
	}
	tok, err := mw.Secret(ctx, partnerToken)
	if err != nil {
		return Response{}, err
	}
	mac := hmac.New(sha256.New, []byte(key)) // per invoke: a hash.Hash is not goroutine-safe
	mac.Write([]byte(e.OrderID))
	maxConc, _ := strconv.Atoi(os.Getenv("AWS_LAMBDA_MAX_CONCURRENCY"))
	return Response{
		OrderID:        e.OrderID,
		Signature:      hex.EncodeToString(mac.Sum(nil)),
		PartnerToken:   tok != "",
		ServedHere:     served.Add(1),
		MaxConcurrency: maxConc,
		PID:            os.Getpid(),
	}, nil
}

func main() {
	lambda.Start(mw.Wrap(handler,
		mw.WithParameters(signingKey),
		mw.WithSecrets(partnerToken),
	))
}
