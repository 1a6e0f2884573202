package xero

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

// callback serves the redirect URI: it completes a with the query Xero's redirect carries.
type callback struct {
	srv   *httptest.Server
	a     *Authorization
	code  string
	grant *Grant
	err   error
	done  chan struct{}
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	cb := &callback{done: make(chan struct{}, 1)}
	cb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb.code = r.URL.Query().Get("code")
		cb.grant, cb.err = cb.a.Complete(r.Context(), r.URL.Query())
		cb.done <- struct{}{}
	}))
	t.Cleanup(cb.srv.Close)
	return cb
}

func (cb *callback) redirect() string { return cb.srv.URL + "/callback" }

func simConfig(sim *xerosim.Sim, secret bool) Config {
	cfg := Config{APIURL: sim.URL(), IdentityURL: sim.URL(), LoginURL: sim.URL(), ClientID: sim.ClientID()}
	if secret {
		cfg.ClientSecret = sim.ClientSecret()
	}
	return cfg
}

// authorise runs the whole flow: the URL, the consent, the callback.
func authorise(t *testing.T, sim *xerosim.Sim, cfg Config, allow bool, scopes []string) (*callback, error) {
	t.Helper()
	cb := newCallback(t)
	a, err := NewAuthorization(cfg, cb.redirect(), scopes)
	if err != nil {
		t.Fatal(err)
	}
	cb.a = a
	if err := sim.Consent(t.Context(), a.URL(), allow); err != nil {
		t.Fatal(err)
	}
	<-cb.done
	return cb, cb.err
}

