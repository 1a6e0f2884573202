package bench

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/xero-kafka/xero-kafka/xerosim"
)

// SimSpec configures a simulator process: the cmd/xerosim options the benchmarks use.
type SimSpec struct {
	Tenants  int            `json:"tenants"`
	Seed     int64          `json:"seed"`
	Volumes  map[string]int `json:"volumes"`
	NoLimits bool           `json:"no_limits"`
	// Prerendered renders the records once, before the simulator says it is ready: the
	// throughput rows' data never change, and rendering them for each call would take the
	// cores the connector is measured on for work that Xero does on its own servers.
	Prerendered bool `json:"prerendered"`
	// TLSProxy also serves an HTTP proxy that answers CONNECT to api.xero.com and
	// identity.xero.com with TLS under a certificate of the CA in CADir, for tap-xero.
	TLSProxy bool   `json:"tls_proxy"`
	CADir    string `json:"ca_dir,omitempty"`
}

// SimInfo is what a simulator process prints on its first line of output.
type SimInfo struct {
	URL          string   `json:"url"`
	ProxyURL     string   `json:"proxy_url,omitempty"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret"`
	RefreshToken string   `json:"refresh_token"`
	Tenants      []string `json:"tenants"`
}

// CallCount is the answer of GET /__bench/calls: the API calls served since the start or the
// last POST /__bench/reset, and when the first of them arrived.
type CallCount struct {
	API       int64 `json:"api"`
	FirstCall int64 `json:"first_call_unix_nano"`
	// PerSecond counts the API calls answered other than with a 429 in each second since the
	// first call.
	PerSecond []int `json:"per_second,omitempty"`
	// Refused counts the 429s by X-Rate-Limit-Problem (minute, appminute, concurrent, day).
	Refused map[string]int `json:"refused,omitempty"`
	// Prerendered counts the records sent as the simulator rendered them at start
	// (SimSpec.Prerendered).
	Prerendered int `json:"prerendered,omitempty"`
}

// simServer counts API calls around the simulator's handler and serves the harness's edits.
type simServer struct {
	sim   *xerosim.Sim
	calls atomic.Int64
	first atomic.Int64
	trace callTrace
}

// callTrace is the time line of the API calls the simulator answered.
type callTrace struct {
	mu        sync.Mutex
	perSecond []int
	refused   map[string]int
}

// add counts a call that got status (and, for a 429, problem) sec seconds after the first.
func (t *callTrace) add(sec int, status int, problem string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if status == http.StatusTooManyRequests {
		if t.refused == nil {
			t.refused = map[string]int{}
		}
		t.refused[problem]++
		return
	}
	if sec < 0 {
		return
	}
	for len(t.perSecond) <= sec {
		t.perSecond = append(t.perSecond, 0)
	}
	t.perSecond[sec]++
}

func (t *callTrace) fill(c *CallCount) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.PerSecond = append([]int(nil), t.perSecond...)
	if len(t.refused) > 0 {
		c.Refused = make(map[string]int, len(t.refused))
		for k, v := range t.refused {
			c.Refused[k] = v
		}
	}
}

func (t *callTrace) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.perSecond, t.refused = nil, nil
}

// statusWriter keeps the status of a response for the trace.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *simServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/api.xro/"):
		if s.calls.Add(1) == 1 {
			s.first.CompareAndSwap(0, time.Now().UnixNano())
		}
		sw := &statusWriter{ResponseWriter: w}
		s.sim.Handler().ServeHTTP(sw, r)
		sec := int(time.Since(time.Unix(0, s.first.Load())) / time.Second)
		s.trace.add(sec, sw.status, sw.Header().Get("X-Rate-Limit-Problem"))
		return
	case r.URL.Path == "/__bench/calls":
		c := CallCount{API: s.calls.Load(), FirstCall: s.first.Load(), Prerendered: s.sim.Stats().Prerendered}
		s.trace.fill(&c)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c)
		return
	case r.URL.Path == "/__bench/reset" && r.Method == http.MethodPost:
		s.calls.Store(0)
		s.first.Store(0)
		s.trace.reset()
		return
	case r.URL.Path == "/__bench/burst" && r.Method == http.MethodPost:
		s.burst(w, r)
		return
	}
	s.sim.Handler().ServeHTTP(w, r)
}

