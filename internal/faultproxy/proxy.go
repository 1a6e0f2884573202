// Package faultproxy is a TCP proxy for the Kafka protocol that loses chosen responses: it
// forwards requests to the brokers, and for the request kinds it is told to (EndTxn, Produce,
// InitProducerId, AddPartitionsToTxn, ...) it may cut the connection once the broker's answer
// has arrived, so that the broker acted on a request whose client never learns the outcome. It
// reproduces a broker crash, a leader change or a network cut at the worst moment, on demand
// and reproducibly (the drops are drawn from a seed).
//
// Clients are given the proxy's address as their only seed broker. The proxy listens on one
// port per broker: it rewrites the broker addresses in Metadata, FindCoordinator and
// DescribeCluster responses to its own, so clients keep talking through it.
package faultproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// maxFrame bounds the size of one request or response the proxy accepts (Kafka's default
// socket.request.max.bytes is 100 MiB).
const maxFrame = 100 << 20

// Proxy forwards Kafka connections to a set of brokers and loses chosen responses.
type Proxy struct {
	log *slog.Logger

	mu        sync.Mutex
	listeners map[string]*listener // by upstream broker address
	rates     map[int16]float64    // drop probability per API key
	next      map[int16]int        // responses to drop for certain, per API key, before any draw
	rng       *rand.Rand
	dropped   map[int16]int
	forwarded map[int16]int
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup
}

type listener struct {
	ln       net.Listener
	upstream string
}

// New starts a proxy in front of the given seed brokers ("host:port"), listening on loopback.
// Drops are drawn from seed. Close it when done.
func New(seed uint64, log *slog.Logger, brokers ...string) (*Proxy, error) {
	if len(brokers) == 0 {
		return nil, errors.New("fault proxy: no broker to forward to")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		log:       log,
		listeners: map[string]*listener{},
		rates:     map[int16]float64{},
		next:      map[int16]int{},
		rng:       newRNG(seed),
		dropped:   map[int16]int{},
		forwarded: map[int16]int{},
		conns:     map[net.Conn]struct{}{},
	}
	for _, b := range brokers {
		if _, err := p.listenerFor(b); err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// newRNG is the source of the drops of a proxy with the given seed.
func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// Addrs returns the proxy's addresses of the given brokers, in their order: given the seed
// brokers, what clients should use as seeds.
func (p *Proxy) Addrs(brokers ...string) []string {
	out := make([]string, 0, len(brokers))
	for _, b := range brokers {
		l, err := p.listenerFor(b)
		if err == nil {
			out = append(out, l.ln.Addr().String())
		}
	}
	return out
}

// Drop makes the proxy lose the response of each request of the given kind with probability
// rate (0 stops dropping it). For example Drop(kmsg.EndTxn, 0.3).
func (p *Proxy) Drop(key kmsg.Key, rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rate <= 0 {
		delete(p.rates, int16(key))
		return
	}
	p.rates[int16(key)] = rate
}

// DropNext makes the proxy lose the responses of the next n requests of the given kind, before
// any drawn at random.
func (p *Proxy) DropNext(key kmsg.Key, n int) {
	p.mu.Lock()
	p.next[int16(key)] += n
	p.mu.Unlock()
}

// Counts are what the proxy did, per request kind ("EndTxn", "Produce", ...).
type Counts struct {
	Dropped   map[string]int
	Forwarded map[string]int
}

// Counts returns how many responses of each kind were dropped and forwarded so far.
func (p *Proxy) Counts() Counts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := Counts{Dropped: map[string]int{}, Forwarded: map[string]int{}}
	for k, n := range p.dropped {
		c.Dropped[kmsg.NameForKey(k)] = n
	}
	for k, n := range p.forwarded {
		c.Forwarded[kmsg.NameForKey(k)] = n
	}
	return c
}

// CutAll closes every open connection, as a network failure would; listeners stay open.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

// Close stops listening, cuts every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for _, l := range p.listeners {
		_ = l.ln.Close()
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// listenerFor returns the proxy's listener of an upstream broker, starting one if needed.
func (p *Proxy) listenerFor(upstream string) (*listener, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := p.listeners[upstream]; ok {
		return l, nil
	}
	if p.closed {
		return nil, errors.New("fault proxy: closed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy: listen for broker %s: %w", upstream, err)
	}
	l := &listener{ln: ln, upstream: upstream}
	p.listeners[upstream] = l
	p.wg.Add(1)
	go p.accept(l)
	return l, nil
}

func (p *Proxy) accept(l *listener) {
	defer p.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			_ = c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c, l.upstream)
		}()
	}
}

