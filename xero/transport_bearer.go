package xero

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// tokenProvider is what the bearer layer needs of the token source.
type tokenProvider interface {
	// token returns an access token to use now, refreshing it first if needed.
	token(ctx context.Context) (*oauth2.Token, error)
	// expire marks tok as rejected by Xero, so the next token call refreshes.
	expire(ctx context.Context, tok *oauth2.Token) error
}

// bearerTransport signs each attempt with the current access token. When Xero answers 401
// TokenExpired (the token died early, or the machine's clock runs behind), it drops that token,
// so the next attempt refreshes it, and returns the 401: the retry policy makes that attempt,
// once per call. Any other 401 goes back as it is.
type bearerTransport struct {
	inner  http.RoundTripper
	tokens tokenProvider
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.tokens.token(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.inner.RoundTrip(withBearer(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	// Read the 401's body to see why, and put it back for the layers above.
	body := readErrorBody(resp)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if strings.HasPrefix(problemOf(body), detailTokenExpired) {
		if err := t.tokens.expire(req.Context(), tok); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// withBearer returns a copy of req carrying the access token; req itself is not changed.
func withBearer(req *http.Request, tok *oauth2.Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return r
}
