package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// ErrNoRefreshToken: the state topic holds no token chain and none was given. A person must
// authorise the app ('xero-kafka auth') or set XERO_REFRESH_TOKEN.
var ErrNoRefreshToken = errors.New("no refresh token: the state topic holds no token chain and XERO_REFRESH_TOKEN is not set: " +
	"run 'xero-kafka auth' to authorise the app (or set XERO_REFRESH_TOKEN)")

// xeroClient makes the API client for the configured grant. A custom connection needs nothing
// from the state. The refresh-token chain continues from the state when no token is given,
// and otherwise as chooseRefreshToken decides.
func (c *Connector) xeroClient(state *offsets.State, store *tokenStore) (*xero.Client, error) {
	log := c.log.With("component", "xero")
	if c.cfg.Grant == GrantClientCredentials {
		log.Info("access tokens come from the client_credentials grant (custom connection); no refresh token is kept")
		return xero.NewCustomConnectionClient(c.cfg.Xero, log, c.deps.Metrics)
	}
	var refresh, seedHash string
	if c.cfg.RefreshToken == "" {
		stored, ok := state.Token()
		if !ok {
			return nil, ErrNoRefreshToken
		}
		c.log.Info("refresh token: continuing the chain stored in the state", "stored_saved_at", stored.SavedAt)
		refresh, seedHash = stored.RefreshToken, stored.SeedHash
	} else {
		refresh, seedHash = chooseRefreshToken(state, c.cfg.RefreshToken, c.log)
	}
	store.seedHash = seedHash
	return xero.NewClient(c.cfg.Xero, refresh, &sharedChain{tokenStore: store, kafka: c.deps.Kafka}, log, c.deps.Metrics)
}

// sharedChain is the token store of the chain, which the xero client may also read back:
// 'xero-kafka check' and 'auth' rotate or restart the chain beside a running connector, and
// commit each new token to the state topic before using it. When Xero refuses the token the
// connector holds, the newest committed one takes over.
type sharedChain struct {
	*tokenStore
	kafka []kgo.Opt
}

// LatestRefreshToken reads the newest committed token of the state topic, without writing.
func (s *sharedChain) LatestRefreshToken(ctx context.Context) (string, error) {
	tok, ok, err := offsets.ReadToken(ctx, s.kafka, s.topic, s.sealer)
	if err != nil || !ok {
		return "", err
	}
	s.seedHash = tok.SeedHash // the successor carries on that token's chain
	return tok.RefreshToken, nil
}

// checkAccess calls /Currencies once per organisation before the first sync. A refusal stops
// the connector with a line naming the organisation, the scope and what to do.
func (c *Connector) checkAccess(ctx context.Context, api *xero.Client, tenants []string) error {
	for _, t := range tenants {
		err := api.CheckAccess(ctx, t)
		if err == nil {
			continue
		}
		org := t
		if name := c.board.name(t); name != "" {
			org = fmt.Sprintf("%q (%s)", name, t)
		}
		if xero.IsRefused(err) {
			return fmt.Errorf("organisation %s refused the access check (GET /Currencies): the app lacks the scope %s "+
				"or the organisation was disconnected: authorise it again with 'xero-kafka auth', granting %s: %w",
				org, xero.ScopeSettingsRead, xero.ScopeSettingsRead, err)
		}
		return fmt.Errorf("organisation %s: access check (GET /Currencies): %w", org, err)
	}
	return nil
}

// refuse marks the stream refused: in /status and /metrics with the scope it lacks, logged once
// (first), and polled again only after refusedFor.
func (p *poller) refuse(err error, first bool) {
	msg := fmt.Sprintf("Xero refused %s for this organisation: the app lacks the scope %s (or the organisation was disconnected)", p.stream.Path, p.scope)
	if p.stream.Path == "/Journals" {
		msg += ", or is below Xero's Advanced tier, which journals need since March 2026"
	}
	msg += fmt.Sprintf("; other streams go on, and this one is tried again every %s", p.fixed.refusedFor.Round(time.Minute))
	// The status outlives a reload of the state, the poller does not: it says whether the
	// refusal is counted already.
	if p.status.refused(p.scope, msg) == "" {
		p.metrics.refused.WithLabelValues(p.tenant, p.stream.Name, p.scope).Inc()
	}
	if first {
		p.log.Warn(msg+": authorise the app again with 'xero-kafka auth' granting it", "scope", p.scope, "err", err)
	}
}

// grant clears the refusal once the stream reads again.
func (p *poller) grant() {
	if p.status.refused("", "") != "" {
		p.metrics.refused.WithLabelValues(p.tenant, p.stream.Name, p.scope).Dec()
	}
	p.log.Info("Xero grants this stream again", "scope", p.scope)
}
