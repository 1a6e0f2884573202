package connector

import (
	"time"

	"github.com/cespare/xxhash/v2"
)

// The first calls of a session are spread so that a start with thousands of pollers does not send
// them all at once: each poller waits a delay fixed by its (tenant, stream), between 0 and a
// spread that grows with the number of pollers up to maxStartSpread.
const (
	// startSpreadPerPoller is the spread one poller adds: 26 streams of one organisation start
	// within 2.6 ms, 1,000 organisations within maxStartSpread.
	startSpreadPerPoller = 100 * time.Microsecond
	maxStartSpread       = 3 * time.Second
)

// startSpread returns the time over which n pollers start.
func startSpread(n int) time.Duration {
	return min(time.Duration(n)*startSpreadPerPoller, maxStartSpread)
}

// startDelay returns the delay of (tenant, stream)'s first call in a spread: the same on every
// start, and spread evenly over [0, spread) across pairs.
func startDelay(tenant, stream string, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := xxhash.New()
	_, _ = h.WriteString(tenant)
	_, _ = h.WriteString("\x00")
	_, _ = h.WriteString(stream)
	return time.Duration(h.Sum64() % uint64(spread))
}
