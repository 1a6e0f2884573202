package xero

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	testClientID     = "test-client-id"
	testClientSecret = "test-client-secret-5f1c"
	testTenant       = "3f2a9c1d-0000-4000-8000-000000000001"
	testTenant2      = "77aa0b2e-0000-4000-8000-000000000002"
	firstRefresh     = "refresh-token-0"
)

// fakeClock is a clock whose Sleep returns at once, moving the time forward by the wait and
// recording it.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.now = c.now.Add(d)
	}
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// memStore is a TokenStore in memory. Errors queued in fail are returned by the next saves.
type memStore struct {
	mu       sync.Mutex
	saved    []string // tokens stored, in order
	attempts []string // every token handed to SaveRefreshToken, stored or not
	fail     []error
}

func (s *memStore) SaveRefreshToken(_ context.Context, rt string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts = append(s.attempts, rt)
	if len(s.fail) > 0 {
		err := s.fail[0]
		s.fail = s.fail[1:]
		return err
	}
	s.saved = append(s.saved, rt)
	return nil
}

func (s *memStore) Saved() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.saved)
}

func (s *memStore) Attempts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}

func (s *memStore) isSaved(rt string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.saved, rt)
}

// fakeXero plays Xero's token endpoint and checks the bearer token of API calls before
// handing them to api. Refresh tokens are single use (no grace period): a refresh token spent
// twice is answered invalid_grant, which catches a client refreshing twice.
type fakeXero struct {
	t     testing.TB
	store *memStore // to check that a token's refresh token was stored before the token was used
	api   http.Handler

	mu          sync.Mutex
	n           int
	expiresIn   int
	live        map[string]bool   // refresh tokens that may be spent
	issuedWith  map[string]string // access token -> the refresh token issued with it
	refreshes   int
	tokenErrors []tokenReply // replies for the next refreshes, before the normal ones
	apiCalls    int
	violations  []string
	accessSeen  []string
}

type tokenReply struct {
	status int
	body   string
}

func newFakeXero(t testing.TB, store *memStore, api http.Handler) *fakeXero {
	return &fakeXero{
		t: t, store: store, api: api, expiresIn: 1800,
		live:       map[string]bool{firstRefresh: true},
		issuedWith: map[string]string{},
	}
}

func (f *fakeXero) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == tokenPath {
		f.serveToken(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	f.apiCalls++
	rt, known := f.issuedWith[tok]
	if ok && known {
		f.accessSeen = append(f.accessSeen, tok)
		if !f.store.isSaved(rt) {
			f.violations = append(f.violations, "access token used before its refresh token was saved")
		}
	}
	f.mu.Unlock()
	if !ok || !known {
		writeProblem(w, http.StatusUnauthorized, "AuthorizationUnsuccessful")
		return
	}
	f.api.ServeHTTP(w, r)
}

func (f *fakeXero) serveToken(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.Method != http.MethodPost || !ok || id != testClientID || secret != testClientSecret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusBadRequest)
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "refresh_token" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if len(f.tokenErrors) > 0 {
		reply := f.tokenErrors[0]
		f.tokenErrors = f.tokenErrors[1:]
		w.WriteHeader(reply.status)
		fmt.Fprint(w, reply.body)
		return
	}
	rt := r.PostForm.Get("refresh_token")
	if !f.live[rt] {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant"}`)
		return
	}
	delete(f.live, rt)
	f.n++
	access, next := fmt.Sprintf("access-token-%d", f.n), fmt.Sprintf("refresh-token-%d", f.n)
	f.live[next] = true
	f.issuedWith[access] = next
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": access, "refresh_token": next, "expires_in": f.expiresIn,
		"token_type": "Bearer", "scope": "offline_access accounting.transactions.read",
	})
}

func (f *fakeXero) Refreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes
}

func (f *fakeXero) APICalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiCalls
}

func (f *fakeXero) AccessSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accessSeen)
}

func (f *fakeXero) queueTokenReplies(replies ...tokenReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenErrors = append(f.tokenErrors, replies...)
}

