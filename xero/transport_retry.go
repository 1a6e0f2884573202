package xero

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// retryPolicy is the one place that decides whether a call is made again. Every attempt of a
// call goes through the whole transport chain (budget → bearer → metrics → base), so a repeated
// attempt waits for the budget like a first one, and the budget sees every answer. A call makes
// at most maxAttempts attempts in all, whatever made them fail:
//
//   - 5xx (but 501), and errors that IsRetryable accepts (timeouts, dropped or refused
//     connections, a token endpoint failing on its side, a truncated or malformed body):
//     jittered exponential backoff, or the Retry-After if the response gives a longer one;
//   - 429 minute, appminute and concurrent: wait the Retry-After (backoff if there is none);
//     a Retry-After above maxRetryAfter is returned to the caller instead;
//   - 401 TokenExpired: once per call, at once (the bearer layer has dropped the rejected
//     access token, so the next attempt refreshes it);
//   - 429 day, and every other answer, are returned as they are.
type retryPolicy struct {
	clock         clock
	log           *slog.Logger
	metrics       *metrics
	maxAttempts   int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
}

// run makes attempt until it succeeds, fails for good or has been made maxAttempts times.
func (p *retryPolicy) run(ctx context.Context, cl call, attempt func() error) error {
	refreshed := false
	for n := 1; ; n++ {
		err := attempt()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait, reason := p.decide(n, err, &refreshed)
		if reason == "" {
			return err
		}
		if n >= p.maxAttempts {
			var ae *APIError
			if errors.As(err, &ae) {
				return err // it names the answer; the attempts are Config.MaxAttempts
			}
			return fmt.Errorf("after %d attempts: %w", n, err)
		}
		p.metrics.retries.WithLabelValues(reason).Inc()
		p.log.DebugContext(ctx, "xero: retrying", "endpoint", cl.endpoint, "tenant", cl.tenant,
			"reason", reason, "attempt", n, "wait", wait)
		if err := p.clock.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// decide says whether a failed attempt is repeated: the wait before the next one and the reason
// (a metric label), or an empty reason to return the failure as it is. refreshed records that
// the call has already had its one retry after a 401 TokenExpired.
func (p *retryPolicy) decide(attempt int, err error, refreshed *bool) (time.Duration, string) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Endpoint != tokenPath {
		switch code := ae.StatusCode; {
		case code == http.StatusTooManyRequests:
			switch {
			case ae.Problem == ProblemDay, ae.RetryAfter > p.maxRetryAfter:
				return 0, ""
			case ae.RetryAfter > 0:
				return ae.RetryAfter, "rate_limit"
			}
			return p.backoff(attempt), "rate_limit"
		case code == http.StatusUnauthorized && strings.HasPrefix(ae.Problem, detailTokenExpired):
			if *refreshed {
				return 0, ""
			}
			*refreshed = true
			return 0, "token_expired"
		case code >= 500 && code != http.StatusNotImplemented:
			return max(p.backoff(attempt), min(ae.RetryAfter, p.maxRetryAfter)), "server_error"
		}
		return 0, ""
	}
	if !IsRetryable(err) {
		return 0, ""
	}
	var be *bodyError
	if errors.As(err, &be) {
		return p.backoff(attempt), "body"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return p.backoff(attempt), "timeout"
	}
	return p.backoff(attempt), "network"
}

// backoff is the wait after the given failed attempt: base*2^(attempt-1), at most max, with
// jitter taking it down to half at random so that callers failing together do not retry
// together.
func (p *retryPolicy) backoff(attempt int) time.Duration {
	return backoff(p.backoffBase, p.backoffMax, attempt)
}

func backoff(base, ceiling time.Duration, attempt int) time.Duration {
	d := ceiling
	if shift := attempt - 1; shift < 30 && base<<shift < ceiling {
		d = base << shift
	}
	return d/2 + rand.N(d/2+1)
}

// drain reads a little of a discarded body, so the connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
