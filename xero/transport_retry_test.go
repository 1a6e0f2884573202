package xero

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted answers the calls of a test in order, one function per call; calls beyond the
// script get a list of one invoice.
type scripted struct {
	mu     sync.Mutex
	steps  []func(w http.ResponseWriter, r *http.Request)
	calls  int
	bodies []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := s.calls
	s.calls++
	s.bodies = append(s.bodies, string(body))
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

func newTestRetry(t testing.TB, srv *httptest.Server, clk clock) *retryTransport {
	t.Helper()
	m, _ := newMetrics(nil, false, realClock{})
	return &retryTransport{
		inner:         srv.Client().Transport,
		clock:         clk,
		log:           slog.New(slog.DiscardHandler),
		metrics:       m,
		maxAttempts:   4,
		backoffBase:   time.Second,
		backoffMax:    8 * time.Second,
		maxRetryAfter: 2 * time.Minute,
	}
}

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name       string
		steps      []func(http.ResponseWriter, *http.Request)
		wantStatus int             // 0: an error
		wantCalls  int             // attempts seen by the server
		wantSleeps []time.Duration // exact waits; nil to check backoff ranges instead
		backoffs   int             // number of backoff waits expected when wantSleeps is nil
	}{
		{name: "success is returned", wantStatus: 200, wantCalls: 1},
		{name: "5xx then success", steps: steps(status(503), status(500), status(502)), wantStatus: 200, wantCalls: 4, backoffs: 3},
		{name: "5xx gives up after the bound", steps: steps(status(503), status(503), status(503), status(503), status(503)), wantStatus: 503, wantCalls: 4, backoffs: 3},
		{name: "dropped connection then success", steps: steps(dropConnection, dropConnection), wantStatus: 200, wantCalls: 3, backoffs: 2},
		{name: "dropped connections give up with an error", steps: steps(dropConnection, dropConnection, dropConnection, dropConnection), wantStatus: 0, wantCalls: 4, backoffs: 3},
		{
			name:       "429 minute waits Retry-After",
			steps:      steps(status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "38")),
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{38 * time.Second},
		},
		{
			name:       "429 appminute waits Retry-After",
			steps:      steps(status(429, "X-Rate-Limit-Problem", "appminute", "Retry-After", "7")),
			wantStatus: 200, wantCalls: 2, wantSleeps: []time.Duration{7 * time.Second},
		},
		{
			name:       "429 concurrent without Retry-After backs off",
			steps:      steps(status(429, "X-Rate-Limit-Problem", "concurrent")),
			wantStatus: 200, wantCalls: 2, backoffs: 1,
		},
		{
			name:       "429 day is not retried",
			steps:      steps(status(429, "X-Rate-Limit-Problem", "day", "Retry-After", "3600")),
			wantStatus: 429, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{
			name:       "a Retry-After beyond the bound goes back to the caller",
			steps:      steps(status(429, "X-Rate-Limit-Problem", "minute", "Retry-After", "600")),
			wantStatus: 429, wantCalls: 1, wantSleeps: []time.Duration{},
		},
		{name: "400 is not retried", steps: steps(status(400)), wantStatus: 400, wantCalls: 1, wantSleeps: []time.Duration{}},
		{name: "401 is not retried", steps: steps(status(401)), wantStatus: 401, wantCalls: 1, wantSleeps: []time.Duration{}},
		{name: "403 is not retried", steps: steps(status(403)), wantStatus: 403, wantCalls: 1, wantSleeps: []time.Duration{}},
		{name: "404 is not retried", steps: steps(status(404)), wantStatus: 404, wantCalls: 1, wantSleeps: []time.Duration{}},
		{name: "501 is not retried", steps: steps(status(501)), wantStatus: 501, wantCalls: 1, wantSleeps: []time.Duration{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: tt.steps}
			srv := httptest.NewServer(s)
			defer srv.Close()
			clk := newFakeClock()
			rt := newTestRetry(t, srv, clk)

			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api.xro/2.0/Invoices", nil)
			resp, err := rt.RoundTrip(req)
			if tt.wantStatus == 0 {
				if err == nil || !IsRetryable(err) {
					t.Fatalf("err = %v, want a retryable error", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				drain(resp)
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
			}
			if got := s.Calls(); got != tt.wantCalls {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantCalls)
			}
			sleeps := clk.Sleeps()
			if tt.wantSleeps != nil {
				if len(sleeps) != len(tt.wantSleeps) {
					t.Fatalf("waits %v, want %v", sleeps, tt.wantSleeps)
				}
				for i := range sleeps {
					if sleeps[i] != tt.wantSleeps[i] {
						t.Errorf("waits %v, want %v", sleeps, tt.wantSleeps)
					}
				}
				return
			}
			if len(sleeps) != tt.backoffs {
				t.Fatalf("waits %v, want %d backoffs", sleeps, tt.backoffs)
			}
			for i, d := range sleeps {
				// Attempt n waits base*2^(n-1) (capped), jittered down to half of it.
				full := min(time.Second<<i, 8*time.Second)
				if d < full/2 || d > full {
					t.Errorf("wait %d = %s, want within [%s, %s]", i, d, full/2, full)
				}
			}
		})
	}
}

func steps(fs ...func(http.ResponseWriter, *http.Request)) []func(http.ResponseWriter, *http.Request) {
	return fs
}

func TestRetryReplaysBody(t *testing.T) {
	s := &scripted{steps: steps(status(503), status(502))}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rt := newTestRetry(t, srv, newFakeClock())
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/connect/token", strings.NewReader("grant_type=refresh_token"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	drain(resp)
	for i, b := range s.bodies {
		if b != "grant_type=refresh_token" {
			t.Errorf("attempt %d sent body %q", i+1, b)
		}
	}
	if len(s.bodies) != 3 {
		t.Errorf("%d attempts, want 3", len(s.bodies))
	}
}

func TestRetryStopsWhenTheCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := &scripted{steps: steps(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		w.WriteHeader(503)
	}, status(503))}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rt := newTestRetry(t, srv, newFakeClock())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	_, err := rt.RoundTrip(req)
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
