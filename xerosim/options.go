package xerosim

import (
	"time"
)

// Option configures a Sim. Options are applied in order; later ones win.
type Option func(*config)

// IMSMode says how If-Modified-Since is compared with a record's UpdatedDateUTC (or
// CreatedDateUTC). Xero documents the header as "yyyy-mm-ddThh:mm:ss" and returns records
// "created or modified since" it; the default, IMSInclusiveSecond, drops any fraction of the
// header and returns records at or after that second.
type IMSMode int

const (
	// IMSInclusiveSecond: the header is truncated to the second; records with a timestamp at
	// or after it are returned (the default).
	IMSInclusiveSecond IMSMode = iota
	// IMSInclusiveMilli: records with a timestamp at or after the header, to the millisecond.
	IMSInclusiveMilli
	// IMSExclusiveSecond: records whose timestamp falls in a later second than the header's.
	// Records in the header's own second are not returned, even if later by milliseconds.
	IMSExclusiveSecond
	// IMSExclusiveMilli: records with a timestamp strictly after the header, to the millisecond.
	IMSExclusiveMilli
	// IMSDay: the header is read at day precision: records with a timestamp on or after the
	// start of the header's UTC day are returned. Some servers compare dates only.
	IMSDay
	// IMSIgnored: the header is accepted and ignored; every record is returned.
	IMSIgnored
)

func (m IMSMode) String() string {
	switch m {
	case IMSInclusiveSecond:
		return "inclusive-second"
	case IMSInclusiveMilli:
		return "inclusive-milli"
	case IMSExclusiveSecond:
		return "exclusive-second"
	case IMSExclusiveMilli:
		return "exclusive-milli"
	case IMSDay:
		return "day"
	case IMSIgnored:
		return "ignored"
	}
	return "unknown"
}

// low returns the smallest timestamp (unix ms) a record may have to pass the header value ims.
func (m IMSMode) low(ims int64) int64 {
	sec := ims - ((ims%1000)+1000)%1000
	switch m {
	case IMSInclusiveMilli:
		return ims
	case IMSExclusiveMilli:
		return ims + 1
	case IMSExclusiveSecond:
		return sec + 1000
	case IMSDay:
		const day = 24 * 60 * 60 * 1000
		return ims - ((ims%day)+day)%day
	case IMSIgnored:
		return -1
	default:
		return sec
	}
}

// Faults are the rates (0..1, per API call) at which the simulator misbehaves. A call gets at
// most one fault; rates are tried in the order of the fields.
type Faults struct {
	Status500 float64 // 500 Internal Server Error
	Status502 float64 // 502 Bad Gateway
	Status503 float64 // 503 Service Unavailable ("The Xero API is temporarily unavailable")
	Status504 float64 // 504 Gateway Timeout
	// NotEfficient answers 400 "Your request is not filtering ... efficiently" (API.md §1).
	NotEfficient float64
	Drop         float64 // the connection is closed with no response
	Truncated    float64 // the body stops half-way (the connection is then closed)
	Malformed    float64 // 200 with a body that is not valid JSON
	Slow         float64 // the answer is delayed by SlowDelay (real time) first
	// SlowDelay is the delay of a slow answer; default 2s.
	SlowDelay time.Duration
}

func (f Faults) any() bool {
	return f.Status500+f.Status502+f.Status503+f.Status504+f.NotEfficient+f.Drop+f.Truncated+f.Malformed+f.Slow > 0
}

// Limits are Xero's rate limits. Zero fields keep their defaults.
type Limits struct {
	Concurrent   int // calls in progress per tenant (5)
	PerMinute    int // calls per tenant per minute (60)
	PerDay       int // calls per tenant per day (5000; 1000 on Xero's Starter tier)
	AppPerMinute int // calls per minute for the app across tenants (10000)
}

type config struct {
	seed         int64
	tenants      int
	volumes      map[string]int
	mutationRate float64 // per simulated second
	limits       Limits
	limitsOff    bool
	timeScale    float64
	scaledClient bool // Retry-After and expires_in in simulated seconds
	start        time.Time
	now          func() time.Time
	faults       Faults
	clientID     string
	clientSecret string
	refreshToken string
	gateJournals bool
	employees    bool
	ims          IMSMode
	provider     string
	highVolume   int
	recorded     float64 // AsRecorded's share
	prerender    bool    // Prerendered
	// refusedScopes are never granted; refusalStatus answers an endpoint whose scope is missing.
	refusedScopes []string
	refusalStatus int
}

func defaultConfig() config {
	return config{
		seed:         1,
		tenants:      1,
		volumes:      map[string]int{},
		limits:       Limits{Concurrent: 5, PerMinute: 60, PerDay: 5000, AppPerMinute: 10000},
		timeScale:    1,
		now:          time.Now,
		clientID:     "",
		clientSecret: "",
		provider:     "xerosim",
		highVolume:   100000,
	}
}

// Seed sets the seed all data, ids, tokens and fault draws derive from (default 1).
func Seed(seed int64) Option { return func(c *config) { c.seed = seed } }

// Tenants sets the number of organisations connected to the app (default 1).
func Tenants(n int) Option { return func(c *config) { c.tenants = max(1, n) } }

