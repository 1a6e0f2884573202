package offsets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is one test's Kafka: a kfake cluster with a state topic of its own.
type env struct {
	t       testing.TB
	cluster *kfake.Cluster
	brokers []string
	adm     *kadm.Client
	topic   string
	sealer  Sealer
}

// newEnv starts a one-broker kfake cluster and creates a state topic on it.
func newEnv(t testing.TB) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	e := &env{t: t, cluster: c, brokers: c.ListenAddrs(), topic: uniqueName(t, "state")}
	admCl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatalf("admin client: %v", err)
	}
	t.Cleanup(admCl.Close)
	e.adm = kadm.NewClient(admCl)
	e.sealer = testSealer(t, testKey(1))
	if err := CreateTopic(t.Context(), e.adm, e.topic, 1); err != nil {
		t.Fatalf("create state topic: %v", err)
	}
	return e
}

var nonNameChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// uniqueName builds a topic or transactional id from the test name and a random suffix, so tests
// can share a real cluster.
func uniqueName(t testing.TB, what string) string {
	var b [4]byte
	rand.Read(b[:])
	name := nonNameChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 150 {
		name = name[:150]
	}
	return fmt.Sprintf("xk-%s-%s-%s", what, name, hex.EncodeToString(b[:]))
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

// compact runs kfake's log cleaner on every partition now.
func (e *env) compact() {
	e.cluster.Compact()
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
		return fmt.Sprintf("{Watermark:%d Window:%d entries Hashes:%d entries ScanSeen:%d ids Verify:%v ...}",
			b.Watermark, len(b.Window), len(b.Hashes), len(b.ScanSeen), b.Verify != nil)
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
