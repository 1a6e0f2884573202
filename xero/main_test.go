package xero

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind (a connection, a timer, a waiter).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
