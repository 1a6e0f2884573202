package integration

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestFencing: a second producer with the same transactional id fences the first. The first
// one's open transaction is aborted, every later write of it fails with a fencing error, and only
// the second one's records are committed. The test logs the exact errors the old producer gets,
// which differ between brokers (see the report in the README).
func TestFencing(t *testing.T) {
	for _, tc := range []struct {
		name string
		// produceAgain: the old producer tries to produce once more before ending its
		// transaction; otherwise it only tries to commit.
		produceAgain bool
	}{
		{name: "produce then commit", produceAgain: true},
		{name: "commit only", produceAgain: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testenv.Kafka(t)
			p := testenv.Prefix(t)
			topic := p + ".data"
			k.CreateTopic(t, topic, 1, nil)
			ctx := t.Context()
			txnID := p + "-txn"

			old := txnClient(t, k, topic, txnID)
			if err := old.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := old.ProduceSync(ctx, rec("old", "1")).FirstErr(); err != nil {
				t.Fatalf("old producer, first produce: %v", err)
			}

			// The new producer's first transactional request (InitProducerID) fences the old one.
			cur := txnClient(t, k, topic, txnID)
			if err := cur.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if err := cur.ProduceSync(ctx, rec("new", "1")).FirstErr(); err != nil {
				t.Fatalf("new producer, produce: %v", err)
			}

			if tc.produceAgain {
				err := old.ProduceSync(ctx, rec("old", "2")).FirstErr()
				t.Logf("%s: fenced producer's produce: %v (Kafka error: %s)", backend(), err, kafkaErrName(err))
				if !isFenced(err) {
					t.Errorf("fenced producer's produce: %v, want a fencing error", err)
				}
			}
			err := old.EndTransaction(ctx, kgo.TryCommit)
			t.Logf("%s: fenced producer's commit: %v (Kafka error: %s)", backend(), err, kafkaErrName(err))
			if err == nil {
				t.Fatalf("the fenced producer committed")
			}
			if !tc.produceAgain && !isFenced(err) {
				t.Errorf("fenced producer's commit: %v, want a fencing error", err)
			}
			// kgo's advice for a failed commit: end the transaction with an abort. The client
			// stays unusable: it must be closed, and the program must not go on.
			err = old.EndTransaction(ctx, kgo.TryAbort)
			t.Logf("%s: fenced producer's abort: %v (Kafka error: %s)", backend(), err, kafkaErrName(err))
			err = old.BeginTransaction()
			t.Logf("%s: fenced producer's next begin: %v", backend(), err)
			if err == nil {
				t.Errorf("the fenced producer could begin a new transaction")
			}

			if err := cur.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatalf("new producer, commit: %v", err)
			}
			got := values(readAll(t, k, topic, kgo.ReadCommitted()))
			if want := []string{"new=1"}; !slices.Equal(got, want) {
				t.Errorf("read_committed after fencing: %v, want %v", got, want)
			}
		})
	}
}
