package integration

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestRestartMidStream: the broker restarts while a producer commits a stream of transactions.
// Every transaction whose commit succeeded is read back whole with read_committed, every one that
// was aborted is absent, and no transaction is read in part.
func TestRestartMidStream(t *testing.T) {
	k := testenv.Kafka(t)
	p := testenv.Prefix(t)
	topic := p + ".data"
	k.CreateTopic(t, topic, 3, nil)
	const perTxn = 4

	type outcome struct {
		seq       int
		committed bool
		err       error
	}
	// The producer stops between transactions when told: cancelling one in the middle would
	// leave it open on the broker, holding back read_committed readers until it times out.
	results := make(chan outcome)
	stop := make(chan struct{})
	go func() {
		defer close(results)
		cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.TransactionalID(p+"-txn"), kgo.DefaultProduceTopic(topic))
		if err != nil {
			results <- outcome{seq: -1, err: err}
			return
		}
		defer cl.Close()
		for seq := 0; ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			recs := make([]*kgo.Record, perTxn)
			for i := range recs {
				recs[i] = &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%d/%d", seq, i)}
			}
			err := commitTxn(context.Background(), cl, recs...)
			results <- outcome{seq: seq, committed: err == nil, err: err}
		}
	}()
	stopOnce := sync.OnceFunc(func() { close(stop) })
	t.Cleanup(func() {
		stopOnce()
		for range results { // wait for the producer to return
		}
	})

	committed := map[int]bool{}
	var failures []string
	record := func(o outcome) {
		t.Helper()
		if o.seq < 0 {
			t.Fatalf("producer: %v", o.err)
		}
		if o.committed {
			committed[o.seq] = true
		} else {
			failures = append(failures, fmt.Sprintf("transaction %d: %v", o.seq, o.err))
		}
	}
	// awaitCommits takes outcomes until n more transactions have committed.
	awaitCommits := func(n int) {
		t.Helper()
		for want := len(committed) + n; len(committed) < want; {
			o, ok := <-results
			if !ok {
				t.Fatalf("the producer stopped")
			}
			record(o)
		}
	}
	awaitCommits(20)
	k.Restart(t) // the producer keeps going while the broker is down and back
	awaitCommits(20)
	stopOnce()
	for o := range results {
		record(o)
	}
	t.Logf("%s: %d transactions committed, %d failed around the restart: %s",
		backend(), len(committed), len(failures), strings.Join(failures, "; "))

	// Outcomes whose commit failed may or may not be visible (a commit can succeed on the
	// broker and still fail on the client); everything acknowledged must be there, whole.
	seen := map[int]int{}
	for _, r := range readAll(t, k, topic, kgo.ReadCommitted()) {
		seqText, _, _ := strings.Cut(string(r.Value), "/")
		seq, err := strconv.Atoi(seqText)
		if err != nil {
			t.Fatalf("unexpected record %q", r.Value)
		}
		seen[seq]++
	}
	for seq := range committed {
		if seen[seq] != perTxn {
			t.Errorf("committed transaction %d: %d of %d records read back", seq, seen[seq], perTxn)
		}
	}
	for seq, c := range seen {
		if c != perTxn {
			t.Errorf("transaction %d read in part: %d of %d records", seq, c, perTxn)
		}
	}
}
