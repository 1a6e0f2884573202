package xerosim

import (
	"math"
	"sync"
	"time"
)

// clock is the simulated time: start + (real time elapsed) * scale + advanced, never going
// backwards, in whole milliseconds. Every timestamp the simulator gives out comes from it.
type clock struct {
	mu       sync.Mutex
	real     func() time.Time
	real0    time.Time
	start    int64 // unix ms
	scale    float64
	advanced int64 // ms added by Advance
	last     int64
	// simSeconds makes realSeconds give simulated seconds: the client's clock runs at the
	// same scale (ScaledClient).
	simSeconds bool
}

func newClock(real func() time.Time, start time.Time, scale float64) *clock {
	r0 := real()
	if start.IsZero() {
		start = r0
	}
	return &clock{real: real, real0: r0, start: start.UnixMilli(), scale: scale}
}

// now returns the simulated time in unix milliseconds.
func (c *clock) now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.real().Sub(c.real0)
	ms := c.start + int64(float64(el.Milliseconds())*c.scale) + c.advanced
	if ms < c.last {
		ms = c.last
	}
	c.last = ms
	return ms
}

// reach makes sure the clock is at least at ms from now on: a timestamp given out ahead of the
// clock (see table.touch) never lies in the future.
func (c *clock) reach(ms int64) {
	c.mu.Lock()
	c.last = max(c.last, ms)
	c.mu.Unlock()
}

// advance moves simulated time forward by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.advanced += d.Milliseconds()
	c.mu.Unlock()
}

// realSeconds converts a simulated duration in ms to whole real seconds (simulated ones with
// ScaledClient), rounded up, at least 1. It gives the durations a client waits out:
// Retry-After and expires_in.
func (c *clock) realSeconds(simMS int64) int64 {
	scale := c.scale
	if c.simSeconds {
		scale = 1
	}
	s := int64(math.Ceil(float64(simMS) / 1000 / scale))
	return max(1, s)
}

// realDuration converts a simulated duration to real time.
func (c *clock) realDuration(sim time.Duration) time.Duration {
	return time.Duration(float64(sim) / c.scale)
}
