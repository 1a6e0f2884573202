package xero

import (
	"bytes"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

// These tests run the client against the project's simulator, an independent implementation
// of Xero's API.

// newSimClient returns a client for sim on a fake clock (backoff waits pass at once; the
// simulator keeps its own time).
func newSimClient(t *testing.T, sim *xerosim.Sim) (*Client, *memStore, *fakeClock) {
	t.Helper()
	store := &memStore{}
	clk := newFakeClock()
	cfg := Config{APIURL: sim.URL(), IdentityURL: sim.URL(), ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret()}
	c, err := newClient(cfg, sim.RefreshToken(), store, nil, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, store, clk
}

func simInvoices(tenant string, page int) Request {
	return Request{
		Tenant: tenant, Path: "/Invoices", Wrapper: "Invoices",
		Query: url.Values{"page": {strconv.Itoa(page)}, "pageSize": {"1000"}, "unitdp": {"4"}, "includeArchived": {"true"}},
	}
}

func TestSimListAndConnections(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(7), xerosim.Tenants(2), xerosim.Volume("invoices", 1500), xerosim.Fast())
	t.Cleanup(sim.Close)
	c, store, _ := newSimClient(t, sim)
	ctx := t.Context()

	conns, err := c.Connections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tenants := sim.Tenants()
	if len(conns) != len(tenants) {
		t.Fatalf("%d connections, want %d", len(conns), len(tenants))
	}
	for i, conn := range conns {
		if conn.TenantID != tenants[i] || conn.CreatedDateUTC.IsZero() || conn.CreatedDateUTC.Location() != time.UTC {
			t.Errorf("connection %d = %+v", i, conn)
		}
	}

	for _, tenant := range tenants {
		var got []string
		for page := 1; ; page++ {
			p, err := c.List(ctx, simInvoices(tenant, page))
			if err != nil {
				t.Fatal(err)
			}
			if p.Pagination == nil || p.ServerTime.IsZero() || p.Limits.DayRemaining < 0 {
				t.Fatalf("page %d: pagination %+v, server time %v, limits %+v", page, p.Pagination, p.ServerTime, p.Limits)
			}
			for _, r := range p.Records {
				got = append(got, string(r))
			}
			if page >= p.Pagination.PageCount {
				break
			}
		}
		truth, err := sim.Truth(tenant, "invoices")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(truth) {
			t.Fatalf("tenant %s: %d invoices, truth has %d", shortID(tenant), len(got), len(truth))
		}
		for i := range truth {
			if !bytes.Equal([]byte(got[i]), truth[i]) {
				t.Fatalf("tenant %s: invoice %d differs from the truth:\n got %s\nwant %s", shortID(tenant), i, got[i], truth[i])
			}
		}
	}
	if saved := store.Saved(); len(saved) != 1 || saved[0] != sim.RefreshToken() {
		t.Errorf("store holds %d tokens; the last must be the simulator's newest", len(saved))
	}
}

func TestSimTokenRefresh(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(8), xerosim.Fast())
	t.Cleanup(sim.Close)
	c, store, clk := newSimClient(t, sim)
	ctx := t.Context()
	tenant := sim.Tenants()[0]
	list := func() {
		t.Helper()
		if _, err := c.List(ctx, simInvoices(tenant, 1)); err != nil {
			t.Fatal(err)
		}
	}
	list()
	// Ahead of expiry: the client refreshes on its own.
	clk.Advance(26 * time.Minute)
	sim.Advance(26 * time.Minute)
	list()
	if got := sim.Stats().TokenRefreshes; got != 2 {
		t.Errorf("%d refreshes after the margin, want 2", got)
	}
	// The simulator's clock runs ahead of the client's: its token expires first, the API
	// answers 401 TokenExpired and the client refreshes once and retries.
	sim.Advance(31 * time.Minute)
	list()
	st := sim.Stats()
	if st.TokenRefreshes != 3 || st.TokenRefreshFailures != 0 {
		t.Errorf("refreshes %d, failures %d; want 3 and 0", st.TokenRefreshes, st.TokenRefreshFailures)
	}
	if saved := store.Saved(); len(saved) != 3 || saved[2] != sim.RefreshToken() {
		t.Errorf("store holds %d tokens, want 3 ending with the simulator's newest", len(saved))
	}
}

func TestSimFaultsAndLimits(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(9), xerosim.Tenants(2), xerosim.Volume("invoices", 300))
	t.Cleanup(sim.Close)
	c, _, _ := newSimClient(t, sim)
	ctx := t.Context()
	for _, f := range []xerosim.FaultKind{xerosim.Fault500, xerosim.Fault503, xerosim.FaultDrop, xerosim.FaultTruncated, xerosim.FaultMalformed} {
		sim.InjectFault(f, 2)
		if _, err := c.List(ctx, simInvoices(sim.Tenants()[0], 1)); err != nil {
			t.Errorf("after 2 faults %v: %v", f, err)
		}
	}
	// 20 pollers of two tenants: no more than 5 in flight per tenant, no 429.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, err := c.List(ctx, simInvoices(sim.Tenants()[i%2], 1)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	st := sim.Stats()
	for tenant, n := range st.MaxConcurrency {
		if n > DefaultMaxInFlight {
			t.Errorf("tenant %s: %d calls in progress at once", shortID(tenant), n)
		}
	}
	if len(st.RateLimited) != 0 {
		t.Errorf("rate limited: %v", st.RateLimited)
	}
	if n := st.Faults; len(n) != 5 {
		t.Errorf("faults served: %v, want 5 kinds", n)
	}
}

// TestSimUserAgent: every request, the token endpoint's too, carries the configured User-Agent.
func TestSimUserAgent(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(8), xerosim.Tenants(1), xerosim.Fast())
	t.Cleanup(sim.Close)
	store := &memStore{}
	cfg := Config{APIURL: sim.URL(), IdentityURL: sim.URL(), ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), UserAgent: "xero-kafka (instance A1)"}
	c, err := newClient(cfg, sim.RefreshToken(), store, nil, nil, newFakeClock())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.List(t.Context(), simInvoices(sim.Tenants()[0], 1)); err != nil {
		t.Fatal(err)
	}
	endpoints := map[string]bool{}
	for _, call := range sim.Calls() {
		endpoints[call.Endpoint] = true
		if call.UserAgent != cfg.UserAgent {
			t.Errorf("%s sent User-Agent %q, want %q", call.Endpoint, call.UserAgent, cfg.UserAgent)
		}
	}
	if !endpoints["POST /connect/token"] || !endpoints["GET /api.xro/2.0/Invoices"] {
		t.Errorf("calls seen: %v; want the token endpoint's and the list's", endpoints)
	}
}
