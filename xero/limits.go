package xero

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Limits are Xero's rate-limit counters as last reported. A count Xero did not report is -1.
type Limits struct {
	// DayRemaining is X-DayLimit-Remaining: calls left today for the tenant (5,000 a day, or
	// 1,000 on Xero's Starter tier). Before the tenant's first answer, Client.Limits gives
	// Config.DayLimit here, its estimate.
	DayRemaining int
	// MinuteRemaining is X-MinLimit-Remaining: calls left in the tenant's current minute (60).
	MinuteRemaining int
	// AppMinuteRemaining is X-AppMinLimit-Remaining: calls left in the app's current minute
	// across all tenants (10,000).
	AppMinuteRemaining int
	// ObservedAt is when these counts were read; zero if never.
	ObservedAt time.Time
	// Last429 is the last rate-limit rejection of the tenant; zero if none. Only
	// Client.Limits fills it.
	Last429 RateLimit
}

// RateLimit is one 429 answer.
type RateLimit struct {
	// Problem is X-Rate-Limit-Problem: "minute", "day", "concurrent" or "appminute".
	Problem string
	// At is when it was received.
	At time.Time
	// RetryAfter is its Retry-After, 0 when absent.
	RetryAfter time.Duration
}

// unknownLimits is Limits with nothing reported yet.
var unknownLimits = Limits{DayRemaining: -1, MinuteRemaining: -1, AppMinuteRemaining: -1}

// limitsFromHeader reads the X-*-Limit-Remaining headers of one response.
func limitsFromHeader(h http.Header, now time.Time) Limits {
	l := unknownLimits
	l.ObservedAt = now
	if v, ok := headerInt(h, "X-DayLimit-Remaining"); ok {
		l.DayRemaining = v
	}
	if v, ok := headerInt(h, "X-MinLimit-Remaining"); ok {
		l.MinuteRemaining = v
	}
	if v, ok := headerInt(h, "X-AppMinLimit-Remaining"); ok {
		l.AppMinuteRemaining = v
	}
	return l
}

// headerInt reads a non-negative integer header.
func headerInt(h http.Header, name string) (int, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
