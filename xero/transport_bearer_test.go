package xero

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// fakeTokens hands out "token-1", "token-2", ...: a new one after each expire of the current.
type fakeTokens struct {
	mu      sync.Mutex
	n       int
	current *oauth2.Token
	expired int
}

func (f *fakeTokens) token(context.Context) (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current == nil {
		f.n++
		f.current = &oauth2.Token{AccessToken: "token-" + string(rune('0'+f.n))}
	}
	return f.current, nil
}

func (f *fakeTokens) expire(_ context.Context, tok *oauth2.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current == tok {
		f.current = nil
		f.expired++
	}
	return nil
}

func TestBearerTransport(t *testing.T) {
	tests := []struct {
		name        string
		reject      map[string]string // access token -> the 401 Detail it gets
		wantStatus  int
		wantTokens  []string // Authorization values the server saw
		wantExpired int
		wantBody    string // a substring of the returned body
	}{
		{name: "signs the request", wantStatus: 200, wantTokens: []string{"Bearer token-1"}},
		{
			name:        "TokenExpired drops the token and returns the 401",
			reject:      map[string]string{"token-1": "TokenExpired: token expired at 04/09/2023 05:16:59"},
			wantStatus:  401,
			wantTokens:  []string{"Bearer token-1"},
			wantExpired: 1,
			wantBody:    "TokenExpired: token expired",
		},
		{
			name:       "another 401 is returned with its body",
			reject:     map[string]string{"token-1": "AuthorizationUnsuccessful"},
			wantStatus: 401,
			wantTokens: []string{"Bearer token-1"},
			wantBody:   "AuthorizationUnsuccessful",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var seen []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				mu.Lock()
				seen = append(seen, auth)
				mu.Unlock()
				if detail, ok := tt.reject[strings.TrimPrefix(auth, "Bearer ")]; ok {
					writeProblem(w, http.StatusUnauthorized, detail)
					return
				}
				io.WriteString(w, "ok")
			}))
			defer srv.Close()
			tokens := &fakeTokens{}
			rt := &bearerTransport{inner: srv.Client().Transport, tokens: tokens}

			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api.xro/2.0/Invoices", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
			if strings.Join(seen, ",") != strings.Join(tt.wantTokens, ",") {
				t.Errorf("server saw %v, want %v", seen, tt.wantTokens)
			}
			if tokens.expired != tt.wantExpired {
				t.Errorf("expired %d tokens, want %d", tokens.expired, tt.wantExpired)
			}
			if req.Header.Get("Authorization") != "" {
				t.Error("the caller's request was modified")
			}
		})
	}
}
