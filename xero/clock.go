package xero

import (
	"context"
	"time"
)

// clock is where the client reads the time and waits. Every wait of the package (Retry-After,
// minute windows, backoff) and every token-expiry check goes through it, so tests can replace it
// with a fake that advances at once, or run the real one inside a testing/synctest bubble.
type clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx's error in
	// the second case. A d of zero or less returns at once (still nil when ctx is live).
	Sleep(ctx context.Context, d time.Duration) error
}

// realClock is the clock of the time package.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
