package connector_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a poller, a writer, a Kafka
// client, a connection or a timer that outlives the connector that started it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
