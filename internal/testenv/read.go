package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EndMarkerPrefix starts the key of the end markers ReadAll writes; readers of the topics
// afterwards should skip such records.
const EndMarkerPrefix = "__end__"

// readLimit bounds a ReadAll: a limit on a condition, not a timing assertion.
const readLimit = 2 * time.Minute

// ReadAll reads every partition of topics from the start with the given isolation level and
// returns the records that come before the end markers it commits first, one per partition.
// Under read_committed a marker is visible only once everything committed before it is, so
// reading to the markers reads everything committed, without guessing where a log ends (a log
// can end in control records or an aborted transaction that no record reaches). Records come
// topic by topic in the order given, partition by partition, in offset order; end markers of
// earlier reads are skipped.
func (k Cluster) ReadAll(t testing.TB, level kgo.IsolationLevel, topics ...string) []*kgo.Record {
	t.Helper()
	ends, err := k.Admin(t).ListEndOffsets(t.Context(), topics...)
	if err != nil {
		t.Fatalf("partitions of %v: %v", topics, err)
	}
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		t.Fatal(err)
	}
	markerKey := []byte(EndMarkerPrefix + hex.EncodeToString(nonce[:]))
	type tp struct {
		topic     string
		partition int32
	}
	var markers []*kgo.Record
	ends.Each(func(o kadm.ListedOffset) {
		markers = append(markers, &kgo.Record{Topic: o.Topic, Partition: o.Partition, Key: markerKey, Value: []byte("end")})
	})
	mcl := k.Client(t, kgo.TransactionalID(Prefix(t)+"-end-marker"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := Commit(t.Context(), mcl, markers...); err != nil {
		t.Fatalf("commit end markers: %v", err)
	}
	mcl.Close()

	cl := k.Client(t,
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level),
	)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), readLimit)
	defer cancel()
	got := map[tp][]*kgo.Record{}
	ended := map[tp]bool{}
	for len(ended) < len(markers) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %v: not every end marker within %v (%d of %d)", topics, readLimit, len(ended), len(markers))
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("read %s/%d: %v", topic, p, err)
		})
		fs.EachRecord(func(r *kgo.Record) {
			at := tp{r.Topic, r.Partition}
			switch {
			case ended[at]:
			case bytes.Equal(r.Key, markerKey):
				ended[at] = true
			case bytes.HasPrefix(r.Key, []byte(EndMarkerPrefix)):
			default:
				got[at] = append(got[at], r)
			}
		})
	}
	var out []*kgo.Record
	for _, m := range markers {
		out = append(out, got[tp{m.Topic, m.Partition}]...)
	}
	return out
}

// Commit writes recs in one transaction and commits it; on failure it aborts.
func Commit(ctx context.Context, cl *kgo.Client, recs ...*kgo.Record) error {
	if err := cl.BeginTransaction(); err != nil {
		return err
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(err, cl.EndTransaction(ctx, kgo.TryAbort))
	}
	return cl.EndTransaction(ctx, kgo.TryCommit)
}
