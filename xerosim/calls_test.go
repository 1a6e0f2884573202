package xerosim

import (
	"net/http"
	"testing"
	"time"
)

// TestCallsTellClientsApart: each call is recorded with the client's User-Agent, its route and
// status, and when it arrived; the simulator's own endpoints are not.
func TestCallsTellClientsApart(t *testing.T) {
	s := New(Seed(4), Fast())
	defer s.Close()
	before := time.Now()
	for _, agent := range []string{"xero-kafka/a", "xero-kafka/b"} {
		req, _ := http.NewRequest("GET", s.URL()+"/connections", nil)
		req.Header.Set("User-Agent", agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(s.URL() + "/__sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	calls := s.Calls()
	if len(calls) != 2 {
		t.Fatalf("recorded %d calls, want 2: %+v", len(calls), calls)
	}
	for i, agent := range []string{"xero-kafka/a", "xero-kafka/b"} {
		c := calls[i]
		if c.UserAgent != agent || c.Endpoint != "GET /connections" || c.Status != http.StatusUnauthorized {
			t.Errorf("call %d = %+v, want %s on GET /connections answered 401 (no token)", i, c, agent)
		}
		if c.Received.Before(before) || c.Received.After(time.Now()) {
			t.Errorf("call %d received at %v, outside the test's run", i, c.Received)
		}
	}
}
