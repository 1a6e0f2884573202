package xero

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// attemptObserver is told about the attempts the retry layer makes on its own; the budget
// implements it. Both methods find the call through req's context and do nothing for a request
// the budget did not see.
type attemptObserver interface {
	// beforeRetry waits until the budget allows another attempt.
	beforeRetry(req *http.Request) error
	// discarded takes in the limits reported by a response that will not be returned.
	discarded(req *http.Request, resp *http.Response)
}

// retryTransport repeats an attempt that failed for a reason that passes, at most maxAttempts
// attempts in all:
//
//   - 5xx (but 501), and errors that IsRetryable accepts (timeouts, dropped or refused
//     connections, a token endpoint failing on its side): jittered exponential backoff, or the
//     Retry-After if the response gives a longer one;
//   - 429 minute, appminute and concurrent: wait the Retry-After (backoff if there is none),
//     then try again; a Retry-After above maxRetryAfter is returned to the caller instead;
//   - 429 day is returned at once: the limit will not pass within a call.
//
// Anything else, success included, is returned as it is. A request body is replayed through
// GetBody; the list calls have none.
type retryTransport struct {
	inner         http.RoundTripper
	clock         clock
	log           *slog.Logger
	metrics       *metrics
	observer      attemptObserver // nil: no budget to tell
	maxAttempts   int
	backoffBase   time.Duration
	backoffMax    time.Duration
	maxRetryAfter time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		wait, reason := t.decide(attempt, resp, err)
		if reason == "" {
			return resp, err
		}
		if attempt >= t.maxAttempts {
			if err != nil {
				return nil, fmt.Errorf("after %d attempts: %w", attempt, err)
			}
			return resp, nil
		}
		if resp != nil {
			if t.observer != nil {
				t.observer.discarded(req, resp)
			}
			drain(resp)
		}
		t.metrics.retries.WithLabelValues(reason).Inc()
		t.log.DebugContext(ctx, "xero: retrying", "endpoint", endpointOf(req.URL.Path),
			"tenant", req.Header.Get(tenantHeader), "reason", reason, "attempt", attempt, "wait", wait)
		if err := t.clock.Sleep(ctx, wait); err != nil {
			return nil, err
		}
		if req, err = rewind(req); err != nil {
			return nil, err
		}
		if t.observer != nil {
			if err := t.observer.beforeRetry(req); err != nil {
				return nil, err
			}
		}
	}
}

// decide says whether an attempt is repeated: the wait before the next one and the reason
// (a metric label), or an empty reason to return the attempt as it is.
func (t *retryTransport) decide(attempt int, resp *http.Response, err error) (time.Duration, string) {
	if err != nil {
		if !IsRetryable(err) {
			return 0, ""
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return t.backoff(attempt), "timeout"
		}
		return t.backoff(attempt), "network"
	}
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		problem := strings.ToLower(resp.Header.Get("X-Rate-Limit-Problem"))
		ra := retryAfter(resp.Header)
		switch {
		case problem == ProblemDay, ra > t.maxRetryAfter:
			return 0, ""
		case ra > 0:
			return ra, "rate_limit"
		}
		return t.backoff(attempt), "rate_limit"
	case code >= 500 && code != http.StatusNotImplemented:
		return max(t.backoff(attempt), min(retryAfter(resp.Header), t.maxRetryAfter)), "server_error"
	}
	return 0, ""
}

// backoff is the wait after the given failed attempt: base*2^(attempt-1), at most max, with
// jitter taking it down to half at random so that callers failing together do not retry
// together.
func (t *retryTransport) backoff(attempt int) time.Duration {
	return backoff(t.backoffBase, t.backoffMax, attempt)
}

func backoff(base, ceiling time.Duration, attempt int) time.Duration {
	d := ceiling
	if shift := attempt - 1; shift < 30 && base<<shift < ceiling {
		d = base << shift
	}
	return d/2 + rand.N(d/2+1)
}

// rewind returns req ready to be sent again: its body, if any, replayed through GetBody.
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("cannot repeat a request whose body cannot be replayed")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("replay request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// drain reads a little of a discarded body, so the connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
