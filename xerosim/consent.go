package xerosim

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// authorizePath is the authorise endpoint, on Xero's login host.
const authorizePath = "/identity/connect/authorize"

// codeLife is how long an authorisation code may wait for its exchange.
const codeLife = 5 * time.Minute

// endpointScopes lists, per endpoint, the read scopes that cover it: the granular scope (apps
// created since 2 March 2026) and the broad one (older apps). A write scope covers its read
// scope.
var endpointScopes = map[string][2]string{
	"/Accounts":           {"accounting.settings.read", "accounting.settings.read"},
	"/BrandingThemes":     {"accounting.settings.read", "accounting.settings.read"},
	"/Currencies":         {"accounting.settings.read", "accounting.settings.read"},
	"/Employees":          {"accounting.settings.read", "accounting.settings.read"},
	"/Organisation":       {"accounting.settings.read", "accounting.settings.read"},
	"/TaxRates":           {"accounting.settings.read", "accounting.settings.read"},
	"/TrackingCategories": {"accounting.settings.read", "accounting.settings.read"},
	"/Users":              {"accounting.settings.read", "accounting.settings.read"},
	"/Contacts":           {"accounting.contacts.read", "accounting.contacts.read"},
	"/ContactGroups":      {"accounting.contacts.read", "accounting.contacts.read"},
	"/Journals":           {"accounting.journals.read", "accounting.journals.read"},
	"/Items":              {"accounting.invoices.read", "accounting.settings.read"},
	"/Invoices":           {"accounting.invoices.read", "accounting.transactions.read"},
	"/CreditNotes":        {"accounting.invoices.read", "accounting.transactions.read"},
	"/LinkedTransactions": {"accounting.invoices.read", "accounting.transactions.read"},
	"/PurchaseOrders":     {"accounting.invoices.read", "accounting.transactions.read"},
	"/Quotes":             {"accounting.invoices.read", "accounting.transactions.read"},
	"/RepeatingInvoices":  {"accounting.invoices.read", "accounting.transactions.read"},
	"/Overpayments":       {"accounting.payments.read", "accounting.transactions.read"},
	"/Payments":           {"accounting.payments.read", "accounting.transactions.read"},
	"/Prepayments":        {"accounting.payments.read", "accounting.transactions.read"},
	"/BankTransactions":   {"accounting.banktransactions.read", "accounting.transactions.read"},
	"/BankTransfers":      {"accounting.banktransactions.read", "accounting.transactions.read"},
	"/ManualJournals":     {"accounting.manualjournals.read", "accounting.transactions.read"},
	"/ExpenseClaims":      {"accounting.classicexpenses.read", "accounting.transactions.read"},
	"/Receipts":           {"accounting.classicexpenses.read", "accounting.transactions.read"},
}

// identityScopes are granted as asked and cover no endpoint.
var identityScopes = []string{"offline_access", "openid", "profile", "email"}

// allScopes is every accounting read scope the simulator knows.
func allScopes() []string {
	var all []string
	for _, s := range endpointScopes {
		all = append(all, s[0], s[1])
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// scopeSet is a set of granted scopes.
type scopeSet map[string]bool

// has reports whether the set holds scope, or the write scope that covers it.
func (s scopeSet) has(scope string) bool {
	return s[scope] || s[strings.TrimSuffix(scope, ".read")]
}

// covers reports whether the set grants an endpoint the simulator knows; other paths pass.
func (s scopeSet) covers(path string) bool {
	sc, ok := endpointScopes[path]
	return !ok || s.has(sc[0]) || s.has(sc[1])
}

// String lists the scopes, sorted, space-separated (the token response's scope field).
func (s scopeSet) String() string {
	l := make([]string, 0, len(s))
	for k := range s {
		l = append(l, k)
	}
	slices.Sort(l)
	return strings.Join(l, " ")
}

// authRequest is an authorisation waiting on the consent page.
type authRequest struct {
	redirect, state, challenge string
	scopes                     []string
}

// authCode is an authorisation code issued after consent.
type authCode struct {
	authRequest
	granted scopeSet
	expiry  int64 // unix ms
}

// handleAuthorize serves GET /identity/connect/authorize: it checks the request and shows the
// consent page, a form whose Allow and Deny buttons post back to the same path.
func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	u, err := url.Parse(redirect)
	switch {
	case q.Get("client_id") != s.clientID:
		http.Error(w, "unauthorized_client: unknown client_id", http.StatusBadRequest)
		return
	case redirect == "" || err != nil || u.Scheme == "" || u.Host == "":
		http.Error(w, "invalid_request: redirect_uri", http.StatusBadRequest)
		return
	}
	fail := func(code string) {
		http.Redirect(w, r, withQuery(redirect, url.Values{"error": {code}, "state": {q.Get("state")}}), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type")
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		fail("invalid_request")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		fail("invalid_scope")
		return
	}
	req := authRequest{redirect: redirect, state: q.Get("state"), challenge: q.Get("code_challenge"), scopes: scopes}
	s.auth.mu.Lock()
	id := s.auth.token("consent")
	s.auth.pending[id] = req
	s.auth.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprintf(w, `<!doctype html><title>xerosim: allow access</title>
<p>An app asks for access to your organisations with the scopes: %s</p>
<form method="post" action="%s"><input type="hidden" name="request" value="%s">
<button name="consent" value="allow">Allow access</button> <button name="consent" value="deny">Cancel</button></form>
`, html.EscapeString(strings.Join(scopes, " ")), authorizePath, html.EscapeString(id))
}

// handleConsent serves the consent form's answer: a redirect to the app's redirect URI with a
// code (allow) or error=access_denied (deny).
func (s *Sim) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.auth.mu.Lock()
	id := r.PostForm.Get("request")
	req, ok := s.auth.pending[id]
	delete(s.auth.pending, id)
	var code string
	if ok && r.PostForm.Get("consent") == "allow" {
		code = s.auth.token("code")
		s.auth.codes[code] = &authCode{authRequest: req, granted: s.auth.grantAsked(req.scopes), expiry: s.clock.now() + codeLife.Milliseconds()}
	}
	s.auth.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "no such authorisation: open the authorise URL again", http.StatusBadRequest)
	case code == "":
		http.Redirect(w, r, withQuery(req.redirect, url.Values{"error": {"access_denied"}, "state": {req.state}}), http.StatusFound)
	default:
		http.Redirect(w, r, withQuery(req.redirect, url.Values{"code": {code}, "state": {req.state}, "scope": {strings.Join(req.scopes, " ")}}), http.StatusFound)
	}
}

