package xerosim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client is a minimal Xero client for tests.
type client struct {
	tb     testing.TB
	sim    *Sim
	hc     *http.Client
	access string
	rt     string
}

func newClient(tb testing.TB, s *Sim) *client {
	tb.Helper()
	c := &client{tb: tb, sim: s, hc: &http.Client{Timeout: 30 * time.Second}, rt: s.RefreshToken()}
	c.refresh()
	return c
}

// tokenResp is the answer of the token endpoint.
type tokenResp struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	TokenType    string `json:"token_type"`
	Error        string `json:"error"`
}

// token posts a refresh-token grant with Basic client authentication.
func (c *client) token(rt string) (int, tokenResp) {
	c.tb.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	req, _ := http.NewRequest("POST", c.sim.URL()+"/connect/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.sim.ClientID(), c.sim.ClientSecret())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tr tokenResp
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		c.tb.Fatalf("token body: %v", err)
	}
	return resp.StatusCode, tr
}

func (c *client) refresh() {
	c.tb.Helper()
	code, tr := c.token(c.rt)
	if code != 200 {
		c.tb.Fatalf("refresh: %d %s", code, tr.Error)
	}
	c.access, c.rt = tr.AccessToken, tr.RefreshToken
}

// get calls an API path for a tenant and returns the response and body.
func (c *client) get(tenant, path string, hdr map[string]string) (*http.Response, []byte) {
	c.tb.Helper()
	req, _ := http.NewRequest("GET", c.sim.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.access)
	req.Header.Set("Accept", "application/json")
	if tenant != "" {
		req.Header.Set("xero-tenant-id", tenant)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.tb.Fatalf("GET %s body: %v", path, err)
	}
	return resp, body
}

// list is a decoded list response.
type list struct {
	ID          string           `json:"Id"`
	Status      string           `json:"Status"`
	DateTimeUTC string           `json:"DateTimeUTC"`
	Pagination  *pagination      `json:"pagination"`
	Records     []map[string]any `json:"-"`
	Raw         []json.RawMessage
}

type pagination struct {
	Page      int `json:"page"`
	PageSize  int `json:"pageSize"`
	PageCount int `json:"pageCount"`
	ItemCount int `json:"itemCount"`
}

// getList calls a list endpoint and decodes it; it fails the test on a non-200 answer.
func (c *client) getList(tenant, stream, query string, hdr map[string]string) list {
	c.tb.Helper()
	d := defsByName[stream]
	path := "/api.xro/2.0" + d.path
	if query != "" {
		path += "?" + query
	}
	resp, body := c.get(tenant, path, hdr)
	if resp.StatusCode != 200 {
		c.tb.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	var l list
	if err := json.Unmarshal(body, &l); err != nil {
		c.tb.Fatalf("GET %s: %v", path, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		c.tb.Fatal(err)
	}
	if err := json.Unmarshal(m[d.wrapper], &l.Raw); err != nil {
		c.tb.Fatalf("GET %s: wrapper %s: %v", path, d.wrapper, err)
	}
	for _, r := range l.Raw {
		var rec map[string]any
		if err := json.Unmarshal(r, &rec); err != nil {
			c.tb.Fatal(err)
		}
		l.Records = append(l.Records, rec)
	}
	return l
}

// ids returns the primary keys of records.
func ids(recs []map[string]any, key string) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r[key].(string)
	}
	return out
}

// msDate parses Xero's /Date(ms+0000)/ into unix ms.
func msDate(tb testing.TB, v any) int64 {
	tb.Helper()
	s, _ := v.(string)
	s = strings.TrimPrefix(s, "/Date(")
	s = strings.TrimSuffix(s, ")/")
	s = strings.TrimSuffix(s, "+0000")
	var ms int64
	for _, c := range s {
		if c < '0' || c > '9' {
			tb.Fatalf("bad date %q", v)
		}
		ms = ms*10 + int64(c-'0')
	}
	return ms
}

// newSim starts a simulator closed at the end of the test.
func newSim(tb testing.TB, opts ...Option) *Sim {
	tb.Helper()
	s := New(opts...)
	tb.Cleanup(s.Close)
	return s
}
