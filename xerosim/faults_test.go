package xerosim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestInjectedFaults(t *testing.T) {
	s := newSim(t, Fast(), WithFaults(Faults{SlowDelay: time.Millisecond}))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	do := func() (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", s.URL()+"/api.xro/2.0/Invoices?page=1", nil)
		req.Header.Set("Authorization", "Bearer "+c.access)
		req.Header.Set("xero-tenant-id", ten)
		req.Header.Set("Accept", "application/json")
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	for _, tc := range []struct {
		kind   FaultKind
		status int
		check  func(resp *http.Response, body []byte, err error) bool
	}{
		{Fault500, 500, nil}, {Fault502, 502, nil}, {Fault504, 504, nil},
		{Fault503, 503, func(_ *http.Response, b []byte, _ error) bool {
			return string(b) == "The Xero API is temporarily unavailable"
		}},
		{FaultNotEfficient, 400, func(_ *http.Response, b []byte, _ error) bool {
			return strings.Contains(string(b), "not filtering Invoices efficiently")
		}},
		{FaultDrop, 0, func(_ *http.Response, _ []byte, err error) bool { return err != nil }},
		{FaultTruncated, 200, func(_ *http.Response, _ []byte, err error) bool {
			return errors.Is(err, io.ErrUnexpectedEOF)
		}},
		{FaultMalformed, 200, func(_ *http.Response, b []byte, err error) bool {
			return err == nil && !json.Valid(b)
		}},
		{FaultSlow, 200, func(_ *http.Response, b []byte, err error) bool { return err == nil && json.Valid(b) }},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			s.InjectFault(tc.kind, 1)
			resp, body, err := do()
			if tc.status != 0 && (resp == nil || resp.StatusCode != tc.status) {
				t.Fatalf("want %d, got %v %v", tc.status, resp, err)
			}
			if tc.check != nil && !tc.check(resp, body, err) {
				t.Fatalf("unexpected answer: %v %q", err, body)
			}
			if s.Stats().Faults[tc.kind.String()] != 1 {
				t.Fatalf("fault not counted: %v", s.Stats().Faults)
			}
			// The next call is clean.
			if resp, body, err := do(); err != nil || resp.StatusCode != 200 || !json.Valid(body) {
				t.Fatalf("after the fault: %v %v", resp, err)
			}
		})
	}
}

func TestFaultRatesDeterministic(t *testing.T) {
	seq := func() []int {
		s := newSim(t, NoLimits(), Seed(11), WithFaults(Faults{Status500: 0.2, Status503: 0.2}))
		c := newClient(t, s)
		var out []int
		for k := 0; k < 40; k++ {
			resp, _ := c.get(s.Tenants()[0], "/api.xro/2.0/Currencies", nil)
			out = append(out, resp.StatusCode)
		}
		return out
	}
	a, b := seq(), seq()
	fivexx := 0
	for k := range a {
		if a[k] != b[k] {
			t.Fatalf("call %d: %d then %d with the same seed", k, a[k], b[k])
		}
		if a[k] >= 500 {
			fivexx++
		}
	}
	if fivexx < 5 || fivexx > 30 {
		t.Fatalf("%d of 40 calls failed at a 40%% rate", fivexx)
	}
}

func TestSlowFaultHonoursCancellation(t *testing.T) {
	s := newSim(t, Fast(), WithFaults(Faults{SlowDelay: time.Hour}))
	c := newClient(t, s)
	s.InjectFault(FaultSlow, 1)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api.xro/2.0/Currencies", nil)
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("xero-tenant-id", s.Tenants()[0])
	req.Header.Set("Accept", "application/json")
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("want a cancelled call, got %v", err)
	}
}
