package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Paths and headers of the API.
const (
	accountingPrefix = "/api.xro/2.0"
	connectionsPath  = "/connections"
	tenantHeader     = "xero-tenant-id"
)

// Client calls the Xero Accounting API for any number of tenants. It is safe for concurrent
// use; pollers of all tenants share one Client (one token chain, one budget per tenant).
// It holds tokens: String and LogValue redact them.
type Client struct {
	cfg     Config
	rt      http.RoundTripper // the chain, outermost layer first (see the package doc)
	retry   *retryPolicy
	budget  *budget
	tokens  *tokenSource
	base    http.RoundTripper // innermost transport, for Close
	clock   clock
	log     *slog.Logger
	metrics *metrics
}

// NewClient returns a client for the app cfg describes, starting its token chain at
// refreshToken. store receives every rotated refresh token before the new access token is
// used. logger may be nil (no logs); metrics register on reg, which may be nil (not
// registered). No network call is made until the first List or Connections.
func NewClient(cfg Config, refreshToken string, store TokenStore, logger *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	return newClient(cfg, refreshToken, store, logger, reg, cfg.clock())
}

func newClient(cfg Config, refreshToken string, store TokenStore, logger *slog.Logger, reg prometheus.Registerer, clk clock) (*Client, error) {
	cfg = cfg.withDefaults()
	err := cfg.validate()
	if refreshToken == "" {
		err = errors.Join(err, errors.New("the refresh token is empty"))
	}
	if store == nil {
		err = errors.Join(err, errors.New("the token store is nil"))
	}
	if err != nil {
		return nil, fmt.Errorf("xero client config: %w", err)
	}
	return buildClient(cfg, logger, reg, clk, func(h *http.Client, m *metrics, log *slog.Logger) *tokenSource {
		return newTokenSource(cfg, refreshToken, store, h, clk, log, m)
	})
}

// newClientCredentials is NewCustomConnectionClient on a given clock.
func newClientCredentials(cfg Config, logger *slog.Logger, reg prometheus.Registerer, clk clock) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("xero client config: %w", err)
	}
	return buildClient(cfg, logger, reg, clk, func(h *http.Client, m *metrics, log *slog.Logger) *tokenSource {
		s := newTokenSource(cfg, "", nil, h, clk, log, m)
		s.clientCredentials = true
		return s
	})
}

// buildClient assembles the transport chain around the token source newTokens makes.
func buildClient(cfg Config, logger *slog.Logger, reg prometheus.Registerer, clk clock, newTokens func(*http.Client, *metrics, *slog.Logger) *tokenSource) (*Client, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg, cfg.PerTenantMetrics, clk)
	if err != nil {
		return nil, fmt.Errorf("register xero client metrics: %w", err)
	}

	base := cfg.Transport
	if base == nil {
		base = newBaseTransport()
	}
	// Inner to outer; the package doc lists the layers outer to inner.
	var rt http.RoundTripper = &timeoutTransport{inner: base, timeout: cfg.RequestTimeout}
	rt = &metricsTransport{inner: rt, metrics: m, clock: clk}
	// The token endpoint shares the timeouts and metrics; its transient failures are retried
	// by the retry layer of the API call that needed the token.
	tokens := newTokens(&http.Client{Transport: &agentTransport{inner: rt, agent: cfg.UserAgent}}, m, logger)
	rt = &bearerTransport{inner: rt, tokens: tokens}
	b := newBudget(rt, cfg.MaxInFlight, cfg.DayLimit, clk, logger)
	retry := &retryPolicy{
		clock:         clk,
		log:           logger,
		metrics:       m,
		maxAttempts:   cfg.MaxAttempts,
		backoffBase:   cfg.BackoffBase,
		backoffMax:    cfg.BackoffMax,
		maxRetryAfter: cfg.MaxRetryAfter,
	}

	return &Client{cfg: cfg, rt: b, retry: retry, budget: b, tokens: tokens, base: base, clock: clk, log: logger, metrics: m}, nil
}

// Limits returns the rate-limit counters last reported for tenant (and the app's minute
// counter), with the last 429 the tenant received. Minute counts not reported yet are -1; the
// day count is Config.DayLimit until Xero reports one.
func (c *Client) Limits(tenant string) Limits {
	return c.budget.limits(tenant)
}

// Close releases the idle connections of the client's transport. Calls in progress are not
// interrupted; the client may still be used afterwards.
func (c *Client) Close() {
	if ci, ok := c.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// String redacts the tokens and the client secret.
func (c *Client) String() string { return "xero.Client{" + c.cfg.APIURL + "}" }

// LogValue shows the configuration without secrets.
func (c *Client) LogValue() slog.Value { return c.cfg.LogValue() }

// call describes one API call for errors.
type call struct {
	tenant   string
	endpoint string
	page     int
}

// wrap adds the call's description to err. An *APIError already names the call; the fields it
// lacks are filled in.
func (cl call) wrap(err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Endpoint != tokenPath {
		if ae.Tenant == "" {
			ae.Tenant = cl.tenant
		}
		if ae.Endpoint == "" {
			ae.Endpoint = cl.endpoint
		}
		if ae.Page == 0 {
			ae.Page = cl.page
		}
		return err
	}
	var b strings.Builder
	if cl.tenant != "" {
		b.WriteString("tenant " + shortID(cl.tenant) + ": ")
	}
	b.WriteString("GET " + cl.endpoint)
	if cl.page > 0 {
		b.WriteString(" page " + strconv.Itoa(cl.page))
	}
	return fmt.Errorf("%s: %w", b.String(), err)
}

// do makes one GET call through the chain and hands a successful response to read, under the
// client's one retry policy (transport_retry.go): at most Config.MaxAttempts attempts, whatever
// made them fail, a body that read finds truncated or malformed (a *bodyError) included. The
// response body is closed when do returns.
func (c *Client) do(ctx context.Context, cl call, url string, header http.Header, read func(*http.Response) error) error {
	return cl.wrap(c.retry.run(ctx, cl, func() error { return c.once(ctx, cl, url, header, read) }))
}

func (c *Client) once(ctx context.Context, cl call, url string, header http.Header, read func(*http.Response) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header = header.Clone()
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotModified {
		return newAPIError(resp, cl.tenant, cl.endpoint, cl.page)
	}
	if err := read(resp); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // the caller stopped the read; not a bad body
		}
		return err
	}
	return nil
}
