package xerosim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Sim is a simulated Xero: the identity service, /connections and the Accounting API for a set
// of tenants. All methods are safe for concurrent use.
type Sim struct {
	cfg     config
	seed    uint64
	clock   *clock
	srv     *httptest.Server
	handler http.Handler

	clientID, clientSecret string

	// mu guards the data of every tenant: tables, journals and payment links.
	mu      sync.RWMutex
	tenants []*tenant
	byID    map[string]*tenant

	auth   *authState
	lim    *limiter
	stats  *stats
	calls  *callLog
	faults *faultState
	mut    *mutator

	icMu         sync.RWMutex
	interceptors []Interceptor

	idMu  sync.Mutex
	idGen rng

	bufs sync.Pool

	stop chan struct{}
	done sync.WaitGroup
}

// Interceptor sees every request first; if it writes a response it returns true and the
// simulator does nothing more with the request (not even count it).
type Interceptor func(w http.ResponseWriter, r *http.Request) (handled bool)

// New builds a simulator and serves it on an httptest server on 127.0.0.1. Close it when done.
func New(opts ...Option) *Sim {
	s := NewSim(opts...)
	s.srv = httptest.NewServer(s.handler)
	return s
}

// NewSim builds a simulator without starting a server: serve Handler on a listener of your
// choice. URL returns "" and Close only stops the background mutator.
func NewSim(opts ...Option) *Sim {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Sim{cfg: cfg, seed: uint64(cfg.seed), stop: make(chan struct{})}
	s.clock = newClock(cfg.now, cfg.start, cfg.timeScale)
	s.clock.simSeconds = cfg.scaledClient
	now := s.clock.now()
	s.idGen = newRNG(mix(s.seed, 0x1d))
	s.clientID, s.clientSecret = cfg.clientID, cfg.clientSecret
	if s.clientID == "" {
		s.clientID = strings.ToUpper(fmt.Sprintf("%016x%016x", mix(s.seed, 11), mix(s.seed, 12)))
	}
	if s.clientSecret == "" {
		s.clientSecret = fmt.Sprintf("%016x%016x%016x", mix(s.seed, 13), mix(s.seed, 14), mix(s.seed, 15))
	}
	s.byID = map[string]*tenant{}
	for i := 0; i < cfg.tenants; i++ {
		t := newTenant(&s.cfg, i, now, s.clock)
		if cfg.prerender {
			t.prerender()
		}
		s.tenants = append(s.tenants, t)
		s.byID[t.id.String()] = t
	}
	s.auth = newAuthState(s.clock, s.seed, cfg.refreshToken, now, cfg.refusedScopes)
	s.lim = newLimiter(cfg.limits, cfg.limitsOff, s.clock)
	s.stats = newStats()
	s.calls = &callLog{}
	s.faults = newFaultState(cfg.faults, s.seed)
	s.mut = newMutator(s)
	s.bufs.New = func() any { return &jw{b: make([]byte, 0, 64<<10)} }

	mux := http.NewServeMux()
	mux.HandleFunc("POST /connect/token", s.handleToken)
	mux.HandleFunc("GET "+authorizePath, s.handleAuthorize)
	mux.HandleFunc("POST "+authorizePath, s.handleConsent)
	mux.HandleFunc("GET /connections", s.handleConnections)
	for _, d := range defs {
		mux.HandleFunc("GET /api.xro/2.0"+d.path, s.listHandler(d))
	}
	mux.HandleFunc("GET /__sim/stats", s.handleStats)
	mux.HandleFunc("GET /__sim/truth/{tenant}/{stream}", s.handleTruth)
	s.handler = s.wrap(mux)

	if cfg.mutationRate > 0 {
		s.done.Add(1)
		go s.mut.run(s.stop)
	}
	return s
}

// wrap runs interceptors and counts every answer per route and status.
func (s *Sim) wrap(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.icMu.RLock()
		ics := s.interceptors
		s.icMu.RUnlock()
		for _, ic := range ics {
			if ic(w, r) {
				return
			}
		}
		received := s.cfg.now()
		// The call is counted as its status is written, before any of the answer reaches the
		// client: a client that has its answer finds its call in Calls.
		sw := &statusWriter{ResponseWriter: w, answered: func(status int) {
			pattern := r.Pattern
			if pattern == "" {
				pattern = r.Method + " " + r.URL.Path
			}
			if !strings.HasPrefix(pattern, "GET /__sim/") {
				s.stats.call(pattern, status)
				s.calls.add(Call{Received: received, UserAgent: r.UserAgent(), Endpoint: pattern, Status: status})
			}
		}}
		mux.ServeHTTP(sw, r)
		sw.answer(http.StatusOK) // a handler that wrote nothing answers 200
	})
}

// statusWriter calls answered with the status code, once, before the answer is written.
type statusWriter struct {
	http.ResponseWriter
	answered func(status int)
	status   int
}

func (w *statusWriter) answer(code int) {
	if w.status == 0 {
		w.status = code
		w.answered(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.answer(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.answer(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (hijacking, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// URL is the base URL of the httptest server: it serves /connect/token, /connections,
// /api.xro/2.0/... and /__sim/... ("" for a Sim made by NewSim).
func (s *Sim) URL() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.URL
}

// Handler serves the simulator on any listener.
func (s *Sim) Handler() http.Handler { return s.handler }

// Close stops the mutator and the server.
func (s *Sim) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.done.Wait()
	if s.srv != nil {
		s.srv.CloseClientConnections()
		s.srv.Close()
	}
}

// Intercept adds an interceptor that sees every request before the simulator does.
func (s *Sim) Intercept(ic Interceptor) {
	s.icMu.Lock()
	s.interceptors = append(s.interceptors, ic)
	s.icMu.Unlock()
}

// Tenants returns the tenant ids (xero-tenant-id values), in order.
func (s *Sim) Tenants() []string {
	ids := make([]string, len(s.tenants))
	for i, t := range s.tenants {
		ids[i] = t.id.String()
	}
	return ids
}

// ClientID returns the app's client id.
func (s *Sim) ClientID() string { return s.clientID }

// ClientSecret returns the app's client secret.
func (s *Sim) ClientSecret() string { return s.clientSecret }

// RefreshToken returns the newest refresh token of the chain: before any refresh, the initial
// one.
func (s *Sim) RefreshToken() string { return s.auth.currentRefresh() }

// Now returns the simulated time.
func (s *Sim) Now() time.Time { return time.UnixMilli(s.clock.now()).UTC() }

// Advance moves simulated time forward by d (token expiry, rate-limit windows, grace period).
func (s *Sim) Advance(d time.Duration) { s.clock.advance(d) }

// newID returns a fresh response id.
func (s *Sim) newID() uuid {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	return makeUUID(s.idGen.next())
}

// tenant returns the tenant with the given id.
func (s *Sim) tenant(id string) (*tenant, error) {
	t := s.byID[strings.ToLower(id)]
	if t == nil {
		return nil, fmt.Errorf("xerosim: unknown tenant %q", id)
	}
	return t, nil
}
