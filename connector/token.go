package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// tokenStore persists every rotated refresh token in its own transaction, before the access
// token that came with it is used (the xero client waits for it). If the connector crashes
// between Xero's answer and the commit, the previous token, still in the state, works again
// within Xero's 30-minute grace period.
//
// The store outlives the connector's sessions; use sets the writer of the current one.
type tokenStore struct {
	topic    string
	sealer   offsets.Sealer
	seedHash string
	now      func() time.Time

	mu sync.Mutex
	w  *writer // nil between sessions
}

// errNoSession answers a save asked for between two sessions; the xero client saves the token
// again at its next call.
var errNoSession = errors.New("the connector is reloading its state")

func (s *tokenStore) use(w *writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
}

func (s *tokenStore) writer() *writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

func (s *tokenStore) SaveRefreshToken(ctx context.Context, refreshToken string) error {
	rec, err := offsets.TokenRecord(s.topic, offsets.Token{
		RefreshToken: refreshToken,
		SeedHash:     s.seedHash,
		SavedAt:      s.now(),
	}, s.sealer)
	if err != nil {
		return fmt.Errorf("encode refresh token record: %w", err)
	}
	w := s.writer()
	if w == nil {
		return fmt.Errorf("persist rotated refresh token: %w", errNoSession)
	}
	if err := w.commit(ctx, []*kgo.Record{rec}); err != nil {
		return fmt.Errorf("persist rotated refresh token: %w", err)
	}
	return nil
}

// chooseRefreshToken decides where the token chain continues: the token in the environment
// seeds it when the state has none or when it is not the token that seeded the stored chain
// (the operator gave a new one); otherwise the stored chain goes on, since the environment's
// token has been used up by rotation. It returns the token to start from and the hash of the
// seed it descends from.
func chooseRefreshToken(st *offsets.State, envToken string, log *slog.Logger) (token, seedHash string) {
	envHash := offsets.HashSeed(envToken)
	stored, ok := st.Token()
	switch {
	case !ok:
		log.Info("refresh token: the state holds none; seeding the chain from XERO_REFRESH_TOKEN")
		return envToken, envHash
	case stored.SeedHash != envHash:
		log.Info("refresh token: XERO_REFRESH_TOKEN is not the token that seeded the stored chain; seeding a new chain from it",
			"stored_saved_at", stored.SavedAt)
		return envToken, envHash
	default:
		log.Info("refresh token: continuing the chain stored in the state; XERO_REFRESH_TOKEN seeded it already and is used up",
			"stored_saved_at", stored.SavedAt)
		return stored.RefreshToken, stored.SeedHash
	}
}
