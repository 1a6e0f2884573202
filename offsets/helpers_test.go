package offsets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is one test's Kafka and state topic: a one-broker kfake cluster of its own, or the real
// broker of internal/testenv when XK_KAFKA_BROKERS is set.
type env struct {
	t       testing.TB
	cluster *kfake.Cluster // nil on the real broker
	brokers []string
	adm     *kadm.Client
	topic   string
	sealer  Sealer
}

// newEnv gets a cluster and creates a state topic on it with CreateTopic.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, topic: uniqueName(t, "state"), sealer: testSealer(t, testKey(1))}
	if testenv.Real() {
		e.brokers = testenv.Kafka(t).Brokers
	} else {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatalf("start kfake: %v", err)
		}
		t.Cleanup(c.Close)
		e.cluster, e.brokers = c, c.ListenAddrs()
	}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(admCl.Close)
	e.adm = kadm.NewClient(admCl)
	e.deleteLater(e.topic)
	if err := CreateTopic(t.Context(), e.adm, e.topic, testenv.ReplicationFactor); err != nil {
		t.Fatalf("create state topic: %v", err)
	}
	return e
}

// deleteLater deletes topic when the test ends, on the real broker (which keeps its data between
// runs); a kfake cluster goes away with the test.
func (e *env) deleteLater(topic string) {
	if e.cluster != nil {
		return
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := e.adm.DeleteTopic(ctx, topic); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			e.t.Logf("delete topic %s: %v", topic, err)
		}
	})
}

// uniqueName builds a topic or transactional id from the test name and a random suffix, so tests
// can share the real broker.
func uniqueName(t testing.TB, what string) string {
	return testenv.Prefix(t) + "." + what
}

func (e *env) consumerOpts() []kgo.Opt { return []kgo.Opt{kgo.SeedBrokers(e.brokers...)} }

// producer returns a transactional producer with the given transactional id.
func (e *env) producer(txnID string) *kgo.Client {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.TransactionalID(txnID))
	if err != nil {
		e.t.Fatalf("producer: %v", err)
	}
	e.t.Cleanup(cl.Close)
	return cl
}

// load runs Load and fails the test on error.
func (e *env) load(p *kgo.Client) *State {
	e.t.Helper()
	st, err := Load(e.t.Context(), p, e.consumerOpts(), e.topic, e.sealer)
	if err != nil {
		e.t.Fatalf("Load: %v", err)
	}
	return st
}

// txn produces recs in one transaction and commits it (commit=true) or aborts it.
func (e *env) txn(p *kgo.Client, commit bool, recs ...*kgo.Record) error {
	ctx := e.t.Context()
	if err := p.BeginTransaction(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	for _, r := range recs {
		if r.Topic == "" {
			r.Topic = e.topic
		}
	}
	if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return errors.Join(fmt.Errorf("produce: %w", err), p.EndTransaction(ctx, kgo.TryAbort))
	}
	if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		// As a writer must: after a failed commit, abort so the client can begin again.
		return errors.Join(fmt.Errorf("end: %w", err), p.EndTransaction(ctx, kgo.TryAbort))
	}
	return nil
}

// commit produces recs in one committed transaction and fails the test on error.
func (e *env) commit(p *kgo.Client, recs ...*kgo.Record) {
	e.t.Helper()
	if err := e.txn(p, true, recs...); err != nil {
		e.t.Fatalf("commit transaction: %v", err)
	}
}

// aborted produces recs in one transaction and aborts it.
func (e *env) aborted(p *kgo.Client, recs ...*kgo.Record) {
	e.t.Helper()
	if err := e.txn(p, false, recs...); err != nil {
		e.t.Fatalf("aborted transaction: %v", err)
	}
}

