package xero

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// currenciesPath is the endpoint CheckAccess calls: the smallest read, and its scope
// (accounting.settings.read) is the minimum an app reading accounting data has.
const currenciesPath = "/Currencies"

// CheckAccess makes one GET /Currencies call for tenant, as Xero's guidance asks of a
// connector before it syncs: nil means the token works and the tenant is connected with at
// least accounting.settings.read. A refusal satisfies IsRefused.
func (c *Client) CheckAccess(ctx context.Context, tenant string) error {
	cl := call{tenant: tenant, endpoint: currenciesPath}
	h := http.Header{}
	h.Set(tenantHeader, tenant)
	return c.do(ctx, cl, c.cfg.APIURL+accountingPrefix+currenciesPath, h, func(resp *http.Response) error {
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return &bodyError{err}
		}
		return nil
	})
}

// IsRefused reports whether Xero refused one tenant's endpoint while accepting the app's
// token: 403, or 401 AuthorizationUnsuccessful on a call that named a tenant. Xero answers so
// when the token lacks the endpoint's scope, when the tenant's connection was revoked, and
// (401 on /Journals) when the app is below the Advanced tier. A rejected refresh token or
// client secret is not a refusal: it concerns every call.
func IsRefused(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Tenant == "" || ae.Endpoint == tokenPath {
		return false
	}
	return ae.StatusCode == http.StatusForbidden || ae.StatusCode == http.StatusUnauthorized
}
