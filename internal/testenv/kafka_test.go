package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestFakeKafkaKeepsCommittedUnderOpenTransaction: a committed value stays readable with
// read_committed while a later transaction, which writes the same key, is open and then aborts.
// This is what a state replay relies on after a commit whose outcome was unknown. kfake's cleaner
// does not stop at the last stable offset, so with compaction on a timer (every second, as this
// package once set it) the open transaction's record superseded the committed one, and after the
// abort the key read as never written.
func TestFakeKafkaKeepsCommittedUnderOpenTransaction(t *testing.T) {
	if testenv.Real() {
		t.Skip("what is tested is the fake broker's cleaner; the real broker's stops at the last stable offset")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cluster := testenv.Kafka(t)
	compact := "compact"
	if _, err := cluster.Admin(t).CreateTopic(ctx, 1, 1, map[string]*string{"cleanup.policy": &compact}, "state"); err != nil {
		t.Fatal(err)
	}
	p, err := kgo.NewClient(kgo.SeedBrokers(cluster.Brokers...), kgo.TransactionalID("writer"), kgo.DefaultProduceTopic("state"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("begin", p.BeginTransaction())
	must("produce", p.ProduceSync(ctx, &kgo.Record{Key: []byte("bookmark"), Value: []byte("committed")}).FirstErr())
	must("commit", p.EndTransaction(ctx, kgo.TryCommit))

	// A later transaction writes the key again, and another record after it (the fake keeps a
	// partition's last batch whatever it holds), then stays open for three cleaner intervals of
	// the old setting.
	must("begin", p.BeginTransaction())
	must("produce", p.ProduceSync(ctx, &kgo.Record{Key: []byte("bookmark"), Value: []byte("aborted")}).FirstErr())
	must("produce", p.ProduceSync(ctx, &kgo.Record{Key: []byte("other"), Value: []byte("aborted")}).FirstErr())
	time.Sleep(3 * time.Second)
	must("abort", p.EndTransaction(ctx, kgo.TryAbort))

	got := cluster.ReadAll(t, kgo.ReadCommitted(), "state")
	if len(got) != 1 || string(got[0].Key) != "bookmark" || string(got[0].Value) != "committed" {
		var seen []string
		for _, r := range got {
			seen = append(seen, string(r.Key)+"="+string(r.Value))
		}
		t.Fatalf("read_committed gives %q, want the one committed record bookmark=committed", seen)
	}
}
