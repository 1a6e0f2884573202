package xerosim

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FaultKind is a way the simulator can misbehave on an API call.
type FaultKind int

// Fault kinds.
const (
	faultNone         FaultKind = iota
	Fault500                    // 500 "An unhandled error with the Xero API"
	Fault502                    // 502 Bad Gateway
	Fault503                    // 503 "The Xero API is temporarily unavailable"
	Fault504                    // 504 Gateway Timeout
	FaultNotEfficient           // 400 "Your request is not filtering ... efficiently"
	FaultDrop                   // the connection is closed without an answer
	FaultTruncated              // the body stops half-way and the connection is closed
	FaultMalformed              // 200 with a body that is not valid JSON
	FaultSlow                   // the answer comes after Faults.SlowDelay
)

type fault = FaultKind

const faultTruncated = FaultTruncated

func (f FaultKind) String() string {
	switch f {
	case Fault500:
		return "500"
	case Fault502:
		return "502"
	case Fault503:
		return "503"
	case Fault504:
		return "504"
	case FaultNotEfficient:
		return "notEfficient"
	case FaultDrop:
		return "drop"
	case FaultTruncated:
		return "truncated"
	case FaultMalformed:
		return "malformed"
	case FaultSlow:
		return "slow"
	}
	return "none"
}

// faultState draws faults from the seed, in the order calls arrive, and holds faults queued
// by tests.
type faultState struct {
	mu     sync.Mutex
	rates  Faults
	gen    rng
	queued []FaultKind
}

func newFaultState(f Faults, seed uint64) *faultState {
	if f.SlowDelay == 0 {
		f.SlowDelay = 2 * time.Second
	}
	return &faultState{rates: f, gen: newRNG(mix(seed, 0xfa17))}
}

// draw picks the fault of the next API call.
func (fs *faultState) draw(*http.Request) FaultKind {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.queued) > 0 {
		f := fs.queued[0]
		fs.queued = fs.queued[1:]
		return f
	}
	if !fs.rates.any() {
		return faultNone
	}
	x := fs.gen.float()
	for _, c := range []struct {
		p float64
		f FaultKind
	}{
		{fs.rates.Status500, Fault500}, {fs.rates.Status502, Fault502}, {fs.rates.Status503, Fault503},
		{fs.rates.Status504, Fault504}, {fs.rates.NotEfficient, FaultNotEfficient}, {fs.rates.Drop, FaultDrop},
		{fs.rates.Truncated, FaultTruncated}, {fs.rates.Malformed, FaultMalformed}, {fs.rates.Slow, FaultSlow},
	} {
		if x < c.p {
			return c.f
		}
		x -= c.p
	}
	return faultNone
}

// InjectFault makes the next n API list calls (any tenant, any stream) fail with kind, before
// any random faults.
func (s *Sim) InjectFault(kind FaultKind, n int) {
	s.faults.mu.Lock()
	for ; n > 0; n-- {
		s.faults.queued = append(s.faults.queued, kind)
	}
	s.faults.mu.Unlock()
}

// applyFault handles the faults that replace the answer; it returns true when the call is done.
func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, d *streamDef, f FaultKind) bool {
	switch f {
	case Fault500:
		plainError(w, http.StatusInternalServerError, "An unhandled error with the Xero API")
	case Fault502:
		plainError(w, http.StatusBadGateway, "Bad Gateway")
	case Fault503:
		plainError(w, http.StatusServiceUnavailable, "The Xero API is temporarily unavailable")
	case Fault504:
		plainError(w, http.StatusGatewayTimeout, "Gateway Timeout")
	case FaultNotEfficient:
		s.notEfficient(w, d)
	case FaultDrop:
		s.hangUp(w)
	case FaultSlow:
		t := time.NewTimer(s.faults.rates.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.stop:
		}
		return false
	default:
		return false
	}
	return true
}

func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg))
}

// hangUp closes the connection without (further) answer.
func (s *Sim) hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// send writes a complete body, applying the body faults.
func (s *Sim) send(w http.ResponseWriter, body []byte, f FaultKind) {
	switch f {
	case FaultTruncated:
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		s.hangUp(w)
		return
	case FaultMalformed:
		body = append(body[:len(body)/2:len(body)/2], `<html><body>Service error</body>`...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
