package xero

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
)

// authorizePath is the authorise endpoint below Config.LoginURL.
const authorizePath = "/identity/connect/authorize"

// Errors of the authorisation-code flow.
var (
	// ErrConsentDenied: the user declined the consent screen (error=access_denied on the
	// redirect), or Xero refused the request on it.
	ErrConsentDenied = errors.New("consent denied")
	// ErrStateMismatch: the redirect carried a state other than the one this authorisation
	// sent. It did not come from this authorisation (a stale browser tab, or a forged request),
	// and its code is not used.
	ErrStateMismatch = errors.New("state does not match")
)

// Authorization is one run of the OAuth2 authorisation-code flow: the URL the user opens, and
// the exchange of the code Xero sends back to the redirect URI. It checks the state it sent and,
// for an app without a client secret, proves the code with PKCE (S256). It holds secrets:
// String and LogValue redact them.
type Authorization struct {
	oauth    *oauth2.Config
	http     *http.Client
	state    string
	verifier string // the PKCE verifier; "" when the app has a client secret
	url      string
}

// NewAuthorization prepares an authorisation for the app cfg describes, asking for scopes and
// sending the user back to redirectURL, which must be registered in the Xero app exactly. PKCE
// is used when cfg has no client secret.
func NewAuthorization(cfg Config, redirectURL string, scopes []string) (*Authorization, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("xero authorisation config: %w", err)
	}
	if u, err := url.Parse(redirectURL); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("xero authorisation: redirect URL %q is not absolute", redirectURL)
	}
	a := &Authorization{
		oauth: oauthConfig(cfg),
		http:  tokenHTTPClient(cfg),
		state: randomString(24),
	}
	a.oauth.RedirectURL = redirectURL
	a.oauth.Scopes = scopes
	opts := []oauth2.AuthCodeOption{}
	if cfg.ClientSecret == "" {
		a.verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(a.verifier))
	}
	a.url = a.oauth.AuthCodeURL(a.state, opts...)
	return a, nil
}

// URL is the address the user opens to log in to Xero and consent.
func (a *Authorization) URL() string { return a.url }

// PKCE reports whether the flow proves its code with PKCE (the app has no client secret).
func (a *Authorization) PKCE() bool { return a.verifier != "" }

// Complete takes the query of the redirect Xero sent the browser to, checks it and exchanges
// its code for tokens. A declined consent wraps ErrConsentDenied, a foreign state
// ErrStateMismatch; a code the token endpoint refuses wraps ErrUnauthorized.
func (a *Authorization) Complete(ctx context.Context, q url.Values) (*Grant, error) {
	if e := q.Get("error"); e != "" {
		msg := e
		if d := q.Get("error_description"); d != "" {
			msg += ": " + oneLine(d, 200)
		}
		if e == "access_denied" {
			return nil, fmt.Errorf("%w (%s)", ErrConsentDenied, msg)
		}
		return nil, fmt.Errorf("%w: Xero answered %s", ErrConsentDenied, msg)
	}
	if q.Get("state") != a.state {
		return nil, ErrStateMismatch
	}
	code := q.Get("code")
	if code == "" {
		return nil, errors.New("the redirect carries no code")
	}
	var opts []oauth2.AuthCodeOption
	if a.verifier != "" {
		opts = append(opts, oauth2.VerifierOption(a.verifier))
	}
	tok, err := a.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, a.http), code, opts...)
	if err != nil {
		return nil, fmt.Errorf("exchange the authorisation code: %w", codeError(err))
	}
	if tok.RefreshToken == "" {
		return nil, fmt.Errorf("the token endpoint returned no refresh token: the authorisation must ask for %s", ScopeOfflineAccess)
	}
	return &Grant{tok: tok}, nil
}

// codeError describes a refused code exchange without the body or any token.
func codeError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return err
	}
	switch re.ErrorCode {
	case "invalid_grant":
		return fmt.Errorf("%w: the code was refused (expired, already used, or its PKCE proof or redirect URI does not match)", ErrUnauthorized)
	case "invalid_client", "unauthorized_client":
		return fmt.Errorf("%w: the token endpoint rejected the app (%s): check XERO_CLIENT_ID and XERO_CLIENT_SECRET", ErrUnauthorized, re.ErrorCode)
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return &APIError{Endpoint: tokenPath, StatusCode: status, Problem: oneLine(re.ErrorCode, 100)}
}

// String redacts the state and the verifier.
func (a *Authorization) String() string { return "xero.Authorization{<redacted>}" }

// LogValue redacts the state and the verifier.
func (a *Authorization) LogValue() slog.Value { return slog.StringValue("<redacted>") }

// Grant is what an authorisation obtained: an access token and the refresh token that starts
// the chain. It holds secrets: String and LogValue redact them.
type Grant struct{ tok *oauth2.Token }

// RefreshToken is the first refresh token of the chain.
func (g *Grant) RefreshToken() string { return g.tok.RefreshToken }

// Scopes are the scopes Xero granted, as its token response lists them (nil if it did not).
func (g *Grant) Scopes() []string {
	s, _ := g.tok.Extra("scope").(string)
	return ParseScopes(s)
}

// String redacts the tokens.
func (g *Grant) String() string { return "xero.Grant{<redacted>}" }

// LogValue redacts the tokens.
func (g *Grant) LogValue() slog.Value { return slog.StringValue("<redacted>") }

// NewClientFromGrant returns a client that starts with the access token of g and continues the
// chain from its refresh token, saving every rotated refresh token to store.
func NewClientFromGrant(cfg Config, g *Grant, store TokenStore, logger *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	if g == nil || g.tok == nil {
		return nil, errors.New("xero client config: no grant")
	}
	c, err := newClient(cfg, g.tok.RefreshToken, store, logger, reg, cfg.clock())
	if err != nil {
		return nil, err
	}
	c.tokens.access = g.tok
	return c, nil
}

// NewCustomConnectionClient returns a client for a Xero custom connection: it takes access
// tokens from the client_credentials grant, renewing each before it expires, and has no
// refresh token to keep. A custom connection reaches one organisation, which Connections lists.
func NewCustomConnectionClient(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Client, error) {
	if cfg.ClientSecret == "" {
		return nil, errors.New("xero client config: the client_credentials grant needs the client secret")
	}
	return newClientCredentials(cfg, logger, reg, cfg.clock())
}

// oauthConfig is the golang.org/x/oauth2 configuration of the app. A client with a secret
// authenticates by HTTP Basic, as Xero documents; a public client (PKCE) sends its id in the
// form.
func oauthConfig(cfg Config) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if cfg.ClientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.LoginURL + authorizePath,
			TokenURL:  cfg.IdentityURL + tokenPath,
			AuthStyle: style,
		},
	}
}

// tokenHTTPClient is the HTTP client of a token call made outside a Client's chain.
func tokenHTTPClient(cfg Config) *http.Client {
	base := cfg.Transport
	if base == nil {
		base = newBaseTransport()
	}
	return &http.Client{Transport: &timeoutTransport{inner: base, timeout: cfg.RequestTimeout}}
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return strings.TrimRight(base64.URLEncoding.EncodeToString(b), "=")
}
