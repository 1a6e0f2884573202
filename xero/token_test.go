package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenRotationSavesBeforeUse(t *testing.T) {
	env := newTestEnv(t, okInvoices, nil)
	ctx := t.Context()
	for i := range 3 {
		if _, err := env.client.List(ctx, invoicesReq()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		// Each call past the first refresh margin spends the current refresh token.
		env.clock.Advance(26 * time.Minute)
	}
	want := []string{"refresh-token-1", "refresh-token-2", "refresh-token-3"}
	if got := env.store.Saved(); !slices.Equal(got, want) {
		t.Errorf("saved %v, want %v", got, want)
	}
	if got, want := env.xero.AccessSeen(), []string{"access-token-1", "access-token-2", "access-token-3"}; !slices.Equal(got, want) {
		t.Errorf("access tokens used %v, want %v", got, want)
	}
	// fakeXero.checkNoViolations (cleanup) fails the test if a token was used before its
	// refresh token was stored.
}

func TestTokenSaveFailureRetriesTheSave(t *testing.T) {
	env := newTestEnv(t, okInvoices, nil)
	storeDown := errors.New("state topic unavailable")
	env.store.fail = []error{storeDown, storeDown}
	ctx := t.Context()

	for i := range 2 {
		_, err := env.client.List(ctx, invoicesReq())
		if !errors.Is(err, storeDown) {
			t.Fatalf("call %d: err = %v, want the store's error", i, err)
		}
	}
	if _, err := env.client.List(ctx, invoicesReq()); err != nil {
		t.Fatalf("call after the store recovered: %v", err)
	}
	if got := env.xero.Refreshes(); got != 1 {
		t.Errorf("token endpoint called %d times, want 1: a failed save must be retried, not the refresh", got)
	}
	if got, want := env.store.Attempts(), []string{"refresh-token-1", "refresh-token-1", "refresh-token-1"}; !slices.Equal(got, want) {
		t.Errorf("save attempts %v, want %v", got, want)
	}
	if got := env.xero.APICalls(); got != 1 {
		t.Errorf("API called %d times, want 1 (no call before the token was stored)", got)
	}
}

func TestTokenRefreshIsSingleFlight(t *testing.T) {
	env := newTestEnv(t, okInvoices, nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := env.client.List(ctx, invoicesReq())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// fakeXero answers invalid_grant to a refresh token spent twice, so a second concurrent
	// refresh would also have failed a call above.
	if got := env.xero.Refreshes(); got != 1 {
		t.Errorf("token endpoint called %d times by 20 concurrent calls, want 1", got)
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	tests := []struct {
		name          string
		margin        time.Duration
		after         time.Duration // time since the first refresh
		wantRefreshes int
	}{
		{"well before the margin", 5 * time.Minute, 24 * time.Minute, 1},
		{"inside the default margin", 0, 25*time.Minute + time.Second, 2},
		{"inside a wider margin", 10 * time.Minute, 21 * time.Minute, 2},
		{"outside a narrower margin", time.Minute, 28 * time.Minute, 1},
		// A margin longer than half the 30-minute lifetime counts as half of it: otherwise a
		// fresh token would look expired at once.
		{"a margin capped at half the lifetime", 20 * time.Minute, 10 * time.Minute, 1},
		{"past half the lifetime", 20 * time.Minute, 15*time.Minute + time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, okInvoices, func(c *Config) { c.RefreshMargin = tt.margin })
			ctx := t.Context()
			if _, err := env.client.List(ctx, invoicesReq()); err != nil {
				t.Fatal(err)
			}
			env.clock.Advance(tt.after)
			if _, err := env.client.List(ctx, invoicesReq()); err != nil {
				t.Fatal(err)
			}
			if got := env.xero.Refreshes(); got != tt.wantRefreshes {
				t.Errorf("refreshes = %d, want %d", got, tt.wantRefreshes)
			}
			// The token age counts from the last rotation.
			wantAge := tt.after
			if tt.wantRefreshes == 2 {
				wantAge = 0
			}
			age := env.client.metrics.tokenAge
			age.mu.Lock()
			got := env.clock.Now().Sub(age.since)
			age.mu.Unlock()
			if got != wantAge {
				t.Errorf("token age %v, want %v", got, wantAge)
			}
		})
	}
}

func TestTokenExpiredForcesOneRefresh(t *testing.T) {
	tests := []struct {
		name          string
		expiredCalls  int // how many API calls answer 401 TokenExpired first
		wantErr       error
		wantAPICalls  int
		wantRefreshes int
	}{
		{"refresh and retry succeeds", 1, nil, 2, 2},
		{"a second TokenExpired is returned", 2, ErrUnauthorized, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			left := tt.expiredCalls
			api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				expired := left > 0
				left--
				mu.Unlock()
				if expired {
					writeProblem(w, http.StatusUnauthorized, "TokenExpired: token expired at 04/09/2023 05:16:59")
					return
				}
				okInvoices(w, r)
			})
			env := newTestEnv(t, api, nil)
			_, err := env.client.List(t.Context(), invoicesReq())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && IsRetryable(err) {
				t.Errorf("IsRetryable(%v) = true", err)
			}
			if got := env.xero.APICalls(); got != tt.wantAPICalls {
				t.Errorf("API calls = %d, want %d", got, tt.wantAPICalls)
			}
			if got := env.xero.Refreshes(); got != tt.wantRefreshes {
				t.Errorf("refreshes = %d, want %d", got, tt.wantRefreshes)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name          string
		replies       []tokenReply
		wantErr       error // nil: the call succeeds after retries
		wantRetryable bool
		wantIn        []string
		wantRefreshes int
	}{
		{
			name:          "invalid_grant asks for re-authorisation",
			replies:       []tokenReply{{400, `{"error":"invalid_grant"}`}},
			wantErr:       ErrUnauthorized,
			wantIn:        []string{"refresh token is no longer valid", "re-authorise", "XERO_REFRESH_TOKEN"},
			wantRefreshes: 1,
		},
		{
			name:          "invalid_client names the client settings",
			replies:       []tokenReply{{401, `{"error":"invalid_client"}`}},
			wantErr:       ErrUnauthorized,
			wantIn:        []string{"XERO_CLIENT_ID", "XERO_CLIENT_SECRET"},
			wantRefreshes: 1,
		},
		{
			name:          "a cut token response is retried",
			replies:       []tokenReply{{200, `{"access_token":"acc`}},
			wantRefreshes: 2,
		},
		{
			name:          "a failing identity server is retried",
			replies:       []tokenReply{{503, "unavailable"}, {500, `{"error":"server_error"}`}},
			wantRefreshes: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, okInvoices, nil)
			env.xero.queueTokenReplies(tt.replies...)
			_, err := env.client.List(t.Context(), invoicesReq())
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if IsRetryable(err) != tt.wantRetryable {
					t.Errorf("IsRetryable = %v, want %v", !tt.wantRetryable, tt.wantRetryable)
				}
				for _, s := range tt.wantIn {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
			}
			if got := env.xero.Refreshes(); got != tt.wantRefreshes {
				t.Errorf("refreshes = %d, want %d", got, tt.wantRefreshes)
			}
		})
	}
}