// track registers an open connection; it reports false once the proxy is closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// pending is a request forwarded and not yet answered.
type pending struct {
	key, version int16
}

// serve forwards one client connection to upstream until either side closes or a response is
// dropped.
func (p *Proxy) serve(client net.Conn, upstream string) {
	broker, err := net.Dial("tcp", upstream)
	if err != nil {
		p.log.Debug("fault proxy: broker unreachable", "broker", upstream, "err", err)
		p.untrack(client)
		return
	}
	if !p.track(broker) {
		_ = broker.Close()
		p.untrack(client)
		return
	}

	var mu sync.Mutex
	inflight := map[int32]pending{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer p.untrack(broker) // a client that hangs up ends the exchange
		for {
			frame, err := readFrame(client)
			if err != nil {
				return
			}
			if len(frame) < 8 {
				p.log.Debug("fault proxy: short request", "bytes", len(frame))
				return
			}
			key := int16(binary.BigEndian.Uint16(frame[0:]))
			version := int16(binary.BigEndian.Uint16(frame[2:]))
			corr := int32(binary.BigEndian.Uint32(frame[4:]))
			if key != int16(kmsg.Produce) || !acksZero(frame) {
				mu.Lock()
				inflight[corr] = pending{key, version}
				mu.Unlock()
			}
			if err := writeFrame(broker, frame); err != nil {
				return
			}
		}
	}()
	defer func() {
		// Cut both sides, then wait for the request side to notice.
		p.untrack(client)
		p.untrack(broker)
		<-done
	}()
	for {
		frame, err := readFrame(broker)
		if err != nil {
			return
		}
		if len(frame) < 4 {
			return
		}
		corr := int32(binary.BigEndian.Uint32(frame))
		mu.Lock()
		req, ok := inflight[corr]
		delete(inflight, corr)
		mu.Unlock()
		if !ok {
			p.log.Debug("fault proxy: response to no request", "correlation_id", corr)
			return
		}
		if p.drop(req.key) {
			p.log.Debug("fault proxy: dropping a response", "request", kmsg.NameForKey(req.key), "broker", upstream)
			return // the deferred function cuts both sides
		}
		if frame, err = p.rewrite(req, frame); err != nil {
			p.log.Debug("fault proxy: rewrite response", "request", kmsg.NameForKey(req.key), "err", err)
			return
		}
		if err := writeFrame(client, frame); err != nil {
			return
		}
	}
}

// drop decides whether the response of a request of kind key is lost, and counts it.
func (p *Proxy) drop(key int16) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	lose := false
	if p.next[key] > 0 {
		p.next[key]--
		lose = true
	} else if r, ok := p.rates[key]; ok && p.rng.Float64() < r {
		lose = true
	}
	if lose {
		p.dropped[key]++
	} else {
		p.forwarded[key]++
	}
	return lose
}