// settled waits until the state topic's last stable offset has reached its end: the markers
// of the transactions ended so far are in the log. A real broker's coordinator writes them after
// EndTxn has answered, so a read right after an abort may still stop at the aborted records.
func (e *env) settled() {
	e.t.Helper()
	ctx := e.t.Context()
	deadline := time.Now().Add(time.Minute)
	for {
		stable, err := e.adm.ListCommittedOffsets(ctx, e.topic)
		if err == nil {
			err = stable.Error()
		}
		end, endErr := e.adm.ListEndOffsets(ctx, e.topic)
		if err == nil {
			err = errors.Join(endErr, end.Error())
		}
		if err != nil {
			e.t.Fatalf("offsets of %s: %v", e.topic, err)
		}
		s, _ := stable.Lookup(e.topic, statePartition)
		h, _ := end.Lookup(e.topic, statePartition)
		if s.Offset == h.Offset {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: last stable offset %d still short of the end %d after a minute", e.topic, s.Offset, h.Offset)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// bookmarkRecs is BookmarkRecords on the env's topic, failing the test on error.
func (e *env) bookmarkRecs(tenant, stream string, b Bookmark) []*kgo.Record {
	e.t.Helper()
	recs, err := BookmarkRecords(e.topic, tenant, stream, b)
	if err != nil {
		e.t.Fatalf("BookmarkRecords(%s, %s): %v", tenant, stream, err)
	}
	return recs
}

// tokenRec is TokenRecord on the env's topic with its sealer.
func (e *env) tokenRec(tok Token) *kgo.Record {
	e.t.Helper()
	r, err := TokenRecord(e.topic, tok, e.sealer)
	if err != nil {
		e.t.Fatalf("TokenRecord: %v", err)
	}
	return r
}

// compact makes the broker compact the state topic and returns once it has: at once on kfake
// (Cluster.Compact); on the real broker, whose cleaner works only on closed segments, by making
// segments short and loading with p (each Load appends a marker, which rolls the segment) until
// fewer records are replayed than before, for at most five minutes (a loaded machine's cleaner
// can take minutes to reach the topic).
func (e *env) compact(p *kgo.Client) {
	e.t.Helper()
	if e.cluster != nil {
		e.cluster.Compact()
		return
	}
	ctx := e.t.Context()
	_, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "segment.ms", Value: kadm.StringPtr("200")},
		{Op: kadm.SetConfig, Name: "min.cleanable.dirty.ratio", Value: kadm.StringPtr("0.01")},
	}, e.topic)
	if err != nil {
		e.t.Fatalf("alter %s for compaction: %v", e.topic, err)
	}
	before := e.load(p).Summary().Records
	deadline := time.NewTimer(5 * time.Minute)
	defer deadline.Stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			e.t.Fatalf("the broker did not compact %s within five minutes (%d records replayed)", e.topic, before)
		case <-ctx.Done():
			e.t.Fatalf("waiting for compaction: %v", ctx.Err())
		case <-tick.C:
		}
		if n := e.load(p).Summary().Records; n < before {
			return
		}
	}
}

func testKey(seed byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = seed + byte(i)
	}
	return k
}

func testSealer(t testing.TB, key []byte) Sealer {
	t.Helper()
	s, err := NewAESGCM(key)
	if err != nil {
		t.Fatalf("NewAESGCM: %v", err)
	}
	return s
}

// checkBookmark fails the test unless st holds want for (tenant, stream).
func checkBookmark(t testing.TB, st *State, tenant, stream string, want Bookmark) {
	t.Helper()
	got, ok := st.Bookmark(tenant, stream)
	if !ok {
		t.Fatalf("no bookmark for %s/%s; loaded: %v", tenant, stream, st.Bookmarks())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bookmark %s/%s:\n got %s\nwant %s", tenant, stream, short(got), short(want))
	}
}

// short describes a bookmark by its sizes, for failure messages about large ones.
func short(b Bookmark) string {
	s := fmt.Sprintf("%+v", b)
	if len(s) > 300 {
		return fmt.Sprintf("{Watermark:%d Window:%d entries Hashes:%d entries Verify:%d ...}",
			b.Watermark, len(b.Window), len(b.Hashes), len(b.Verify))
	}
	return s
}

// uuid returns a random UUID string, like Xero's ids.
func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}

// scanBookmark is a Scan bookmark with n Hashes entries keyed by UUIDs.
func scanBookmark(n int) Bookmark {
	b := Bookmark{Hashes: make(map[string]uint64, n)}
	var x [8]byte
	for range n {
		rand.Read(x[:])
		b.Hashes[uuid()] = uint64(x[0]) | uint64(x[1])<<8 | uint64(x[2])<<16 | uint64(x[3])<<24 |
			uint64(x[4])<<32 | uint64(x[5])<<40 | uint64(x[6])<<48 | uint64(x[7])<<56
	}
	return b
}

// keysetBookmark is a typical Keyset bookmark: a watermark and a few ids sharing it.
func keysetBookmark() Bookmark {
	b := Bookmark{Watermark: 1_732_000_000_000, Window: map[string]int64{}}
	for i := range 5 {
		b.Window[uuid()] = 1_732_000_000_000 + int64(i%2)*1000
	}
	return b
}
