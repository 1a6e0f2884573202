package integration

import (
	"fmt"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestCompaction: a compacted topic really compacts, and a read_committed replay of what is left
// still gives the last committed value of every key: not an aborted one, not a deleted one.
//
// Apache Kafka cleans only closed segments: the topic rolls a segment every 100 ms (a segment
// rolls when a record arrives after that time), cleans as soon as 1% of it is dirty, and drops
// tombstones 100 ms after a cleaning; the broker's cleaner looks for work every second
// (scripts/services.sh). kfake compacts everything but the last batch when asked
// (Cluster.Compact), here after each commit, with no transaction open (internal/testenv).
func TestCompaction(t *testing.T) {
	k := testenv.Kafka(t)
	p := testenv.Prefix(t)
	topic := p + ".state"
	cfg := func(s string) *string { return &s }
	k.CreateTopic(t, topic, 1, map[string]*string{
		"cleanup.policy":            cfg("compact"),
		"segment.ms":                cfg("100"),
		"min.cleanable.dirty.ratio": cfg("0.01"),
		"min.compaction.lag.ms":     cfg("0"),
		"delete.retention.ms":       cfg("100"),
	})
	cl := txnClient(t, k, topic, p+"-txn")

	const rounds = 10
	for i := range rounds {
		mustCommit(t, cl, rec("a", "a"+strconv.Itoa(i)), rec("b", "b"+strconv.Itoa(i)), rec("c", "c"+strconv.Itoa(i)))
	}
	abortTxn(t, cl, rec("a", "aborted"))
	mustCommit(t, cl, rec("c", "")) // tombstone: c is deleted
	want := map[string]string{"a": fmt.Sprintf("a%d", rounds-1), "b": fmt.Sprintf("b%d", rounds-1)}

	// Keep writing (this rolls segments on the real broker) until at most one record of each
	// of a and b is left in the log.
	deadline := time.Now().Add(waitLimit)
	var before, after int
	for n := 0; ; n++ {
		all := readAll(t, k, topic, kgo.ReadUncommitted())
		count := map[string]int{}
		for _, r := range all {
			count[string(r.Key)]++
		}
		if n == 0 {
			before = len(all)
		}
		if count["a"] <= 1 && count["b"] <= 1 {
			after = len(all)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not compact %s within %v: %d records, %d of key a", backend(), topic, waitLimit, len(all), count["a"])
		}
		mustCommit(t, cl, rec("roll", strconv.Itoa(n)))
		k.Compact()
		time.Sleep(200 * time.Millisecond) // let segment.ms pass before the next roll
	}
	t.Logf("%s compacted %s: %d records read before, %d after", backend(), topic, before, after)

	got := lastValues(readAll(t, k, topic, kgo.ReadCommitted()))
	delete(got, "roll")
	if !maps.Equal(got, want) {
		t.Errorf("read_committed replay after compaction: %v, want %v", got, want)
	}
}
