package xero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// tokenPath is the token endpoint below Config.IdentityURL.
const tokenPath = "/connect/token"

// accessTokenLifetime is how long Xero's access tokens last; a response without expires_in is
// taken to last this long.
const accessTokenLifetime = 30 * time.Minute

// TokenStore persists a rotated refresh token. SaveRefreshToken must return nil only once the
// token is durably stored: the client uses the new access token only after that, so a crash
// leaves the previous refresh token in the store, still valid for Xero's 30-minute grace period.
// It is called with one refresh token at a time, never concurrently, while the calls that need
// a token wait: it must not call the Client itself. A failed save fails the call that needed
// the token, wrapping the store's error (IsRetryable judges that error); the next call saves
// the same token again.
type TokenStore interface {
	SaveRefreshToken(ctx context.Context, refreshToken string) error
}

// TokenReloader is a TokenStore that can read back the newest refresh token it holds. When Xero
// rejects the client's refresh token as spent (invalid_grant) and the store holds another one,
// the client continues from it: a process sharing the chain ('xero-kafka check' or 'auth')
// has rotated the token and stored its successor.
type TokenReloader interface {
	LatestRefreshToken(ctx context.Context) (string, error)
}

// tokenSource holds the refresh-token chain and the current access token. It refreshes with the
// refresh_token grant of golang.org/x/oauth2, Config.RefreshMargin before the access token
// expires, and at most one refresh runs at a time.
//
// It holds secrets: String and LogValue redact them.
type tokenSource struct {
	oauth *oauth2.Config
	http  *http.Client // for the token endpoint
	// clientCredentials: access tokens come from the client_credentials grant (a custom
	// connection); there is no refresh token and nothing to store.
	clientCredentials bool
	store             TokenStore
	margin            time.Duration
	clock             clock
	log               *slog.Logger
	metrics           *metrics

	// sem is held while reading or changing the fields below, including across a refresh
	// and a save, so that one goroutine refreshes while the others wait (or give up when
	// their context ends).
	sem chan struct{}
	// refresh is the refresh token the next refresh spends: the one given at start, then each
	// one the store accepted.
	refresh string
	// access is the access token in use; nil before the first refresh.
	access *oauth2.Token
	// pending is a token obtained from Xero whose refresh token the store has not accepted
	// yet. While it is set, the chain has moved past what is stored: the next call retries the
	// save instead of refreshing again.
	pending *oauth2.Token
}

func newTokenSource(cfg Config, refreshToken string, store TokenStore, httpClient *http.Client, clk clock, log *slog.Logger, m *metrics) *tokenSource {
	return &tokenSource{
		oauth:   oauthConfig(cfg),
		http:    httpClient,
		store:   store,
		margin:  cfg.RefreshMargin,
		clock:   clk,
		log:     log,
		metrics: m,
		sem:     make(chan struct{}, 1),
		refresh: refreshToken,
	}
}

// token returns an access token valid for at least the refresh margin, refreshing (and saving
// the new refresh token) first if needed.
func (s *tokenSource) token(ctx context.Context) (*oauth2.Token, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()

	for {
		if s.pending != nil {
			if err := s.savePending(ctx); err != nil {
				return nil, err
			}
		}
		if s.usable(s.access) {
			return s.access, nil
		}
		// The access token is missing or about to expire: spend the refresh token. The loop
		// then saves the new one and, once saved, returns the new access token.
		tok, err := s.fetch(ctx)
		if err != nil {
			return nil, err
		}
		if s.clientCredentials {
			s.access = tok // nothing to store: the next token comes from the same grant
			continue
		}
		s.pending = tok
	}
}

// expire marks tok as no longer usable (Xero answered 401 TokenExpired), so the next call to
// token refreshes. If another goroutine has already replaced tok, nothing changes: one
// rejected token causes one refresh however many calls saw it rejected.
func (s *tokenSource) expire(ctx context.Context, tok *oauth2.Token) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.sem }()
	if s.access == tok {
		s.access = nil
	}
	return nil
}

// usable reports whether tok is set and outlives the refresh margin. The margin is at most half
// the token's lifetime: a token server that hands out short-lived tokens would otherwise have
// every token refreshed as soon as it arrives.
func (s *tokenSource) usable(tok *oauth2.Token) bool {
	if tok == nil || tok.AccessToken == "" {
		return false
	}
	margin := s.margin
	if life := time.Duration(tok.ExpiresIn) * time.Second; life > 0 {
		margin = min(margin, life/2)
	}
	return s.clock.Now().Add(margin).Before(tok.Expiry)
}

