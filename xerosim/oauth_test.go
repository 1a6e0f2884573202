package xerosim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRefreshRotationAndGrace(t *testing.T) {
	s := newSim(t, Fast())
	c := &client{tb: t, sim: s, hc: http.DefaultClient}
	a := s.RefreshToken()

	code, first := c.token(a)
	if code != 200 || first.RefreshToken == a || first.ExpiresIn != 1800 || first.TokenType != "Bearer" {
		t.Fatalf("first refresh: %d %+v", code, first)
	}
	// Within the grace period the old token works again and gives the same new refresh token.
	s.Advance(29 * time.Minute)
	code, again := c.token(a)
	if code != 200 || again.RefreshToken != first.RefreshToken || again.AccessToken == first.AccessToken {
		t.Fatalf("grace retry: %d %+v", code, again)
	}
	// After the grace period it is refused.
	s.Advance(2 * time.Minute)
	code, late := c.token(a)
	if code != 400 || late.Error != "invalid_grant" {
		t.Fatalf("after grace: %d %+v", code, late)
	}
	// The rotated token still works once, then the chain moves on.
	code, second := c.token(first.RefreshToken)
	if code != 200 || second.RefreshToken == first.RefreshToken {
		t.Fatalf("second refresh: %d %+v", code, second)
	}
	if s.RefreshToken() != second.RefreshToken {
		t.Fatalf("RefreshToken() = %q, want the newest", s.RefreshToken())
	}
	// An unused token expires after 60 days.
	s.Advance(60*24*time.Hour + time.Minute)
	if code, r := c.token(second.RefreshToken); code != 400 || r.Error != "invalid_grant" {
		t.Fatalf("after 60 days: %d %+v", code, r)
	}
	if st := s.Stats(); st.TokenRefreshes != 3 || st.TokenRefreshFailures != 2 {
		t.Fatalf("stats: %d refreshes, %d failures", st.TokenRefreshes, st.TokenRefreshFailures)
	}
}

func TestTokenClientAuthentication(t *testing.T) {
	s := newSim(t, Fast())
	post := func(form url.Values, basic bool) (int, string) {
		req, _ := http.NewRequest("POST", s.URL()+"/connect/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(s.ClientID(), s.ClientSecret())
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := make([]byte, 512)
		n, _ := resp.Body.Read(b)
		return resp.StatusCode, string(b[:n])
	}
	// Credentials in the body, as xero-python sends them.
	code, body := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.RefreshToken()},
		"client_id": {s.ClientID()}, "client_secret": {s.ClientSecret()}}, false)
	if code != 200 || !strings.Contains(body, `"expires_in":1800`) {
		t.Fatalf("body credentials: %d %s", code, body)
	}
	code, body = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, true)
	if code != 400 || body != `{"error":"invalid_grant"}` {
		t.Fatalf("unknown token: %d %s", code, body)
	}
	code, body = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.RefreshToken()},
		"client_id": {s.ClientID()}, "client_secret": {"wrong"}}, false)
	if code != 400 || body != `{"error":"invalid_client"}` {
		t.Fatalf("bad secret: %d %s", code, body)
	}
}

func TestAPIAuthErrors(t *testing.T) {
	s := newSim(t, Fast(), Tenants(2))
	c := newClient(t, s)
	ten := s.Tenants()[0]
	tests := []struct {
		name   string
		token  string
		tenant string
		status int
		detail string
	}{
		{"unknown token", "bogus", ten, 401, `"Detail":"AuthorizationUnsuccessful"`},
		{"unknown tenant", c.access, "00000000-0000-0000-0000-000000000000", 403, `"Detail":"AuthenticationUnsuccessful"`},
		{"missing tenant", c.access, "", 403, `"Title":"Forbidden"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cc := *c
			cc.access = tc.token
			resp, body := cc.get(tc.tenant, "/api.xro/2.0/Invoices?page=1", nil)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.detail) || !strings.Contains(string(body), `"Type":null`) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
	t.Run("expired token", func(t *testing.T) {
		s.Advance(31 * time.Minute)
		resp, body := c.get(ten, "/api.xro/2.0/Invoices?page=1", nil)
		if resp.StatusCode != 401 || !strings.Contains(string(body), `"Detail":"TokenExpired: token expired at `) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestConnections(t *testing.T) {
	s := newSim(t, Fast(), Tenants(3))
	c := newClient(t, s)
	resp, body := c.get("", "/connections", nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-AppMinLimit-Remaining") == "" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	for _, id := range s.Tenants() {
		if !strings.Contains(string(body), `"tenantId":"`+id+`"`) {
			t.Errorf("tenant %s missing from %s", id, body)
		}
	}
	re := regexp.MustCompile(`"createdDateUtc":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}"`)
	if n := len(re.FindAll(body, -1)); n != 3 {
		t.Fatalf("want 3 dates with 7 fraction digits and no zone, got %d in %s", n, body)
	}
}

func TestJournalsGatedAndEmployeesRemoved(t *testing.T) {
	s := newSim(t, Fast(), GateJournals())
	c := newClient(t, s)
	ten := s.Tenants()[0]
	resp, body := c.get(ten, "/api.xro/2.0/Journals", nil)
	if resp.StatusCode != 401 || !strings.Contains(string(body), `"Detail":"AuthorizationUnsuccessful"`) {
		t.Fatalf("journals: %d %s", resp.StatusCode, body)
	}
	resp, _ = c.get(ten, "/api.xro/2.0/Employees", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("employees: %d", resp.StatusCode)
	}
	s2 := newSim(t, Fast(), ServeEmployees())
	c2 := newClient(t, s2)
	if l := c2.getList(s2.Tenants()[0], "employees", "", nil); len(l.Raw) == 0 {
		t.Fatal("ServeEmployees: no employees")
	}
}

func TestAcceptJSONRequired(t *testing.T) {
	s := newSim(t, Fast())
	c := newClient(t, s)
	resp, _ := c.get(s.Tenants()[0], "/api.xro/2.0/Invoices?page=1", map[string]string{"Accept": "*/*"})
	if resp.StatusCode != http.StatusNotAcceptable {
		t.Fatalf("got %d", resp.StatusCode)
	}
}
