package xero

import (
	"context"
	"time"
)

// Clock is where the client reads the time and waits. Every wait of the package (Retry-After,
// minute windows, backoff) and every token-expiry check goes through it. The product uses the
// real clock; tests replace it with a fake that advances at once (or run the real one inside a
// testing/synctest bubble), and a benchmark may run it faster than real time (ScaledClock).
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx's error in
	// the second case. A d of zero or less returns at once (still nil when ctx is live).
	Sleep(ctx context.Context, d time.Duration) error
}

// clock is the package's name for Clock.
type clock = Clock

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

// ScaledClock returns a clock that runs scale times faster than real time, from the real time
// of the call: with 60, a minute of it lasts one real second. It compresses the client's minute
// windows, Retry-After waits, backoff and token lifetimes alike, to replay hours of rate-limited
// calls in minutes against a simulator running at the same scale. A scale of 1 or less is the
// real clock.
func ScaledClock(scale float64) Clock {
	if scale <= 1 {
		return realClock{}
	}
	return &scaledClock{origin: time.Now(), scale: scale}
}

type scaledClock struct {
	origin time.Time
	scale  float64
}

func (c *scaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.origin)) * c.scale))
}

func (c *scaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return realClock{}.Sleep(ctx, time.Duration(float64(d)/c.scale))
}
