package mwtest

import (
	"crypto/tls"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
)

// Faults makes a share of value requests (requests that name a parameter or
// a secret, once past the token check and readiness) fail. Each such request
// draws one number from a PRNG seeded with Seed, so a given sequence of
// requests meets the same faults on every run. Fractions below 0 count as 0;
// they are applied in the order Reset, Throttle, ServerError, so their sum
// should not exceed 1.
type Faults struct {
	// ServerError answers 500: the managed dialect with its generic text,
	// the agent with {"__type":"InternalFailure"}.
	ServerError float64
	// Throttle answers 429: the managed dialect with its generic text, the
	// agent with a ThrottlingException body.
	Throttle float64
	// Reset closes the connection without an answer, with a TCP RST where
	// the connection is TCP. Note that Go's http.Transport retries an
	// idempotent request once when a reused connection fails this way.
	Reset float64
	// Seed seeds the PRNG; SetFaults restarts it.
	Seed int64
}

// SetFaults sets the faults to inject and restarts their PRNG from f.Seed.
func (e *Extension) SetFaults(f Faults) {
	f.ServerError, f.Throttle, f.Reset = max(f.ServerError, 0), max(f.Throttle, 0), max(f.Reset, 0)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = f
	e.rng = newRand(f.Seed)
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6d77746573742121))
}

type fault int

const (
	noFault fault = iota
	faultReset
	faultThrottle
	faultServerError
	faultMalformed
)

// A Fault is an answer FailNext makes the fake give in place of an item's.
type Fault int

// The faults FailNext injects.
const (
	// FaultThrottle answers as Faults.Throttle does: 429, with AWS's
	// ThrottlingException in the agent dialect.
	FaultThrottle Fault = iota + 1
	// FaultServerError answers as Faults.ServerError does: 500.
	FaultServerError
	// FaultMalformed answers 200 with a body that is not the documented
	// JSON; in the AppConfig dialect, where any body is a configuration,
	// with a body larger than any configuration AppConfig stores
	// (4 MiB and one byte).
	FaultMalformed
	// FaultReset closes the connection without an answer.
	FaultReset
)

// String names the fault: "FaultThrottle", ...
func (f Fault) String() string {
	switch f {
	case FaultThrottle:
		return "FaultThrottle"
	case FaultServerError:
		return "FaultServerError"
	case FaultMalformed:
		return "FaultMalformed"
	case FaultReset:
		return "FaultReset"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// FailNext makes the next n value requests for name (as sent: a name, an
// ARN, a secret id; in the AppConfig dialect application/environment/profile) meet f, after the token check and readiness, whatever
// else Faults draws.
func (e *Extension) FailNext(name string, f Fault, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failNext == nil {
		e.failNext = map[string][]fault{}
	}
	e.store.name(name)
	in := map[Fault]fault{FaultThrottle: faultThrottle, FaultServerError: faultServerError, FaultMalformed: faultMalformed, FaultReset: faultReset}[f]
	for range n {
		e.failNext[name] = append(e.failNext[name], in)
	}
}

// nextFault takes the fault FailNext set for name, if any. e.mu must be
// held.
func (e *Extension) nextFault(name string) (fault, bool) {
	q := e.failNext[name]
	if len(q) == 0 {
		return noFault, false
	}
	e.failNext[name] = q[1:]
	return q[0], true
}

// drawFault decides the fault of one value request. e.mu must be held.
func (e *Extension) drawFault() fault {
	f := e.faults
	if f.Reset == 0 && f.Throttle == 0 && f.ServerError == 0 {
		return noFault
	}
	u := e.rng.Float64()
	switch {
	case u < f.Reset:
		return faultReset
	case u < f.Reset+f.Throttle:
		return faultThrottle
	case u < f.Reset+f.Throttle+f.ServerError:
		return faultServerError
	}
	return noFault
}

// answerFault answers a request that drew fault f. It reports whether f is
// noFault, that is whether the request goes on to its real answer.
func (e *Extension) answerFault(w http.ResponseWriter, f fault) bool {
	switch f {
	case faultReset:
		resetConn(w)
	case faultThrottle:
		e.replyAWS(w, http.StatusTooManyRequests, codeThrottling, msgThrottled)
	case faultServerError:
		e.replyAWS(w, http.StatusInternalServerError, codeInternalFailure, "")
	case faultMalformed:
		if e.dialect == AppConfig {
			e.reply(w, http.StatusOK, appJSON, oversize())
			break
		}
		e.reply(w, http.StatusOK, appJSON, `{"unexpected":`)
	default:
		return true
	}
	return false
}

// resetConn drops the connection without an answer: with a TCP RST when it
// can take the connection over, else by aborting the handler, which
// net/http turns into a closed connection (HTTP/1) or a reset stream
// (HTTP/2).
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	nc := conn
	if tc, ok := conn.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST
	}
	_ = nc.Close()
}
