package connector_test

import (
	"flag"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

// parallelTests is how many tests marked parallel run at once, unless -test.parallel says
// otherwise. The end-to-end tests spend much of their time waiting on a broker, a registry and
// a simulator, so more of them than there are cores keep the cores busy.
const parallelTests = 4

// TestMain fails the run if a test leaves a goroutine behind: a poller, a writer, a Kafka
// client, a connection or a timer that outlives the connector that started it.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		if err := flag.Set("test.parallel", strconv.Itoa(parallelTests)); err != nil {
			panic(err)
		}
	}
	goleak.VerifyTestMain(m)
}