// TestNoSecretsInErrorsOrLogs runs the failure paths with logs at Debug level and checks that no
// token or client secret appears in any error message, log line or metric.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	var logs strings.Builder
	var logMu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var mu sync.Mutex
	script := []func(w http.ResponseWriter){
		func(w http.ResponseWriter) { writeProblem(w, 401, "TokenExpired: token expired") },
		func(w http.ResponseWriter) { w.WriteHeader(503) },
		func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "3")
			w.Header().Set("X-Rate-Limit-Problem", "minute")
			w.WriteHeader(429)
		},
		func(w http.ResponseWriter) { writeProblem(w, 403, "AuthenticationUnsuccessful") },
		func(w http.ResponseWriter) { writeProblem(w, 401, "AuthorizationUnsuccessful") },
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(script) == 0 {
			okInvoices(w, r)
			return
		}
		script[0](w)
		script = script[1:]
	})
	env := newTestEnvLogger(t, api, nil, logger)
	env.store.fail = []error{errors.New("store down")}

	var errs []string
	ctx := t.Context()
	for range 6 {
		if _, err := env.client.List(ctx, invoicesReq()); err != nil {
			errs = append(errs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
	}
	env.xero.queueTokenReplies(tokenReply{400, `{"error":"invalid_grant"}`})
	env.clock.Advance(time.Hour)
	if _, err := env.client.List(ctx, invoicesReq()); err != nil {
		errs = append(errs, err.Error())
	}
	tokens := newTokenSource(env.client.cfg, firstRefresh, env.store, nil, env.clock, logger, env.client.metrics)
	logger.Info("objects", "client", env.client, "config", env.client.cfg, "tokens", tokens)
	errs = append(errs, env.client.String(), env.client.cfg.String(), tokens.String(), fmt.Sprint(env.client.cfg))

	if len(errs) < 5 {
		t.Fatalf("only %d errors to check; the script did not run", len(errs))
	}
	metrics := strings.Join(labelValues(t, env.reg), " ")
	logMu.Lock()
	haystack := strings.Join(append(errs, logs.String(), metrics), "\n")
	logMu.Unlock()
	if !strings.Contains(haystack, "xero: retrying") {
		t.Fatalf("the logs were not captured:\n%s", haystack)
	}
	secrets := []string{testClientSecret, firstRefresh}
	for i := 1; i <= 5; i++ {
		secrets = append(secrets, fmt.Sprintf("access-token-%d", i), fmt.Sprintf("refresh-token-%d", i))
	}
	for _, s := range secrets {
		if strings.Contains(haystack, s) {
			t.Errorf("%q appears in errors, logs or metrics", s)
		}
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func TestTokenSourceWaitsAreCancellable(t *testing.T) {
	// A goroutine waiting for another's refresh gives up when its context ends.
	ts := newTokenSource(Config{}.withDefaults(), "rt", &memStore{}, nil, newFakeClock(), slog.New(slog.DiscardHandler), nil)
	ts.sem <- struct{}{} // a refresh in progress
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := ts.token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
