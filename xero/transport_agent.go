package xero

import "net/http"

// agentTransport sets the User-Agent of requests that do not come from Client.once: the token
// endpoint's, made by golang.org/x/oauth2.
type agentTransport struct {
	inner http.RoundTripper
	agent string
}

func (t *agentTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.agent)
	return t.inner.RoundTrip(req)
}