// grantAsked returns the scopes granted for an authorisation asking for want: identity scopes
// as asked, accounting scopes unless refused, unknown scopes never. The caller holds mu.
func (a *authState) grantAsked(want []string) scopeSet {
	known := scopeSet{}
	for _, sc := range allScopes() {
		known[sc] = true
		known[strings.TrimSuffix(sc, ".read")] = true
	}
	g := scopeSet{}
	for _, sc := range want {
		if slices.Contains(identityScopes, sc) || (known[sc] && !a.refused[sc]) {
			g[sc] = true
		}
	}
	return g
}

// redeem applies the authorization_code grant: the code must be unused, unexpired, sent with
// the redirect URI it was issued for, and proven by its PKCE verifier when it has a challenge.
// A public client must use PKCE. The refresh token (only with offline_access) starts a new
// chain, which becomes the current one.
func (a *authState) redeem(code, redirect, verifier string, public bool, now int64) (access, refresh string, scopes scopeSet, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.codes[code]
	delete(a.codes, code) // single use, whatever the outcome
	if c == nil || now >= c.expiry || c.redirect != redirect || (public && c.challenge == "") {
		return "", "", nil, false
	}
	if c.challenge != "" {
		sum := sha256.Sum256([]byte(verifier))
		if verifier == "" || subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
			return "", "", nil, false
		}
	}
	access = a.issueAccess(now, c.granted)
	if c.granted["offline_access"] {
		refresh = a.token("rt")
		a.refresh[refresh] = &refreshToken{issued: now, scopes: c.granted, public: public}
		a.current = refresh
	}
	return access, refresh, c.granted, true
}

// withQuery appends q to the query of raw.
func withQuery(raw string, q url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	v := u.Query()
	for k, vs := range q {
		v[k] = vs
	}
	u.RawQuery = v.Encode()
	return u.String()
}

// consentID finds the request id in the consent page.
var consentID = regexp.MustCompile(`name="request" value="([^"]+)"`)

// Consent plays the user's browser for an authorise URL of this simulator: it opens the URL,
// answers the consent page (allow or deny), and follows Xero's redirect to the app's redirect
// URI, which must answer 2xx. It returns an error if any step fails.
func (s *Sim) Consent(ctx context.Context, authURL string, allow bool) error {
	cl := &http.Client{Timeout: time.Minute}
	get, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return fmt.Errorf("xerosim consent: %w", err)
	}
	resp, err := cl.Do(get)
	if err != nil {
		return fmt.Errorf("xerosim consent: open the authorise URL: %w", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("xerosim consent: the authorise URL answered %d: %s", resp.StatusCode, strings.TrimSpace(string(page)))
	}
	m := consentID.FindSubmatch(page)
	if m == nil {
		return fmt.Errorf("xerosim consent: no consent form in the page")
	}
	decision := "deny"
	if allow {
		decision = "allow"
	}
	form := url.Values{"request": {html.UnescapeString(string(m[1]))}, "consent": {decision}}
	u, _ := url.Parse(authURL)
	u.RawQuery = ""
	post, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("xerosim consent: %w", err)
	}
	post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = cl.Do(post) // follows the redirect to the app, as a browser does
	if err != nil {
		return fmt.Errorf("xerosim consent: answer the consent page: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("xerosim consent: the redirect URI answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
