package xerosim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Token lifetimes, in simulated time.
const (
	accessTokenLife  = 30 * time.Minute
	refreshGrace     = 30 * time.Minute
	refreshTokenLife = 60 * 24 * time.Hour
)

// refreshToken is the state of one refresh token of the chain.
type refreshToken struct {
	issued     int64  // unix ms
	next       string // the token it was exchanged for ("" while unused)
	graceUntil int64  // after an exchange: until when it may be exchanged again
	scopes     scopeSet
	public     bool // issued to a public client (PKCE): refreshed with the client id alone
}

// accessToken is a live access token.
type accessToken struct {
	expiry int64 // unix ms
	scopes scopeSet
}

// authState is the OAuth2 side: the refresh-token chain, the live access tokens, the
// authorisations waiting for consent and the codes not yet exchanged.
type authState struct {
	mu      sync.Mutex
	clock   *clock
	gen     rng
	refused scopeSet // never granted
	refresh map[string]*refreshToken
	access  map[string]accessToken
	current string
	pending map[string]authRequest // consent page id -> request
	codes   map[string]*authCode
}

func newAuthState(c *clock, seed uint64, initial string, now int64, refused []string) *authState {
	a := &authState{
		clock: c, gen: newRNG(mix(seed, 0x0a17)), refused: scopeSet{},
		refresh: map[string]*refreshToken{}, access: map[string]accessToken{},
		pending: map[string]authRequest{}, codes: map[string]*authCode{},
	}
	for _, sc := range refused {
		a.refused[sc] = true
	}
	if initial == "" {
		initial = a.token("rt")
	}
	a.refresh[initial] = &refreshToken{issued: now, scopes: a.grant(allScopes())}
	a.current = initial
	return a
}

// grant returns the scopes of want that the organisation's user grants: all but the refused.
func (a *authState) grant(want []string) scopeSet {
	g := scopeSet{}
	for _, sc := range want {
		if !a.refused[sc] {
			g[sc] = true
		}
	}
	return g
}

// issueAccess mints an access token with scopes; the caller holds mu.
func (a *authState) issueAccess(now int64, scopes scopeSet) string {
	access := a.token("at")
	a.access[access] = accessToken{expiry: now + accessTokenLife.Milliseconds(), scopes: scopes}
	return access
}

// token returns a new opaque token.
func (a *authState) token(prefix string) string {
	return fmt.Sprintf("%s_%016x%016x", prefix, a.gen.next(), a.gen.next())
}

// exchange applies the refresh-token grant. A token is accepted when it is unused and younger
// than 60 days, or when it was used less than 30 minutes ago: then the answer carries the same
// refresh token as the first exchange gave (not a new one) and a fresh access token.
func (a *authState) exchange(rt string, now int64, public bool) (access, refresh string, scopes scopeSet, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.refresh[rt]
	if st == nil || (public && !st.public) {
		return "", "", nil, false
	}
	switch {
	case st.next != "":
		if now >= st.graceUntil {
			delete(a.refresh, rt)
			return "", "", nil, false
		}
		refresh = st.next
	case now-st.issued >= refreshTokenLife.Milliseconds():
		delete(a.refresh, rt)
		return "", "", nil, false
	default:
		refresh = a.token("rt")
		a.refresh[refresh] = &refreshToken{issued: now, scopes: st.scopes, public: st.public}
		st.next = refresh
		st.graceUntil = now + refreshGrace.Milliseconds()
		a.current = refresh
	}
	access = a.issueAccess(now, st.scopes)
	// Forget what can never be accepted again.
	for k, v := range a.refresh {
		if v.next != "" && now >= v.graceUntil {
			delete(a.refresh, k)
		}
	}
	for k, at := range a.access {
		if now >= at.expiry+accessTokenLife.Milliseconds() {
			delete(a.access, k)
		}
	}
	return access, refresh, st.scopes, true
}

// check validates a bearer token: "" and its scopes if valid, else the 401 detail.
func (a *authState) check(tok string, now int64) (string, scopeSet) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.access[tok]
	if !ok {
		return "AuthorizationUnsuccessful", nil
	}
	if now >= at.expiry {
		return "TokenExpired: token expired at " + time.UnixMilli(at.expiry).UTC().Format("01/02/2006 15:04:05"), nil
	}
	return "", at.scopes
}

// currentRefresh returns the newest refresh token of the chain.
func (a *authState) currentRefresh() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.current
}