// Volume sets the number of records a stream starts with in every tenant. Fixed tables ignore
// it: organisations (always 1), tax_rates (the country's rates) and tracking_categories (3);
// accounts never go below the standard chart and currencies are capped at 13.
func Volume(stream string, n int) Option { return func(c *config) { c.volumes[stream] = max(0, n) } }

// MutationRate makes the simulator change data continuously, perSecond changes per simulated
// second spread over tenants and streams (see TimeScale). Zero (the default) keeps data still.
func MutationRate(perSecond float64) Option { return func(c *config) { c.mutationRate = perSecond } }

// RateLimits replaces Xero's limits; zero fields keep the defaults (5 concurrent, 60 a minute,
// 5000 a day per tenant, 10000 a minute per app).
func RateLimits(l Limits) Option {
	return func(c *config) {
		if l.Concurrent > 0 {
			c.limits.Concurrent = l.Concurrent
		}
		if l.PerMinute > 0 {
			c.limits.PerMinute = l.PerMinute
		}
		if l.PerDay > 0 {
			c.limits.PerDay = l.PerDay
		}
		if l.AppPerMinute > 0 {
			c.limits.AppPerMinute = l.AppPerMinute
		}
	}
}

// DayLimit sets the per-tenant daily limit, for example 1000 for Xero's Starter tier.
func DayLimit(n int) Option { return func(c *config) { c.limits.PerDay = n } }

// NoLimits switches rate limiting off (throughput benchmarks). The limit headers are still
// sent, with the configured limits as their values.
func NoLimits() Option { return func(c *config) { c.limitsOff = true } }

// TimeScale runs simulated time faster than real time: with 60, a simulated minute lasts one
// real second. It compresses rate-limit windows, token lifetimes, the refresh grace period and
// the mutation clock. Retry-After and expires_in are given in real seconds (rounded up).
func TimeScale(f float64) Option {
	return func(c *config) {
		if f > 0 {
			c.timeScale = f
		}
	}
}

// ScaledClient gives Retry-After and expires_in in simulated seconds instead of real ones, for
// a client whose own clock runs at the same TimeScale (a compressed-time benchmark): it then
// waits out a 429 and keeps a token exactly as long, in simulated time, as Xero asks.
func ScaledClient() Option { return func(c *config) { c.scaledClient = true } }

// StartTime sets the simulated time at start (default: the real time).
func StartTime(t time.Time) Option { return func(c *config) { c.start = t } }

// Clock replaces the source of real time the simulated clock is derived from (default
// time.Now); tests may pass a function they control.
func Clock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithFaults sets the fault rates.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// ClientCredentials sets the app's client id and secret (default: derived from the seed).
func ClientCredentials(id, secret string) Option {
	return func(c *config) { c.clientID, c.clientSecret = id, secret }
}

// InitialRefreshToken sets the refresh token the chain starts from (default: derived from the seed).
func InitialRefreshToken(tok string) Option { return func(c *config) { c.refreshToken = tok } }

// GateJournals answers /Journals with 401 AuthorizationUnsuccessful, as Xero does since March
// 2026 for apps below its Advanced tier.
func GateJournals() Option { return func(c *config) { c.gateJournals = true } }

// ServeEmployees serves /Employees; by default it answers 404 as Xero has since April 2026.
func ServeEmployees() Option { return func(c *config) { c.employees = true } }

// ModifiedSince sets how If-Modified-Since is compared (default IMSInclusiveSecond).
func ModifiedSince(m IMSMode) Option { return func(c *config) { c.ims = m } }

// ProviderName sets the envelope's ProviderName (the app's name).
func ProviderName(name string) Option { return func(c *config) { c.provider = name } }

// HighVolumeThreshold sets the record count from which a where filter on a paged endpoint is
// answered with Xero's 400 "not filtering efficiently" (default 100000).
func HighVolumeThreshold(n int) Option { return func(c *config) { c.highVolume = n } }

// AsRecorded writes a share (0 to 1) of records in the shapes recorded from Xero's real API
// rather than the simulator's tidy default: dates with +1200 and +1300 offsets, money without
// trailing zeros, absent fields, "/Date(0+0000)/" for no date, full nested contacts with empty
// addresses, attachments, credit notes inside invoices, {} for empty objects, a number where
// the spec says string, and fields the spec does not list (recorded.go has the list). Which
// records is drawn per record version. Zero (the default) leaves the output unchanged.
func AsRecorded(share float64) Option {
	return func(c *config) { c.recorded = min(max(share, 0), 1) }
}

// RefuseScopes makes the organisation's user withhold these scopes from every grant (the
// initial chain, an authorisation, a custom connection): the endpoints that need one of them
// answer 401 AuthorizationUnsuccessful, as Xero does, unless the token also holds the other
// scope that covers the endpoint (broad and granular scopes both cover it).
func RefuseScopes(scopes ...string) Option {
	return func(c *config) { c.refusedScopes = append(c.refusedScopes, scopes...) }
}

// ScopeRefusalStatus sets the status of an endpoint refused for a missing scope: 401 (the
// default, what Xero answers) or 403.
func ScopeRefusalStatus(code int) Option { return func(c *config) { c.refusalStatus = code } }

// Fast switches rate limits and faults off, for quick functional tests.
func Fast() Option {
	return func(c *config) {
		c.limitsOff = true
		c.faults = Faults{}
	}
}
