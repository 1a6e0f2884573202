// Package xero is the client of the Xero Accounting API: the OAuth2 refresh-token chain, the
// per-tenant rate budget, retries, and list calls split into raw JSON records.
//
// # Calls
//
// [Client.List] reads one page (or one unpaged response) of an Accounting API list endpoint and
// returns its records as raw JSON, byte for byte as Xero sent them, together with the pagination
// object, the server's clock and the rate-limit headers. [Client.Connections] lists the
// organisations (tenants) the app is connected to.
//
// # Transport
//
// Every attempt of a call goes through a chain of http.RoundTrippers, one file per layer, outer
// to inner:
//
//	transport_budget.go   per tenant: at most Config.MaxInFlight calls in flight; pacing from
//	                      X-MinLimit-Remaining and X-AppMinLimit-Remaining (when the minute budget
//	                      is spent, wait for the window to pass instead of calling); the app's
//	                      minute shared fairly between tenants; a 429 day limit refuses further
//	                      calls to that tenant until its Retry-After; calls left today from
//	                      X-DayLimit-Remaining, Config.DayLimit until the first answer
//	transport_bearer.go   Authorization: Bearer from the token source (token.go); a 401
//	                      TokenExpired drops that access token
//	transport_metrics.go  Prometheus counters per attempt: requests by endpoint and status, 429s
//	                      by problem, the day limit left per tenant
//	transport_base.go     net/http with dial and TLS timeouts, and a deadline of
//	                      Config.RequestTimeout on each attempt, body included
//
// Above the chain, one retry policy (transport_retry.go) decides whether a call is made again:
// 5xx, timeouts, dropped connections and a truncated or malformed body after a jittered
// exponential backoff; 429 minute, appminute and concurrent after Retry-After; a 401
// TokenExpired once, with a refreshed token; never a 429 day. A call makes at most
// Config.MaxAttempts attempts, whatever the mix of failures (net/http may itself send a GET once
// more when a reused keep-alive connection closes before any answer). Each attempt waits for
// the budget like a first call, and every answer feeds it.
//
// # Tokens
//
// Xero refresh tokens are single use: each refresh returns a new one, and the old one stays
// valid for a 30-minute grace period. The token source refreshes Config.RefreshMargin before the
// 30-minute access token expires, hands every new refresh token to [TokenStore] and uses the new
// access token only once the store has returned nil. If the store fails, the call fails and the
// next call saves the same token again instead of refreshing a second time (which would move the
// chain past what was stored). One refresh runs at a time however many goroutines share the
// client. Tokens never appear in errors, logs or metrics. When Xero refuses the refresh token as
// spent and the store is a [TokenReloader] holding a newer one (another process sharing the
// chain stored it), the chain continues from that one.
//
// # Grants
//
// [NewAuthorization] runs the authorisation-code flow: the authorise URL with a random state
// (and a PKCE challenge for an app without a client secret), then [Authorization.Complete]
// checks the redirect and exchanges the code; [NewClientFromGrant] continues the chain it
// started. [NewCustomConnectionClient] takes access tokens from the client_credentials grant of
// a Xero custom connection and keeps no refresh token. [Scopes] lists the read scopes of a set
// of endpoints, granular or broad; [Client.CheckAccess] is the /Currencies call that tests
// access before a sync, and [IsRefused] tells a missing scope (or a revoked connection) from a
// rejected token.
//
// # Time
//
// Waits (Retry-After, minute windows, backoff) and token expiry read the time through a small
// clock interface, real time by default; tests swap it or run in a testing/synctest bubble.
package xero