// burst changes n records of one stream of one tenant at one instant (n=1: one edit).
func (s *simServer) burst(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("n"))
	if err != nil || n < 1 {
		http.Error(w, fmt.Sprintf("n: want a positive integer, got %q", q.Get("n")), http.StatusBadRequest)
		return
	}
	tenant, stream := q.Get("tenant"), q.Get("stream")
	known := false
	for _, id := range s.sim.Tenants() {
		known = known || id == tenant
	}
	if !known {
		http.Error(w, fmt.Sprintf("tenant %q is not simulated", tenant), http.StatusBadRequest)
		return
	}
	if !knownStream(stream) {
		http.Error(w, fmt.Sprintf("unknown stream %q", stream), http.StatusBadRequest)
		return
	}
	s.sim.Burst(tenant, stream, n)
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"done_unix_nano":%d}`, time.Now().UnixNano())
}

func knownStream(name string) bool {
	for _, s := range xerosim.StreamNames() {
		if s == name {
			return true
		}
	}
	return false
}

// ServeSim runs a simulator process: it prints a SimInfo line on out and serves until ctx ends.
func ServeSim(ctx context.Context, spec SimSpec, out io.Writer) error {
	opts := []xerosim.Option{xerosim.Tenants(spec.Tenants), xerosim.Seed(spec.Seed)}
	for name, n := range spec.Volumes {
		if !knownStream(name) {
			return fmt.Errorf("simulator volume: unknown stream %q", name)
		}
		opts = append(opts, xerosim.Volume(name, n))
	}
	if spec.NoLimits {
		opts = append(opts, xerosim.NoLimits())
	}
	if spec.Prerendered {
		opts = append(opts, xerosim.Prerendered())
	}
	sim := xerosim.NewSim(opts...)
	defer sim.Close()
	srv := &simServer{sim: sim}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the simulator: %w", err)
	}
	info := SimInfo{
		URL: "http://" + ln.Addr().String(), ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(),
		RefreshToken: sim.RefreshToken(), Tenants: sim.Tenants(),
	}
	servers := []*http.Server{{Handler: srv, ReadHeaderTimeout: 10 * time.Second}}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(ln) }()
	if spec.TLSProxy {
		if spec.CADir == "" {
			return errors.New("simulator spec: a TLS proxy needs ca_dir")
		}
		p, err := newTLSProxy(spec.CADir, srv)
		if err != nil {
			return err
		}
		pln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("listen for the TLS proxy: %w", err)
		}
		info.ProxyURL = "http://" + pln.Addr().String()
		ps := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, ps, p.inner)
		go func() { errc <- ps.Serve(pln) }()
		go func() { _ = p.inner.Serve(p.conns) }()
	}
	if err := json.NewEncoder(out).Encode(info); err != nil {
		return fmt.Errorf("print the simulator's address: %w", err)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve the simulator: %w", err)
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(stop)
	}
	return nil
}

// KafkaInfo is what a kfake process prints on its first line of output.
type KafkaInfo struct {
	Brokers  []string `json:"brokers"`
	Registry string   `json:"registry"`
}

// ServeKafka runs kfake (one broker) and srfake in this process until ctx ends, after printing a
// KafkaInfo line on out: the fake broker of the figures "on kfake", outside the connector.
func ServeKafka(ctx context.Context, out io.Writer) error {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}
	defer cluster.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for srfake: %w", err)
	}
	srv := &http.Server{Handler: srfake.NewRegistry().Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	info := KafkaInfo{Brokers: cluster.ListenAddrs(), Registry: "http://" + ln.Addr().String()}
	if err := json.NewEncoder(out).Encode(info); err != nil {
		return fmt.Errorf("print kfake's address: %w", err)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve srfake: %w", err)
	case <-ctx.Done():
	}
	_ = srv.Close()
	return nil
}

// xeroHosts are the hosts tap-xero calls; it has no setting for another base URL.
var xeroHosts = []string{"api.xero.com", "identity.xero.com"}

// tlsProxy answers CONNECT to Xero's hosts itself: it ends TLS with a certificate for them and
// serves the tunnelled requests from the simulator. Any other host is refused.
type tlsProxy struct {
	cfg   *tls.Config
	inner *http.Server
	conns *chanListener
}

func newTLSProxy(caDir string, h http.Handler) (*tlsProxy, error) {
	ca, key, err := LoadOrCreateCA(caDir)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("make the proxy's key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: xeroHosts[0]},
		DNSNames:     xeroHosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &leafKey.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sign the proxy's certificate: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: leafKey}
	conns := &chanListener{c: make(chan net.Conn), done: make(chan struct{})}
	return &tlsProxy{
		cfg:   &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		inner: &http.Server{Handler: jsonOnly(h), ReadHeaderTimeout: 10 * time.Second},
		conns: conns,
	}, nil
}

func (p *tlsProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.Host)
	if r.Method != http.MethodConnect || !contains(xeroHosts, host) {
		http.Error(w, fmt.Sprintf("this proxy only tunnels to %s, not %s %s", strings.Join(xeroHosts, " and "), r.Method, r.Host), http.StatusForbidden)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "cannot hijack the connection", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		_ = conn.Close()
		return
	}
	var c net.Conn = conn
	if buf.Reader.Buffered() > 0 {
		c = &bufferedConn{Conn: conn, r: buf.Reader}
	}
	p.conns.put(tls.Server(c, p.cfg))
}

// jsonOnly asks for JSON where a request accepts anything: Xero then answers in XML, which the
// simulator does not speak. tap-xero's access check (GET /Currencies, whose body it ignores)
// is the one such request.
func jsonOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			r.Header.Set("Accept", "application/json")
		}
		h.ServeHTTP(w, r)
	})
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// bufferedConn reads first what the hijacked connection's reader already holds.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// chanListener hands the tunnelled connections to an http.Server.
type chanListener struct {
	c    chan net.Conn
	once sync.Once
	done chan struct{}
}

func (l *chanListener) put(c net.Conn) {
	select {
	case l.c <- c:
	case <-l.done:
		_ = c.Close()
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.c:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// LoadOrCreateCA returns the benchmark's certificate authority kept in dir (ca.pem, ca-key.pem),
// making it on first use. It signs only the proxy's certificate for Xero's host names, which
// only tap-xero's own environment trusts.
func LoadOrCreateCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	if cb, err := os.ReadFile(certPath); err == nil {
		kb, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, nil, fmt.Errorf("read the benchmark CA key: %w", err)
		}
		cp, _ := pem.Decode(cb)
		kp, _ := pem.Decode(kb)
		if cp == nil || kp == nil {
			return nil, nil, fmt.Errorf("the benchmark CA in %s is not PEM: delete it to make a new one", dir)
		}
		cert, err := x509.ParseCertificate(cp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("parse the benchmark CA %s: %w", certPath, err)
		}
		key, err := x509.ParseECPrivateKey(kp.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("parse the benchmark CA key %s: %w", keyPath, err)
		}
		return cert, key, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("read the benchmark CA: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("make the benchmark CA directory: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("make the benchmark CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "xero-kafka benchmark CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("make the benchmark CA: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode the benchmark CA key: %w", err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, nil, fmt.Errorf("write the benchmark CA key: %w", err)
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, nil, fmt.Errorf("write the benchmark CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}
