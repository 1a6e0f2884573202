package integration

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestTransactionsCommitAndAbort: read_committed sees exactly the committed transactions, in
// order; read_uncommitted also sees the aborted one.
func TestTransactionsCommitAndAbort(t *testing.T) {
	k := testenv.Kafka(t)
	p := testenv.Prefix(t)
	topic := p + ".data"
	k.CreateTopic(t, topic, 1, nil)
	cl := txnClient(t, k, topic, p+"-txn")

	mustCommit(t, cl, rec("a", "1"), rec("b", "1"))
	abortTxn(t, cl, rec("a", "aborted"), rec("c", "aborted"))
	mustCommit(t, cl, rec("a", "2"))

	committed := values(readAll(t, k, topic, kgo.ReadCommitted()))
	if want := []string{"a=1", "b=1", "a=2"}; !slices.Equal(committed, want) {
		t.Errorf("read_committed: %v, want %v", committed, want)
	}
	uncommitted := values(readAll(t, k, topic, kgo.ReadUncommitted()))
	if want := []string{"a=1", "b=1", "a=aborted", "c=aborted", "a=2"}; !slices.Equal(uncommitted, want) {
		t.Errorf("read_uncommitted: %v, want %v", uncommitted, want)
	}
}

// TestOpenTransactionHoldsTheStableOffset: while a transaction is open, the high watermark moves
// past its records but the last stable offset (where read_committed stops) does not.
func TestOpenTransactionHoldsTheStableOffset(t *testing.T) {
	k := testenv.Kafka(t)
	p := testenv.Prefix(t)
	topic := p + ".data"
	k.CreateTopic(t, topic, 1, nil)
	cl := txnClient(t, k, topic, p+"-txn")
	adm := k.Admin(t)
	ctx := t.Context()

	mustCommit(t, cl, rec("a", "1")) // offset 0, commit marker at 1
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, rec("b", "open")).FirstErr(); err != nil { // offset 2
		t.Fatal(err)
	}
	hwm, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	lso, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := hwm.Lookup(topic, 0)
	l, _ := lso.Lookup(topic, 0)
	if h.Offset != 3 || l.Offset != 2 {
		t.Errorf("open transaction on %s: high watermark %d, last stable offset %d; want 3 and 2", backend(), h.Offset, l.Offset)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// The commit marker follows the record: the stable offset moves to 4. kfake writes the
	// marker before EndTransaction returns; Apache Kafka's coordinator writes it just after
	// (EndTxn answers once the commit is decided), so a reader can briefly still see 2.
	deadline := time.Now().Add(waitLimit)
	seen := []int64{}
	for {
		lso, err = adm.ListCommittedOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := lso.Lookup(topic, 0)
		if len(seen) == 0 || seen[len(seen)-1] != l.Offset {
			seen = append(seen, l.Offset)
		}
		if l.Offset == 4 || l.Offset > 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s: last stable offsets seen after EndTransaction returned: %v", backend(), seen)
	if last := seen[len(seen)-1]; last != 4 {
		t.Errorf("after commit on %s: last stable offset %d, want 4 (record + marker)", backend(), last)
	}
}
