package xero

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config; a zero field takes the value here.
const (
	DefaultAPIURL         = "https://api.xero.com"
	DefaultIdentityURL    = "https://identity.xero.com"
	DefaultLoginURL       = "https://login.xero.com"
	DefaultRequestTimeout = 60 * time.Second
	DefaultMaxInFlight    = 5    // Xero's concurrent limit per tenant
	DefaultDayLimit       = 5000 // Xero's daily limit per tenant (1,000 on its Starter tier)
	DefaultRefreshMargin  = 5 * time.Minute
	DefaultMaxAttempts    = 5
	DefaultBackoffBase    = time.Second
	DefaultBackoffMax     = 30 * time.Second
	DefaultMaxRetryAfter  = 2 * time.Minute
	DefaultUserAgent      = "xero-kafka"
)

// Config holds the settings of a Client. Only ClientID is required; an app without a client
// secret is a public client, which authorises with PKCE and refreshes with its id alone.
type Config struct {
	// APIURL is the API host: the Accounting API is APIURL+"/api.xro/2.0" and the connections
	// list APIURL+"/connections". Default DefaultAPIURL.
	APIURL string
	// IdentityURL is the identity host: the token endpoint is IdentityURL+"/connect/token".
	// Default DefaultIdentityURL.
	IdentityURL string
	// LoginURL is the host of the authorise page: IdentityURL's sibling
	// LoginURL+"/identity/connect/authorize". Default DefaultLoginURL.
	LoginURL string
	// ClientID and ClientSecret identify the app; they are sent to the token endpoint by HTTP
	// Basic authentication. ClientSecret is a secret: String and LogValue redact it.
	ClientID, ClientSecret string

	// RequestTimeout bounds one attempt of one request, from sending it to the end of its body.
	// Waits between attempts are not included. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxInFlight is the number of calls one tenant may have in flight at once (Xero rejects a
	// sixth with 429 concurrent). Default DefaultMaxInFlight.
	MaxInFlight int
	// DayLimit is the starting estimate of the calls each tenant has left today, until Xero's
	// X-DayLimit-Remaining reports the real count; it limits nothing itself. Default
	// DefaultDayLimit.
	DayLimit int
	// RefreshMargin is how long before the access token expires it is refreshed. Xero's access
	// tokens last 30 minutes; the margin must be shorter. Default DefaultRefreshMargin.
	RefreshMargin time.Duration
	// MaxAttempts bounds the HTTP attempts of one call, whatever made them fail (5xx,
	// timeouts, dropped connections, 429 other than day, a truncated or malformed body, a 401
	// TokenExpired): the retry policy (transport_retry.go) is the only place that repeats a
	// call. Default DefaultMaxAttempts.
	MaxAttempts int
	// BackoffBase and BackoffMax shape the waits between attempts after a failure that carries
	// no Retry-After: about BackoffBase*2^n, jittered, at most BackoffMax. Defaults
	// DefaultBackoffBase and DefaultBackoffMax.
	BackoffBase, BackoffMax time.Duration
	// MaxRetryAfter is the longest Retry-After the retry layer waits out inside a call. A 429
	// asking for longer is returned to the caller as an *APIError carrying RetryAfter.
	// Default DefaultMaxRetryAfter.
	MaxRetryAfter time.Duration
	// UserAgent is sent on every request. Default DefaultUserAgent.
	UserAgent string
	// PerTenantMetrics exports the rate-limit gauges per tenant as well as their minimum over
	// the tenants.
	PerTenantMetrics bool

	// Clock, when set, replaces the real clock for every wait and expiry check of the client
	// (a benchmark runs it faster than real time: ScaledClock). The product leaves it nil.
	Clock Clock

	// Transport, when set, replaces the innermost net/http transport (tests use it to serve the
	// client from memory). The per-attempt RequestTimeout still applies on top of it.
	Transport http.RoundTripper
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.APIURL, DefaultAPIURL)
	def(&cfg.IdentityURL, DefaultIdentityURL)
	def(&cfg.LoginURL, DefaultLoginURL)
	def(&cfg.UserAgent, DefaultUserAgent)
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	cfg.IdentityURL = strings.TrimRight(cfg.IdentityURL, "/")
	cfg.LoginURL = strings.TrimRight(cfg.LoginURL, "/")
	defDur(&cfg.RequestTimeout, DefaultRequestTimeout)
	defDur(&cfg.RefreshMargin, DefaultRefreshMargin)
	defDur(&cfg.BackoffBase, DefaultBackoffBase)
	defDur(&cfg.BackoffMax, DefaultBackoffMax)
	defDur(&cfg.MaxRetryAfter, DefaultMaxRetryAfter)
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.DayLimit == 0 {
		cfg.DayLimit = DefaultDayLimit
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	return cfg
}

// clock returns the clock the client runs on: Clock, or the real one.
func (cfg Config) clock() Clock {
	if cfg.Clock == nil {
		return realClock{}
	}
	return cfg.Clock
}

// validate checks a Config that has its defaults; each error names the field.
func (cfg Config) validate() error {
	var errs []error
	for _, u := range []struct{ name, value string }{{"APIURL", cfg.APIURL}, {"IdentityURL", cfg.IdentityURL}, {"LoginURL", cfg.LoginURL}} {
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: not an http(s) URL", u.name, u.value))
		}
	}
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("ClientID is empty"))
	}
	positive := []struct {
		name string
		ok   bool
	}{
		{"RequestTimeout", cfg.RequestTimeout > 0},
		{"MaxInFlight", cfg.MaxInFlight > 0},
		{"DayLimit", cfg.DayLimit > 0},
		{"RefreshMargin", cfg.RefreshMargin > 0},
		{"MaxAttempts", cfg.MaxAttempts > 0},
		{"BackoffBase", cfg.BackoffBase > 0},
		{"BackoffMax", cfg.BackoffMax >= cfg.BackoffBase},
		{"MaxRetryAfter", cfg.MaxRetryAfter > 0},
	}
	for _, p := range positive {
		if !p.ok {
			errs = append(errs, fmt.Errorf("%s: out of range", p.name))
		}
	}
	if cfg.RefreshMargin >= accessTokenLifetime {
		errs = append(errs, fmt.Errorf("RefreshMargin %s must be shorter than the %s access token lifetime", cfg.RefreshMargin, accessTokenLifetime))
	}
	return errors.Join(errs...)
}

// String shows the configuration with the client secret redacted.
func (cfg Config) String() string {
	return fmt.Sprintf("xero.Config{APIURL:%s IdentityURL:%s ClientID:%s ClientSecret:%s RequestTimeout:%s MaxInFlight:%d}",
		cfg.APIURL, cfg.IdentityURL, cfg.ClientID, redacted(cfg.ClientSecret), cfg.RequestTimeout, cfg.MaxInFlight)
}

// LogValue logs the configuration with the client secret redacted.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_url", cfg.APIURL),
		slog.String("identity_url", cfg.IdentityURL),
		slog.String("client_id", cfg.ClientID),
		slog.Bool("has_client_secret", cfg.ClientSecret != ""),
		slog.Duration("request_timeout", cfg.RequestTimeout),
		slog.Int("max_in_flight", cfg.MaxInFlight),
	)
}

// redacted stands in for a secret in String methods: it says whether one is set, never what.
func redacted(secret string) string {
	if secret == "" {
		return "<unset>"
	}
	return "<redacted>"
}