// savePending hands the pending refresh token to the store and, once stored, makes its access
// token the current one.
func (s *tokenSource) savePending(ctx context.Context) error {
	if err := s.store.SaveRefreshToken(ctx, s.pending.RefreshToken); err != nil {
		s.metrics.refreshes.WithLabelValues("save_failed").Inc()
		s.log.WarnContext(ctx, "xero: could not save the new refresh token; the next call saves it again", "err", err)
		return fmt.Errorf("save rotated refresh token: %w", err)
	}
	s.refresh = s.pending.RefreshToken
	s.access = s.pending
	s.pending = nil
	s.metrics.tokenAge.rotated()
	s.log.DebugContext(ctx, "xero: access token refreshed", "expires", s.access.Expiry)
	return nil
}

// fetch spends the current refresh token at the token endpoint.
func (s *tokenSource) fetch(ctx context.Context) (*oauth2.Token, error) {
	start := s.clock.Now()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.http)
	var (
		tok *oauth2.Token
		err error
	)
	if s.clientCredentials {
		tok, err = s.clientCredentialsToken(ctx)
	} else {
		// A token without an access token is invalid, so this token source refreshes at once.
		tok, err = s.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: s.refresh}).Token()
		if next := s.reloaded(ctx, err); next != "" {
			s.refresh = next
			tok, err = s.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: next}).Token()
		}
	}
	if err != nil {
		err = refreshError(err)
		outcome := "error"
		if errors.Is(err, ErrUnauthorized) {
			outcome = "rejected"
		}
		s.metrics.refreshes.WithLabelValues(outcome).Inc()
		return nil, fmt.Errorf("refresh access token: %w", err)
	}
	// Measure the lifetime from before the request, so the expiry errs early, and by this
	// package's clock.
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = accessTokenLifetime
	}
	tok.Expiry = start.Add(life)
	s.metrics.refreshes.WithLabelValues("ok").Inc()
	return tok, nil
}

// reloaded returns the store's newest refresh token when err is Xero's invalid_grant and the
// store holds a token other than the one just refused; else "".
func (s *tokenSource) reloaded(ctx context.Context, err error) string {
	var re *oauth2.RetrieveError
	r, ok := s.store.(TokenReloader)
	if !ok || !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		return ""
	}
	next, lerr := r.LatestRefreshToken(ctx)
	if lerr != nil || next == "" || next == s.refresh {
		if lerr != nil {
			s.log.WarnContext(ctx, "xero: the refresh token was refused and the stored one could not be read", "err", lerr)
		}
		return ""
	}
	s.log.InfoContext(ctx, "xero: the refresh token was spent by another process sharing the chain; continuing from the newer one it stored")
	return next
}

// clientCredentialsToken asks the token endpoint for an access token by the
// client_credentials grant.
func (s *tokenSource) clientCredentialsToken(ctx context.Context) (*oauth2.Token, error) {
	cc := &clientcredentials.Config{
		ClientID:     s.oauth.ClientID,
		ClientSecret: s.oauth.ClientSecret,
		TokenURL:     s.oauth.Endpoint.TokenURL,
		AuthStyle:    s.oauth.Endpoint.AuthStyle,
	}
	return cc.Token(ctx)
}

// refreshError turns an error of the token endpoint into one that tells the caller what to do,
// without the body or any token.
func refreshError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if IsRetryable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err // the network, or the caller stopping
		}
		// A 200 whose body was cut or unreadable. The refresh token may have been spent, but
		// Xero accepts it again within its grace period, so asking again is right.
		return &tokenResponseError{err}
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	switch re.ErrorCode {
	case "invalid_grant":
		return fmt.Errorf("%w: the refresh token is no longer valid (expired, revoked, or already used "+
			"by another copy of the chain): re-authorise the app with 'xero-kafka auth' (or set "+
			"XERO_REFRESH_TOKEN to a new refresh token)", ErrUnauthorized)
	case "invalid_client", "unauthorized_client":
		return fmt.Errorf("%w: the token endpoint rejected the app (%s): check XERO_CLIENT_ID and "+
			"XERO_CLIENT_SECRET", ErrUnauthorized, re.ErrorCode)
	}
	return &APIError{
		Endpoint:   tokenPath,
		StatusCode: status,
		Problem:    oneLine(re.ErrorCode, 100),
	}
}

// tokenResponseError is a token endpoint answer that could not be read.
type tokenResponseError struct{ err error }

func (e *tokenResponseError) Error() string   { return "unreadable token response: " + e.err.Error() }
func (e *tokenResponseError) Unwrap() error   { return e.err }
func (e *tokenResponseError) retryable() bool { return true }

// String redacts the tokens.
func (s *tokenSource) String() string { return "xero.tokenSource{<redacted>}" }

// LogValue redacts the tokens.
func (s *tokenSource) LogValue() slog.Value { return slog.StringValue("<redacted>") }
