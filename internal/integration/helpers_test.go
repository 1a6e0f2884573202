package integration

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// waitLimit bounds every wait for the broker to do something (a read to reach its end,
// compaction to happen). It is a limit on a condition, not a timing assertion.
const waitLimit = 2 * time.Minute

// txnClient returns a transactional producer writing to topic by default.
func txnClient(t *testing.T, k testenv.Cluster, topic, txnID string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return k.Client(t, append([]kgo.Opt{kgo.TransactionalID(txnID), kgo.DefaultProduceTopic(topic)}, opts...)...)
}

// commitTxn writes recs in one transaction and commits it; on failure it aborts.
func commitTxn(ctx context.Context, cl *kgo.Client, recs ...*kgo.Record) error {
	return testenv.Commit(ctx, cl, recs...)
}

// abortTxn writes recs in one transaction and aborts it.
func abortTxn(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatalf("begin transaction: %v", err)
	}
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if err := cl.EndTransaction(t.Context(), kgo.TryAbort); err != nil {
		t.Fatalf("abort transaction: %v", err)
	}
}

func mustCommit(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := commitTxn(t.Context(), cl, recs...); err != nil {
		t.Fatalf("commit transaction: %v", err)
	}
}

func rec(key, value string) *kgo.Record {
	r := &kgo.Record{Key: []byte(key)}
	if value != "" {
		r.Value = []byte(value)
	}
	return r
}

// readAll reads everything in topic with the given isolation level (see Cluster.ReadAll).
func readAll(t *testing.T, k testenv.Cluster, topic string, level kgo.IsolationLevel) []*kgo.Record {
	t.Helper()
	return k.ReadAll(t, level, topic)
}

// lastValues replays records as a compacted topic's reader does: the last value per key, a
// tombstone deleting the key.
func lastValues(recs []*kgo.Record) map[string]string {
	m := make(map[string]string)
	for _, r := range recs {
		if r.Value == nil {
			delete(m, string(r.Key))
			continue
		}
		m[string(r.Key)] = string(r.Value)
	}
	return m
}

func values(recs []*kgo.Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, string(r.Key)+"="+string(r.Value))
	}
	return out
}

// isFenced reports whether err says another producer with the same transactional id took over.
func isFenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// kafkaErrName names the Kafka error code inside err, if any.
func kafkaErrName(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Message
	}
	return "none"
}

func backend() string {
	if testenv.Real() {
		return "Apache Kafka"
	}
	return "kfake"
}