// checkNoViolations fails the test if an access token was used before its refresh token was
// stored.
func (f *fakeXero) checkNoViolations(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.violations) > 0 {
		t.Errorf("token chain violations: %v", f.violations)
	}
}

// writeProblem writes Xero's RFC 7807 style error body.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"Type":null,"Title":%q,"Status":%d,"Detail":%q,"Instance":"6489df60-1111-2222-3333-444455556666","Extensions":{}}`,
		http.StatusText(status), status, detail)
}

// writeEnvelope writes a list response with the given wrapper and records.
func writeEnvelope(w http.ResponseWriter, wrapper string, records ...string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprintf(w, `{"Id":"900c500b-6f7d-4b58-a9b6-b7a6c2ad0000","Status":"OK","ProviderName":"test","DateTimeUTC":"\/Date(1552326816230)\/",%q:[%s]}`,
		wrapper, strings.Join(records, ","))
}

// testEnv is a client wired to a fakeXero on an httptest server.
type testEnv struct {
	client *Client
	xero   *fakeXero
	store  *memStore
	clock  *fakeClock
	reg    *prometheus.Registry
	url    string
}

// newTestEnv starts a fake Xero serving api and a client for it on a fake clock. cfg, if not
// nil, adjusts the client's configuration.
func newTestEnv(t testing.TB, api http.Handler, cfg func(*Config)) *testEnv {
	t.Helper()
	return newTestEnvLogger(t, api, cfg, nil)
}

// newTestEnvLogger is newTestEnv with the client logging to logger.
func newTestEnvLogger(t testing.TB, api http.Handler, cfg func(*Config), logger *slog.Logger) *testEnv {
	t.Helper()
	store := &memStore{}
	fx := newFakeXero(t, store, api)
	srv := httptest.NewServer(fx)
	t.Cleanup(srv.Close)
	c := Config{APIURL: srv.URL, IdentityURL: srv.URL, ClientID: testClientID, ClientSecret: testClientSecret}
	if cfg != nil {
		cfg(&c)
	}
	clk := newFakeClock()
	reg := prometheus.NewRegistry()
	client, err := newClient(c, firstRefresh, store, logger, reg, clk)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	t.Cleanup(func() { fx.checkNoViolations(t) })
	return &testEnv{client: client, xero: fx, store: store, clock: clk, reg: reg, url: srv.URL}
}

// invoicesReq is a list request for page 1 of invoices of testTenant.
func invoicesReq() Request {
	return Request{Tenant: testTenant, Path: "/Invoices", Wrapper: "Invoices", Query: map[string][]string{"page": {"1"}}}
}

// okInvoices answers every call with one invoice.
var okInvoices = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, "Invoices", `{"InvoiceID":"a"}`)
})

// memNet is an in-memory network: a net.Listener whose connections are net.Pipe pairs made by
// its DialContext. Inside a testing/synctest bubble, goroutines blocked on it are durably
// blocked, so the bubble's clock can advance (real sockets would stall it).
type memNet struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemNet() *memNet {
	return &memNet{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (n *memNet) Accept() (net.Conn, error) {
	select {
	case c := <-n.conns:
		return c, nil
	case <-n.closed:
		return nil, net.ErrClosed
	}
}

func (n *memNet) Close() error {
	n.once.Do(func() { close(n.closed) })
	return nil
}

func (n *memNet) Addr() net.Addr { return memAddr{} }

func (n *memNet) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case n.conns <- server:
		return client, nil
	case <-n.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "xero.test:80" }

// serveMem serves h on an in-memory network and returns a transport that dials it. Call the
// returned stop (closing the server and the transport's connections) before the test's
// synctest bubble ends.
func serveMem(h http.Handler) (*http.Transport, func()) {
	ln := newMemNet()
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tr := &http.Transport{DialContext: ln.DialContext}
	return tr, func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-done
	}
}

// labelValues returns every label value of every metric in reg.
func labelValues(t testing.TB, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				vals = append(vals, lp.GetName()+"="+lp.GetValue())
			}
		}
	}
	return vals
}
