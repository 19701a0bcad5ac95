package mw

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// The retry schedule: quick at first, to ride out an extension that is still
// starting, then capped so that late attempts stay frequent.
const (
	retryInitial    = 20 * time.Millisecond
	retryMax        = 250 * time.Millisecond
	retryMultiplier = 2
	retryJitter     = 0.25
)

// newBackOff returns the schedule for one item, stopping at the deadline:
// a wait that would end past it is not started, so the last real error is
// reported, not the deadline.
func newBackOff(ctx context.Context) backoff.BackOff {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(retryInitial),
		backoff.WithMaxInterval(retryMax),
		backoff.WithMultiplier(retryMultiplier),
		backoff.WithRandomizationFactor(retryJitter),
		backoff.WithMaxElapsedTime(0), // the context bounds it
	)
	return backoff.WithContext(deadlineBackOff{b, ctx}, ctx)
}

type deadlineBackOff struct {
	backoff.BackOff
	ctx context.Context
}

func (d deadlineBackOff) NextBackOff() time.Duration {
	next := d.BackOff.NextBackOff()
	if dl, ok := d.ctx.Deadline(); ok && next != backoff.Stop && time.Until(dl) < next {
		return backoff.Stop
	}
	return next
}

// fetchOne fetches one item with retries, within ctx. It reports every
// retried attempt to the span and returns a *FetchError on failure.
func (w *wrapper) fetchOne(ctx context.Context, it item, force bool, why fetchReason) (string, *FetchError) {
	ctx, tr := startFetch(ctx, w.tracing.tracer, it, force)
	start := time.Now()
	var (
		value    string
		attempts int
		status   int
		class    Class
		last     error
	)
	op := func() error {
		attempts++
		v, err := w.src.fetch(ctx, it, force)
		if err == nil {
			value, last, status = v, nil, http.StatusOK
			return nil
		}
		last = err
		status = statusOf(err)
		var retry bool
		class, retry = classify(err, w.inStartupWindow())
		if !retry {
			return backoff.Permanent(err)
		}
		return err
	}
	notify := func(_ error, delay time.Duration) {
		tr.retry(attempts, class, status, delay)
		w.metrics.retried(ctx, it, class)
	}
	err := backoff.RetryNotify(op, newBackOff(ctx), notify)
	if err == nil {
		tr.end(attempts, status, nil)
		w.metrics.fetched(ctx, it, why, time.Since(start), nil)
		return value, nil
	}
	if last == nil {
		// The context ended before the first attempt.
		last = err
		class, _ = classify(err, false)
	} else if ctx.Err() != nil && class != ClassTimeout && errors.Is(err, ctx.Err()) {
		// Stopped while waiting to retry: the deadline is what ended it,
		// but the last answer is what the user needs to see.
		last = errors.Join(last, ctx.Err())
	}
	fe := it.fetchError(class, last)
	fe.Status, fe.Code, fe.Attempts, fe.Elapsed = status, codeOf(last), attempts, time.Since(start)
	tr.end(attempts, status, fe)
	w.metrics.fetched(ctx, it, why, fe.Elapsed, fe)
	return "", fe
}

func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	var me *malformedError
	if errors.As(err, &me) {
		return me.status
	}
	return 0
}

func codeOf(err error) string {
	var se *statusError
	if errors.As(err, &se) {
		return se.code
	}
	return ""
}