func TestAuthorizationCode(t *testing.T) {
	for _, tt := range []struct {
		name   string
		secret bool
	}{{"with client secret", true}, {"public client with PKCE", false}} {
		t.Run(tt.name, func(t *testing.T) {
			sim := xerosim.New(xerosim.Seed(3), xerosim.Tenants(2), xerosim.Volume("invoices", 20), xerosim.Fast())
			t.Cleanup(sim.Close)
			cfg := simConfig(sim, tt.secret)
			scopes := Scopes([]string{"/Invoices"}, false)
			cb, err := authorise(t, sim, cfg, true, scopes)
			if err != nil {
				t.Fatal(err)
			}
			if got := cb.a.PKCE(); got != !tt.secret {
				t.Errorf("PKCE = %v", got)
			}
			u, _ := url.Parse(cb.a.URL())
			if (u.Query().Get("code_challenge") != "") != !tt.secret || u.Query().Get("scope") != strings.Join(scopes, " ") {
				t.Errorf("authorise URL %s", cb.a.URL())
			}
			if !slices.Contains(cb.grant.Scopes(), "accounting.invoices.read") {
				t.Errorf("granted %v", cb.grant.Scopes())
			}
			if strings.Contains(cb.grant.String(), cb.grant.RefreshToken()) {
				t.Error("the grant prints its token")
			}
			store := &memStore{}
			c, err := NewClientFromGrant(cfg, cb.grant, store, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			conns, err := c.Connections(t.Context())
			if err != nil || len(conns) != 2 {
				t.Fatalf("connections %v, %v", conns, err)
			}
			if _, err := c.List(t.Context(), simInvoices(conns[0].TenantID, 1)); err != nil {
				t.Fatal(err)
			}
			// The chain goes on from the grant's refresh token once the access token expires.
			sim.Advance(31 * time.Minute)
			if _, err := c.List(t.Context(), simInvoices(conns[0].TenantID, 1)); err != nil {
				t.Fatal(err)
			}
			if saved := store.Saved(); len(saved) != 1 || saved[0] != sim.RefreshToken() || saved[0] == cb.grant.RefreshToken() {
				t.Errorf("saved %d tokens; want the one rotated after the grant's", len(saved))
			}
		})
	}
}

func TestAuthorizationRefusals(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(4), xerosim.Fast())
	t.Cleanup(sim.Close)
	scopes := Scopes([]string{"/Invoices"}, false)

	t.Run("consent denied", func(t *testing.T) {
		_, err := authorise(t, sim, simConfig(sim, true), false, scopes)
		if !errors.Is(err, ErrConsentDenied) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("state of another authorisation", func(t *testing.T) {
		cb := newCallback(t)
		a, _ := NewAuthorization(simConfig(sim, true), cb.redirect(), scopes)
		other, _ := NewAuthorization(simConfig(sim, true), cb.redirect(), scopes)
		cb.a = other
		if err := sim.Consent(t.Context(), a.URL(), true); err != nil {
			t.Fatal(err)
		}
		<-cb.done
		if !errors.Is(cb.err, ErrStateMismatch) {
			t.Fatalf("err = %v", cb.err)
		}
	})
	t.Run("PKCE verifier that does not match", func(t *testing.T) {
		cb := newCallback(t)
		a, _ := NewAuthorization(simConfig(sim, false), cb.redirect(), scopes)
		other, _ := NewAuthorization(simConfig(sim, false), cb.redirect(), scopes)
		other.state = a.state // the same state, another verifier
		cb.a = other
		if err := sim.Consent(t.Context(), a.URL(), true); err != nil {
			t.Fatal(err)
		}
		<-cb.done
		if !errors.Is(cb.err, ErrUnauthorized) {
			t.Fatalf("err = %v", cb.err)
		}
		// The code was spent by the failed attempt: the right verifier cannot use it either.
		if _, err := a.Complete(t.Context(), url.Values{"code": {cb.code}, "state": {a.state}}); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("second exchange of one code: %v", err)
		}
	})
}

func TestClientCredentials(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(5), xerosim.Volume("invoices", 10), xerosim.Fast())
	t.Cleanup(sim.Close)
	c, err := NewCustomConnectionClient(simConfig(sim, true), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	conns, err := c.Connections(ctx)
	if err != nil || len(conns) != 1 {
		t.Fatalf("connections %v, %v", conns, err)
	}
	if err := c.CheckAccess(ctx, conns[0].TenantID); err != nil {
		t.Fatal(err)
	}
	sim.Advance(40 * time.Minute) // the access token expired: a new one comes from the same grant
	if _, err := c.List(ctx, simInvoices(conns[0].TenantID, 1)); err != nil {
		t.Fatal(err)
	}

	if _, err := NewCustomConnectionClient(simConfig(sim, false), nil, nil); err == nil {
		t.Error("a custom connection without a secret was accepted")
	}
	bad := simConfig(sim, true)
	bad.ClientSecret = "wrong"
	c, err = NewCustomConnectionClient(bad, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connections(ctx); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "XERO_CLIENT_SECRET") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestScopeRefusals(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		sim := xerosim.New(xerosim.Seed(6), xerosim.Fast(), xerosim.ScopeRefusalStatus(status),
			xerosim.RefuseScopes("accounting.journals.read", "accounting.settings.read"))
		t.Cleanup(sim.Close)
		c, _, _ := newSimClient(t, sim)
		ctx := context.Background()
		tenant := sim.Tenants()[0]
		err := c.CheckAccess(ctx, tenant)
		var ae *APIError
		if !IsRefused(err) || !errors.As(err, &ae) || ae.StatusCode != status || ae.Endpoint != "/Currencies" {
			t.Fatalf("status %d: CheckAccess: %v", status, err)
		}
		if _, err := c.List(ctx, Request{Tenant: tenant, Path: "/Journals", Wrapper: "Journals"}); !IsRefused(err) {
			t.Fatalf("journals: %v", err)
		}
		if _, err := c.List(ctx, simInvoices(tenant, 1)); err != nil {
			t.Fatalf("invoices: %v", err)
		}
	}
	if IsRefused(&APIError{Endpoint: tokenPath, StatusCode: 400}) || IsRefused(errors.New("x")) {
		t.Error("IsRefused of a token error or a plain error")
	}
}

func TestScopes(t *testing.T) {
	granular := Scopes([]string{"/Invoices", "/Items", "/Payments", "/Journals"}, false)
	want := []string{"accounting.invoices.read", "accounting.journals.read", "accounting.payments.read", "accounting.settings.read", "offline_access"}
	if !slices.Equal(granular, want) {
		t.Errorf("granular %v, want %v", granular, want)
	}
	broad := Scopes([]string{"/Invoices", "/Items", "/Payments"}, true)
	want = []string{"accounting.settings.read", "accounting.transactions.read", "offline_access"}
	if !slices.Equal(broad, want) {
		t.Errorf("broad %v, want %v", broad, want)
	}
	if ScopeFor("/Nothing", false) != "" {
		t.Error("scope of an unknown endpoint")
	}
}

// sharedStore is a token store shared by two clients of one chain, which can be read back.
type sharedStore struct{ memStore }

func (s *sharedStore) LatestRefreshToken(context.Context) (string, error) {
	saved := s.Saved()
	if len(saved) == 0 {
		return "", nil
	}
	return saved[len(saved)-1], nil
}

// TestChainSharedWithAnotherProcess: a second client spends the chain's token and stores the
// successor; the first, whose token Xero then refuses after the grace period, continues from the
// stored successor instead of failing.
func TestChainSharedWithAnotherProcess(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(8), xerosim.Volume("invoices", 5), xerosim.Fast())
	t.Cleanup(sim.Close)
	store := &sharedStore{}
	cfg := simConfig(sim, true)
	first, err := NewClient(cfg, sim.RefreshToken(), store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tenant := sim.Tenants()[0]
	if _, err := first.List(ctx, simInvoices(tenant, 1)); err != nil {
		t.Fatal(err)
	}
	second, err := NewClient(cfg, store.Saved()[0], store, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Connections(ctx); err != nil {
		t.Fatal(err)
	}
	sim.Advance(time.Hour) // past the access token and the grace period of the spent token
	if _, err := first.List(ctx, simInvoices(tenant, 1)); err != nil {
		t.Fatalf("the first client after the second rotated the chain: %v", err)
	}
	if st := sim.Stats(); st.TokenRefreshFailures != 1 || st.TokenRefreshes != 3 {
		t.Errorf("refreshes %d, refused %d; want 3 and the one spent token refused", st.TokenRefreshes, st.TokenRefreshFailures)
	}
	// Without a newer token in the store, the refusal stands.
	lone, _ := NewClient(cfg, store.Saved()[0], &sharedStore{}, nil, nil)
	if _, err := lone.Connections(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("a spent token with nothing newer stored: %v", err)
	}
}
