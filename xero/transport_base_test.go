package xero

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// TestTimeoutTransport runs in a synctest bubble on an in-memory network, so the 10-second
// request timeout passes at once.
func TestTimeoutTransport(t *testing.T) {
	tests := []struct {
		name          string
		handler       http.HandlerFunc
		cancelCaller  bool
		wantRetryable bool
		inBody        bool // the failure shows while reading the body
	}{
		{
			name:          "no headers within the timeout",
			handler:       func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			wantRetryable: true,
		},
		{
			name: "the body stalls",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"Invoices":[`)
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			},
			wantRetryable: true,
			inBody:        true,
		},
		{
			name:         "the caller cancels",
			handler:      func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			cancelCaller: true,
		},
		{
			name:    "a prompt answer is untouched",
			handler: func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr, stop := serveMem(tt.handler)
				defer stop()
				rt := &timeoutTransport{inner: tr, timeout: 10 * time.Second}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelCaller {
					time.AfterFunc(time.Second, cancel)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://xero.test/api.xro/2.0/Invoices", nil)
				resp, err := rt.RoundTrip(req)
				inBody := false
				if err == nil {
					inBody = true
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				if err != nil && inBody != tt.inBody {
					t.Errorf("failure while reading the body = %v, want %v", inBody, tt.inBody)
				}
				switch {
				case tt.wantRetryable:
					var te *attemptTimeoutError
					if !errors.As(err, &te) || !IsRetryable(err) {
						t.Errorf("err = %v, want a retryable attempt timeout", err)
					}
				case tt.cancelCaller:
					if !errors.Is(err, context.Canceled) || IsRetryable(err) {
						t.Errorf("err = %v, want the caller's cancellation", err)
					}
				default:
					if err != nil {
						t.Errorf("err = %v", err)
					}
				}
			})
		})
	}
}

// TestBaseTransportOnHTTPTest runs the real base transport against httptest: a prompt answer
// passes, and a server that never answers fails the attempt with a retryable timeout.
func TestBaseTransportOnHTTPTest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	cfg := Config{RequestTimeout: 200 * time.Millisecond}
	base := newBaseTransport()
	defer base.CloseIdleConnections()
	rt := &timeoutTransport{inner: base, timeout: cfg.RequestTimeout}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/ok", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body %q", body)
	}

	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/stall", nil)
	if _, err := rt.RoundTrip(req); err == nil || !IsRetryable(err) {
		t.Errorf("err = %v, want a retryable timeout", err)
	}
}
