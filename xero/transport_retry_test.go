package xero

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted answers the calls of a test in order, one function per call; calls beyond the
// script get a list of one invoice.
type scripted struct {
	mu    sync.Mutex
	steps []func(w http.ResponseWriter, r *http.Request)
	calls int
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	i := s.calls
	s.calls++
	s.mu.Unlock()
	if i < len(s.steps) {
		s.steps[i](w, r)
		return
	}
	writeEnvelope(w, "Invoices", `{"InvoiceID":"a"}`)
}

func (s *scripted) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func status(code int, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
	}
}

// dropConnection closes the connection without answering.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// hang answers nothing until the client gives up on the attempt.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// tokenExpired is Xero's 401 for an access token it no longer accepts.
func tokenExpired(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, http.StatusUnauthorized, "TokenExpired: token expired at 04/09/2023 05:16:59")
}

func steps(fs ...func(http.ResponseWriter, *http.Request)) []func(http.ResponseWriter, *http.Request) {
	return fs
}

func repeat(n int, f func(http.ResponseWriter, *http.Request)) []func(http.ResponseWriter, *http.Request) {
	out := make([]func(http.ResponseWriter, *http.Request), n)
	for i := range out {
		out[i] = f
	}
	return out
}

// TestRetryAttemptsPerCall counts the HTTP attempts one List makes for each kind of failure,
// with the default bound of DefaultMaxAttempts attempts a call: the retry policy is the only
// place that repeats a call, so no failure, or mix of failures, makes more.
func TestRetryAttemptsPerCall(t *testing.T) {
	good := pageBody("Invoices", testRecords(2), "")
	truncated := sendBody(good[:len(good)/2])
	tests := []struct {
		name      string
		steps     []func(http.ResponseWriter, *http.Request)
		wantErr   string // "" for success; else a substring of the error
		wantCalls int    // HTTP attempts the server saw
		wantWaits []time.Duration
		backoffs  int // waits checked as backoffs when wantWaits is nil
		refreshes int // token refreshes beyond the first
	}{
		{name: "success", wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "5xx then success", steps: steps(status(503), status(500), status(502)), wantCalls: 4, backoffs: 3},
		{name: "5xx to the bound", steps: repeat(10, status(503)), wantErr: "503 service unavailable", wantCalls: DefaultMaxAttempts, backoffs: DefaultMaxAttempts - 1},
		// net/http itself sends a GET once more when a reused keep-alive connection closes
		// before any answer: the first attempt goes out on the token call's connection.
		{name: "dropped connections to the bound", steps: repeat(10, dropConnection), wantErr: "after 5 attempts", wantCalls: DefaultMaxAttempts + 1, backoffs: DefaultMaxAttempts - 1},
		{name: "timeouts to the bound", steps: repeat(10, hang), wantErr: "after 5 attempts", wantCalls: DefaultMaxAttempts, backoffs: DefaultMaxAttempts - 1},
		{name: "bad bodies to the bound", steps: repeat(10, truncated), wantErr: "after 5 attempts: read response body", wantCalls: DefaultMaxAttempts, backoffs: DefaultMaxAttempts - 1},
		{
			name:      "429 minute waits Retry-After",
			steps:     steps(status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "38")),
			wantCalls: 2, wantWaits: []time.Duration{38 * time.Second},
		},
		{
			name:      "429 appminute waits Retry-After",
			steps:     steps(status(429, "X-Rate-Limit-Problem", "appminute", "Retry-After", "7")),
			wantCalls: 2, wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name:      "429 concurrent to the bound",
			steps:     repeat(10, status(429, "X-Rate-Limit-Problem", "concurrent")),
			wantErr:   "429 concurrent limit",
			wantCalls: DefaultMaxAttempts, backoffs: DefaultMaxAttempts - 1,
		},
		{
			name:      "429 day is not repeated",
			steps:     steps(status(429, "X-Rate-Limit-Problem", "day", "Retry-After", "3600")),
			wantErr:   "429 day limit",
			wantCalls: 1, wantWaits: []time.Duration{},
		},
		{
			name:      "a Retry-After beyond the bound goes back to the caller",
			steps:     steps(status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "600")),
			wantErr:   "429 minute limit",
			wantCalls: 1, wantWaits: []time.Duration{},
		},
		{
			name:      "401 TokenExpired refreshes once",
			steps:     steps(tokenExpired),
			wantCalls: 2, wantWaits: []time.Duration{0}, refreshes: 1,
		},
		{
			name:      "401 TokenExpired twice is returned",
			steps:     steps(tokenExpired, tokenExpired, tokenExpired),
			wantErr:   "401 TokenExpired",
			wantCalls: 2, wantWaits: []time.Duration{0}, refreshes: 1,
		},
		{
			name: "a mix of failures shares one bound",
			steps: steps(status(503), truncated, tokenExpired,
				status(429, "X-Rate-Limit-Problem", "concurrent"), hang, status(502)),
			wantErr: "after 5 attempts", wantCalls: DefaultMaxAttempts, refreshes: 1,
			backoffs: -1,
		},
		{name: "400 is not repeated", steps: steps(status(400)), wantErr: "400 bad request", wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "401 other than TokenExpired is not repeated", steps: steps(status(401)), wantErr: "401", wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "403 is not repeated", steps: steps(status(403)), wantErr: "403", wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "404 is not repeated", steps: steps(status(404)), wantErr: "404", wantCalls: 1, wantWaits: []time.Duration{}},
		{name: "501 is not repeated", steps: steps(status(501)), wantErr: "501", wantCalls: 1, wantWaits: []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: tt.steps}
			env := newTestEnv(t, s, func(c *Config) { c.RequestTimeout = 100 * time.Millisecond })
			_, err := env.client.List(t.Context(), invoicesReq())
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("List: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("List: %v, want an error containing %q", err, tt.wantErr)
			}
			if got := s.Calls(); got != tt.wantCalls {
				t.Errorf("the server saw %d attempts, want %d", got, tt.wantCalls)
			}
			if got := env.xero.Refreshes(); got != 1+tt.refreshes {
				t.Errorf("%d token refreshes, want %d", got, 1+tt.refreshes)
			}
			waits := env.clock.Sleeps()
			switch {
			case tt.wantWaits != nil:
				if len(waits) != len(tt.wantWaits) {
					t.Fatalf("waits %v, want %v", waits, tt.wantWaits)
				}
				for i := range waits {
					if waits[i] != tt.wantWaits[i] {
						t.Errorf("waits %v, want %v", waits, tt.wantWaits)
					}
				}
			case tt.backoffs >= 0:
				if len(waits) != tt.backoffs {
					t.Fatalf("waits %v, want %d backoffs", waits, tt.backoffs)
				}
				for i, d := range waits {
					// Attempt n waits base*2^(n-1) (capped), jittered down to half of it.
					full := min(DefaultBackoffBase<<i, DefaultBackoffMax)
					if d < full/2 || d > full {
						t.Errorf("wait %d = %s, want within [%s, %s]", i, d, full/2, full)
					}
				}
			}
		})
	}
}

func TestRetryStopsWhenTheCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &scripted{steps: steps(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		w.WriteHeader(503)
	}, status(503))}
	env := newTestEnv(t, s, nil)
	_, err := env.client.List(ctx, invoicesReq())
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Fatalf("err = %v, want the caller's cancellation", err)
	}
	if got := s.Calls(); got != 1 {
		t.Errorf("%d attempts after the caller cancelled, want 1", got)
	}
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		full := time.Second
		for i := 1; i < attempt && full < 30*time.Second; i++ {
			full *= 2
		}
		full = min(full, 30*time.Second)
		d := backoff(time.Second, 30*time.Second, attempt)
		if d < full/2 || d > full {
			t.Errorf("backoff(attempt %d) = %s, want within [%s, %s]", attempt, d, full/2, full)
		}
	}
}
