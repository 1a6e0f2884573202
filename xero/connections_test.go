package xero

import (
	"io"
	"net/http"
	"testing"
	"time"
)

func TestConnections(t *testing.T) {
	var got *http.Request
	env := newTestEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(r.Context())
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[
 {"id":"f4a87932-1111-4444-8888-000000000001","authEventId":"d99ecdfe-0000-0000-0000-000000000000","tenantId":"a46fcb6f-2222-4444-8888-000000000001",
  "tenantType":"ORGANISATION","tenantName":"Demo Company (NZ)","createdDateUtc":"2020-03-18T21:20:07.7179250","updatedDateUtc":"2020-03-30T05:15:13.3513620"},
 {"id":"f4a87932-1111-4444-8888-000000000002","tenantId":"a46fcb6f-2222-4444-8888-000000000002","tenantType":"PRACTICE",
  "createdDateUtc":"2019-12-07T18:46:19.5165400","updatedDateUtc":"2021-01-01T00:00:00Z"}
]`)
	}), nil)
	conns, err := env.client.Connections(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/connections" || got.Header.Get(tenantHeader) != "" || got.Header.Get("Authorization") != "Bearer access-token-1" {
		t.Errorf("request: path %q, tenant %q, auth %q", got.URL.Path, got.Header.Get(tenantHeader), got.Header.Get("Authorization"))
	}
	want := []Connection{
		{
			ID: "f4a87932-1111-4444-8888-000000000001", TenantID: "a46fcb6f-2222-4444-8888-000000000001",
			TenantType: "ORGANISATION", TenantName: "Demo Company (NZ)", AuthEventID: "d99ecdfe-0000-0000-0000-000000000000",
			CreatedDateUTC: time.Date(2020, 3, 18, 21, 20, 7, 717925000, time.UTC),
			UpdatedDateUTC: time.Date(2020, 3, 30, 5, 15, 13, 351362000, time.UTC),
		},
		{
			ID: "f4a87932-1111-4444-8888-000000000002", TenantID: "a46fcb6f-2222-4444-8888-000000000002", TenantType: "PRACTICE",
			CreatedDateUTC: time.Date(2019, 12, 7, 18, 46, 19, 516540000, time.UTC),
			UpdatedDateUTC: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	if len(conns) != len(want) {
		t.Fatalf("%d connections, want %d", len(conns), len(want))
	}
	for i := range want {
		if conns[i] != want[i] {
			t.Errorf("connection %d:\n got %+v\nwant %+v", i, conns[i], want[i])
		}
		if conns[i].CreatedDateUTC.Location() != time.UTC {
			t.Errorf("connection %d: created date not in UTC", i)
		}
	}
}

func TestConnectionsErrors(t *testing.T) {
	tests := []struct {
		name      string
		steps     []func(http.ResponseWriter, *http.Request)
		wantErr   bool
		wantCalls int
	}{
		{"truncated then good", steps(sendBody(`[{"id":"x"`), sendBody(`[]`)), false, 2},
		{"bad date", steps(sendBody(`[{"id":"x","createdDateUtc":"18/03/2020"}]`)), true, 1},
		{"401", steps(func(w http.ResponseWriter, r *http.Request) { writeProblem(w, 401, "AuthorizationUnsuccessful") }), true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{steps: tt.steps}
			env := newTestEnv(t, s, nil)
			_, err := env.client.Connections(t.Context())
			if (err != nil) != tt.wantErr {
				t.Errorf("err = %v, want error %v", err, tt.wantErr)
			}
			if s.Calls() != tt.wantCalls {
				t.Errorf("%d calls, want %d", s.Calls(), tt.wantCalls)
			}
		})
	}
}
