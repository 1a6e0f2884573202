package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(err, cl.EndTransaction(ctx, kgo.TryAbort))
	}
	return cl.EndTransaction(ctx, kgo.TryCommit)
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

// readAll reads every partition of topic from the start with the given isolation level and
// returns the records that come before the end markers it commits first, one per partition.
// Under read_committed a marker is visible only once everything committed before it is, so
// reading to the markers reads everything committed, without guessing where a log ends (a log
// can end in control records or an aborted transaction that no record reaches). Records come in
// partition order, and in offset order within a partition.
func readAll(t *testing.T, k testenv.Cluster, topic string, level kgo.IsolationLevel) []*kgo.Record {
	t.Helper()
	ends, err := k.Admin(t).ListEndOffsets(t.Context(), topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatal(err)
	}
	markerKey := []byte(markerPrefix + hex.EncodeToString(nonce[:]))
	var markers []*kgo.Record
	ends.Each(func(o kadm.ListedOffset) {
		markers = append(markers, &kgo.Record{Key: markerKey, Value: []byte("end"), Partition: o.Partition})
	})
	mcl := txnClient(t, k, topic, testenv.Prefix(t)+"-marker", kgo.RecordPartitioner(kgo.ManualPartitioner()))
	mustCommit(t, mcl, markers...)
	mcl.Close()

	cl := k.Client(t,
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level),
	)
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	byPartition := map[int32][]*kgo.Record{}
	ended := map[int32]bool{}
	for len(ended) < len(markers) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: not every end marker within %v (%d of %d)", topic, waitLimit, len(ended), len(markers))
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("read %s/%d: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			switch {
			case ended[r.Partition]:
			case bytes.Equal(r.Key, markerKey):
				ended[r.Partition] = true
			case bytes.HasPrefix(r.Key, []byte(markerPrefix)): // the marker of an earlier read
			default:
				byPartition[r.Partition] = append(byPartition[r.Partition], r)
			}
		})
	}
	var out []*kgo.Record
	for _, m := range markers {
		out = append(out, byPartition[m.Partition]...)
	}
	return out
}

const markerPrefix = "__end__"

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