// handleToken serves POST /connect/token: the refresh_token, authorization_code and
// client_credentials grants. The client authenticates by HTTP Basic or in the form; a public
// client (no secret) may exchange a code it proves with PKCE, and refresh the chain that code
// started.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.oauthError(w, "invalid_request")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.oauthError(w, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	public := secret == ""
	grant := r.PostForm.Get("grant_type")
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID)) != 1 ||
		(!public && subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret)) != 1) ||
		(public && grant == "client_credentials") {
		if grant == "refresh_token" {
			s.stats.refresh(false)
		}
		s.oauthError(w, "invalid_client")
		return
	}
	now := s.clock.now()
	var (
		access, refresh string
		scopes          scopeSet
		ok              bool
	)
	switch grant {
	case "refresh_token":
		access, refresh, scopes, ok = s.auth.exchange(r.PostForm.Get("refresh_token"), now, public)
		s.stats.refresh(ok)
	case "authorization_code":
		access, refresh, scopes, ok = s.auth.redeem(r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"),
			r.PostForm.Get("code_verifier"), public, now)
	case "client_credentials":
		s.auth.mu.Lock()
		scopes = s.auth.grant(allScopes())
		access = s.auth.issueAccess(now, scopes)
		s.auth.mu.Unlock()
		ok = true
	default:
		s.oauthError(w, "unsupported_grant_type")
		return
	}
	if !ok {
		s.oauthError(w, "invalid_grant")
		return
	}
	jwt := &jw{}
	jwt.obj()
	jwt.str("id_token", "")
	jwt.str("access_token", access)
	jwt.integer("expires_in", s.clock.realSeconds(accessTokenLife.Milliseconds()))
	jwt.str("token_type", "Bearer")
	if refresh != "" {
		jwt.str("refresh_token", refresh)
	}
	jwt.str("scope", scopes.String())
	jwt.end()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(jwt.b)
}

// oauthError answers 400 with {"error": code}.
func (s *Sim) oauthError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = fmt.Fprintf(w, `{"error":%q}`, code)
}

// problem writes Xero's RFC-7807-style 401/403 body.
func (s *Sim) problem(w http.ResponseWriter, status int, detail string) {
	title := "Unauthorized"
	if status == http.StatusForbidden {
		title = "Forbidden"
	}
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(status)
	b := &jw{}
	b.obj()
	b.key("Type")
	b.b = append(b.b, "null"...)
	b.str("Title", title)
	b.integer("Status", int64(status))
	b.str("Detail", detail)
	b.key("Instance")
	b.b = appendQuoted(b.b, s.newID().String())
	b.objKey("Extensions")
	b.end()
	b.end()
	_, _ = w.Write(b.b)
}

// bearer extracts the access token of a request.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authorize checks the access token and, when needed, the tenant header. It writes the error
// answer and returns ok=false when the call must stop.
// A path other than "" must be covered by one of the token's scopes (endpointScopes); a token
// without it is refused as Xero refuses it, 401 AuthorizationUnsuccessful (or the status set
// by ScopeRefusalStatus).
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request, needTenant bool, path string) (*tenant, bool) {
	d, scopes := s.auth.check(bearer(r), s.clock.now())
	if d != "" {
		s.problem(w, http.StatusUnauthorized, d)
		return nil, false
	}
	if !needTenant {
		return nil, true
	}
	t := s.byID[strings.ToLower(r.Header.Get("xero-tenant-id"))]
	if t == nil {
		s.problem(w, http.StatusForbidden, "AuthenticationUnsuccessful")
		return nil, false
	}
	if path != "" && !scopes.covers(path) {
		if s.cfg.refusalStatus == http.StatusForbidden {
			s.problem(w, http.StatusForbidden, "AuthenticationUnsuccessful")
		} else {
			s.problem(w, http.StatusUnauthorized, "AuthorizationUnsuccessful")
		}
		return nil, false
	}
	return t, true
}

// handleConnections serves GET /connections: the tenants connected to the app.
func (s *Sim) handleConnections(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorize(w, r, false, ""); !ok {
		return
	}
	s.lim.appHeaders(w, s.clock.now())
	b := &jw{}
	b.b = append(b.b, '[')
	b.first = true
	for _, t := range s.tenants {
		b.sep()
		b.obj()
		b.id("id", makeUUID(mix(t.seed, kindConn)))
		b.id("authEventId", makeUUID(mix(s.seed, kindAuthEvent)))
		b.id("tenantId", t.id)
		b.str("tenantType", "ORGANISATION")
		b.str("tenantName", t.name)
		b.str("createdDateUtc", connectionTime(t.connCreated))
		b.str("updatedDateUtc", connectionTime(t.connUpdated))
		b.end()
	}
	b.b = append(b.b, ']')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.b)
}

// connectionTime formats a /connections date: seven fraction digits and no zone.
func connectionTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.0000000")
}