// rewrite points the broker addresses of Metadata, FindCoordinator and DescribeCluster
// responses at the proxy; other responses pass unchanged.
func (p *Proxy) rewrite(req pending, frame []byte) ([]byte, error) {
	switch kmsg.Key(req.key) {
	case kmsg.Metadata, kmsg.FindCoordinator, kmsg.DescribeCluster:
	default:
		return frame, nil
	}
	resp := kmsg.ResponseForKey(req.key)
	resp.SetVersion(req.version)
	// The response header: the correlation id, then, in flexible versions, tagged fields.
	hdr := 4
	if resp.IsFlexible() {
		n, err := skipTags(frame[hdr:])
		if err != nil {
			return nil, err
		}
		hdr += n
	}
	if err := resp.ReadFrom(frame[hdr:]); err != nil {
		return nil, fmt.Errorf("decode %s v%d: %w", kmsg.NameForKey(req.key), req.version, err)
	}
	var err error
	addr := func(host *string, port *int32) {
		if err != nil || *host == "" {
			return
		}
		var l *listener
		l, err = p.listenerFor(net.JoinHostPort(*host, strconv.Itoa(int(*port))))
		if err != nil {
			return
		}
		a := l.ln.Addr().(*net.TCPAddr)
		*host, *port = a.IP.String(), int32(a.Port)
	}
	switch r := resp.(type) {
	case *kmsg.MetadataResponse:
		for i := range r.Brokers {
			addr(&r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	case *kmsg.FindCoordinatorResponse:
		addr(&r.Host, &r.Port)
		for i := range r.Coordinators {
			addr(&r.Coordinators[i].Host, &r.Coordinators[i].Port)
		}
	case *kmsg.DescribeClusterResponse:
		for i := range r.Brokers {
			addr(&r.Brokers[i].Host, &r.Brokers[i].Port)
		}
	}
	if err != nil {
		return nil, err
	}
	return resp.AppendTo(append([]byte(nil), frame[:hdr]...)), nil
}

// skipTags returns the length of a tagged-field section at the start of b.
func skipTags(b []byte) (int, error) {
	r := kbin{b: b}
	n := r.uvarint()
	for range n {
		r.uvarint() // tag
		size := r.uvarint()
		r.skip(int(size))
	}
	return r.off, r.err
}

// acksZero reports whether a Produce request asks for no response (acks=0). The request header
// v1 (Produce v0-v8) or v2 (v9+) is followed by the transactional id in v3+, then acks.
func acksZero(frame []byte) bool {
	version := int16(binary.BigEndian.Uint16(frame[2:]))
	r := kbin{b: frame, off: 8}
	// Client id: a nullable int16-length string in every header version.
	n := int16(r.int16())
	if n > 0 {
		r.skip(int(n))
	}
	flexible := version >= 9
	if flexible {
		for range r.uvarint() {
			r.uvarint()
			r.skip(int(r.uvarint()))
		}
	}
	if version >= 3 { // transactional id
		if flexible {
			if l := r.uvarint(); l > 1 {
				r.skip(int(l - 1))
			}
		} else if l := int16(r.int16()); l > 0 {
			r.skip(int(l))
		}
	}
	return r.err == nil && r.int16() == 0 && r.err == nil
}

// kbin reads the few primitive types the proxy needs.
type kbin struct {
	b   []byte
	off int
	err error
}

func (r *kbin) skip(n int) {
	if r.err == nil && (n < 0 || r.off+n > len(r.b)) {
		r.err = io.ErrUnexpectedEOF
	}
	if r.err == nil {
		r.off += n
	}
}

func (r *kbin) int16() uint16 {
	if r.err != nil || r.off+2 > len(r.b) {
		r.err = io.ErrUnexpectedEOF
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *kbin) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.err = io.ErrUnexpectedEOF
		return 0
	}
	r.off += n
	return v
}

// readFrame reads one size-prefixed Kafka frame and returns it without its size.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxFrame {
		return nil, fmt.Errorf("frame of %d bytes is larger than %d", n, maxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func writeFrame(w io.Writer, frame []byte) error {
	buf := make([]byte, 4, 4+len(frame))
	binary.BigEndian.PutUint32(buf, uint32(len(frame)))
	_, err := w.Write(append(buf, frame...))
	return err
}
