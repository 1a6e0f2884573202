package xerosim

import (
	"slices"
	"sync"
	"time"
)

// Call is one request the simulator answered (the identity service's and the API's; not the
// /__sim/ endpoints).
type Call struct {
	// Received is when the request reached the simulator, in real time (the Clock option's
	// source), not simulated time.
	Received time.Time `json:"received"`
	// UserAgent is the request's User-Agent header: clients that put an instance id in it can
	// be told apart.
	UserAgent string `json:"userAgent"`
	// Endpoint is the route ("GET /api.xro/2.0/Invoices", "POST /connect/token").
	Endpoint string `json:"endpoint"`
	// Status is the HTTP status answered (200 when a fault cut the connection before one).
	Status int `json:"status"`
}

// callLog keeps every call, in the order the simulator finished answering them.
type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	l.calls = append(l.calls, c)
	l.mu.Unlock()
}

// Calls returns a copy of every call answered so far, ordered by Received.
func (s *Sim) Calls() []Call {
	s.calls.mu.Lock()
	out := slices.Clone(s.calls.calls)
	s.calls.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Call) int { return a.Received.Compare(b.Received) })
	return out
}
