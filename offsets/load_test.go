package offsets

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const tenantA, tenantB = "3f2a9c4e-0b1d-4c55-9e7a-1f0c2b3d4e5f", "b7e4d2a1-6c3f-4e8b-a9d0-5f1e2c3b4a6d"

func TestLoadEmptyTopic(t *testing.T) {
	e := newEnv(t)
	st := e.load(e.producer(uniqueName(t, "txn")))
	if _, ok := st.Token(); ok {
		t.Error("empty topic: Token() reports a token")
	}
	if _, ok := st.Bookmark(tenantA, "invoices"); ok {
		t.Error("empty topic: Bookmark() reports a bookmark")
	}
	if got := st.Summary(); got.Records != 0 || got.Bookmarks != 0 || got.MarkerOffset != 0 {
		t.Errorf("empty topic: summary %+v, want no records and the marker at offset 0", got)
	}
}

func TestRoundTrip(t *testing.T) {
	saved := time.Date(2025, 11, 23, 20, 8, 1, 123456789, time.UTC)
	cases := []struct {
		name   string
		tenant string
		stream string
		b      Bookmark
	}{
		{"zero", tenantA, "accounts", Bookmark{}},
		{"keyset", tenantA, "invoices", keysetBookmark()},
		{"keyset with verify", tenantB, "contacts", Bookmark{
			Watermark: 1_700_000_000_000,
			Window:    map[string]int64{uuid(): 1_700_000_000_000},
			Verify: []Verify{{
				From: 1_700_000_000_000, To: 1_700_000_050_000, Start: 1_700_000_100_000,
				Written: map[string]int64{uuid(): 1_700_000_000_001, uuid(): 1_700_000_000_002}, Moved: true,
			}},
		}},
		{"offset", tenantA, "journals", Bookmark{Watermark: 48213}},
		{"negative watermark", tenantB, "bank_transfers", Bookmark{Watermark: -86_400_000}},
		{"scan small", tenantB, "tax_rates", scanBookmark(20)},
		{"scan in progress", tenantA, "linked_transactions", Bookmark{
			Hashes: map[string]uint64{uuid(): 1<<64 - 1, uuid(): 0},
		}},
		{"scan 100k", tenantB, "items", scanBookmark(100_000)},
	}
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	var recs []*kgo.Record
	for _, c := range cases {
		recs = append(recs, e.bookmarkRecs(c.tenant, c.stream, c.b)...)
	}
	tok := Token{RefreshToken: "rt-" + uuid(), SeedHash: HashSeed("seed"), SavedAt: saved}
	recs = append(recs, e.tokenRec(tok))
	e.commit(p, recs...)

	st := e.load(p)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkBookmark(t, st, c.tenant, c.stream, c.b)
		})
	}
	t.Run("token", func(t *testing.T) {
		got, ok := st.Token()
		if !ok {
			t.Fatal("no token loaded")
		}
		if got.RefreshToken != tok.RefreshToken || got.SeedHash != tok.SeedHash || !got.SavedAt.Equal(tok.SavedAt) {
			t.Fatalf("token: got %v, want %v (refresh tokens equal: %t)", got, tok, got.RefreshToken == tok.RefreshToken)
		}
	})
	t.Run("summary", func(t *testing.T) {
		sum := st.Summary()
		if sum.Bookmarks != len(cases) || !sum.Token || sum.Chunked != 1 || sum.Records != len(recs) || sum.StaleChunks != 0 {
			t.Fatalf("summary %+v: want %d bookmarks, 1 chunked, %d records, a token, no stale chunks", sum, len(cases), len(recs))
		}
		if len(st.Bookmarks()) != len(cases) {
			t.Fatalf("Bookmarks() lists %d, want %d", len(st.Bookmarks()), len(cases))
		}
	})
}

func TestLastValueWins(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	var want map[string]Bookmark
	var wantTok Token
	for i := range 5 {
		want = map[string]Bookmark{
			"invoices": {Watermark: int64(1000 + i), Window: map[string]int64{fmt.Sprint("id", i): int64(1000 + i)}},
			"journals": {Watermark: int64(i * 100)},
		}
		wantTok = Token{RefreshToken: fmt.Sprint("token-", i), SeedHash: HashSeed("seed"), SavedAt: time.Unix(int64(i), 0).UTC()}
		recs := []*kgo.Record{e.tokenRec(wantTok)}
		for stream, b := range want {
			recs = append(recs, e.bookmarkRecs(tenantA, stream, b)...)
		}
		e.commit(p, recs...)
		if i == 2 { // a start in the middle: its marker stays in the log
			e.load(p)
		}
	}
	st := e.load(p)
	for stream, b := range want {
		checkBookmark(t, st, tenantA, stream, b)
	}
	if got, _ := st.Token(); got.RefreshToken != wantTok.RefreshToken {
		t.Errorf("token: got the one saved at %v, want the one saved at %v", got.SavedAt, wantTok.SavedAt)
	}
	if got := st.Summary().Markers; got != 1 {
		t.Errorf("Summary().Markers = %d, want 1 (the earlier start)", got)
	}
}

func TestAbortedTransactions(t *testing.T) {
	committed := Bookmark{Watermark: 1}
	abortedBM := Bookmark{Watermark: 2}
	tok := Token{RefreshToken: "committed", SavedAt: time.Unix(1, 0).UTC()}
	abortedTok := Token{RefreshToken: "aborted", SavedAt: time.Unix(2, 0).UTC()}

	cases := []struct {
		name string
		// write runs before Load; the connector's producer (txn) is the one Load uses.
		write func(e *env, txn string)
	}{
		{"aborted in the middle", func(e *env, txn string) {
			p := e.producer(txn)
			e.commit(p, append(e.bookmarkRecs(tenantA, "invoices", committed), e.tokenRec(tok))...)
			e.aborted(p, append(e.bookmarkRecs(tenantA, "invoices", abortedBM), e.tokenRec(abortedTok))...)
			e.commit(p, e.bookmarkRecs(tenantB, "invoices", committed)...)
		}},
		{"log ends in an aborted transaction", func(e *env, txn string) {
			p := e.producer(txn)
			e.commit(p, append(e.bookmarkRecs(tenantA, "invoices", committed), e.tokenRec(tok))...)
			e.commit(p, e.bookmarkRecs(tenantB, "invoices", committed)...)
			e.aborted(p, append(e.bookmarkRecs(tenantA, "invoices", abortedBM), e.tokenRec(abortedTok))...)
		}},
		{"log ends in an aborted transaction of another id", func(e *env, txn string) {
			p := e.producer(txn)
			e.commit(p, append(e.bookmarkRecs(tenantA, "invoices", committed), e.tokenRec(tok))...)
			e.commit(p, e.bookmarkRecs(tenantB, "invoices", committed)...)
			other := e.producer(txn + "-other")
			e.aborted(other, append(e.bookmarkRecs(tenantA, "invoices", abortedBM), e.tokenRec(abortedTok))...)
		}},
		{"previous instance left a transaction open", func(e *env, txn string) {
			p := e.producer(txn)
			e.commit(p, append(e.bookmarkRecs(tenantA, "invoices", committed), e.tokenRec(tok))...)
			e.commit(p, e.bookmarkRecs(tenantB, "invoices", committed)...)
			if err := p.BeginTransaction(); err != nil {
				e.t.Fatalf("begin: %v", err)
			}
			recs := append(e.bookmarkRecs(tenantA, "invoices", abortedBM), e.tokenRec(abortedTok))
			if err := p.ProduceSync(e.t.Context(), recs...).FirstErr(); err != nil {
				e.t.Fatalf("produce: %v", err)
			}
			// No EndTransaction: the instance died. The next Load's marker fences it and
			// aborts the open transaction.
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			txn := uniqueName(t, "txn")
			c.write(e, txn)
			st := e.load(e.producer(txn))
			checkBookmark(t, st, tenantA, "invoices", committed)
			checkBookmark(t, st, tenantB, "invoices", committed)
			if got, _ := st.Token(); got.RefreshToken != tok.RefreshToken {
				t.Errorf("token saved at %v loaded, want the committed one (saved at %v)", got.SavedAt, tok.SavedAt)
			}
			// A second start reads the same state past this Load's marker.
			st = e.load(e.producer(txn))
			checkBookmark(t, st, tenantA, "invoices", committed)
		})
	}
}

func TestCompactionKeepsState(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	for i := range 10 {
		recs := e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: int64(i)})
		recs = append(recs, e.bookmarkRecs(tenantB, "journals", Bookmark{Watermark: int64(10 * i)})...)
		recs = append(recs, e.tokenRec(Token{RefreshToken: fmt.Sprint("t", i), SavedAt: time.Unix(int64(i), 0).UTC()}))
		e.commit(p, recs...)
		if i%3 == 0 {
			e.load(p)
		}
	}
	e.aborted(p, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 999})...)
	before := e.load(p)
	e.compact(p)
	after := e.load(p)

	for _, id := range []BookmarkID{{tenantA, "invoices"}, {tenantB, "journals"}} {
		want, _ := before.Bookmark(id.Tenant, id.Stream)
		checkBookmark(t, after, id.Tenant, id.Stream, want)
	}
	checkBookmark(t, after, tenantA, "invoices", Bookmark{Watermark: 9})
	tb, _ := before.Token()
	ta, _ := after.Token()
	if ta.RefreshToken != tb.RefreshToken || ta.RefreshToken != "t9" {
		t.Errorf("token after compaction saved at %v, before at %v; want the last one", ta.SavedAt, tb.SavedAt)
	}
	b, a := before.Summary().Records, after.Summary().Records
	if a >= b {
		t.Errorf("records replayed: %d before compaction, %d after; want fewer after", b, a)
	}
	// kfake compacts the whole log but its last batch; the real broker leaves the active segment.
	if e.cluster != nil && a > 4 {
		t.Errorf("records replayed after compaction: %d, want at most 4 (3 keys and a marker)", a)
	}
}

func TestChunkedBookmark(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))

	large := scanBookmark(100_000)
	largeRecs := e.bookmarkRecs(tenantA, "items", large)
	if len(largeRecs) < 2 {
		t.Fatalf("100,000 hashes fit in %d record; the test needs chunks", len(largeRecs))
	}
	for i, r := range largeRecs {
		if len(r.Value) > MaxValueSize {
			t.Fatalf("record %d (%s): value of %d bytes exceeds MaxValueSize %d", i, r.Key, len(r.Value), MaxValueSize)
		}
	}
	e.commit(p, largeRecs...) // produced under the broker's default max.message.bytes
	st := e.load(p)
	checkBookmark(t, st, tenantA, "items", large)
	if info := st.Bookmarks(); len(info) != 1 || info[0].Records != len(largeRecs) || info[0].Stored >= info[0].JSON {
		t.Fatalf("Bookmarks() = %+v, want one compressed bookmark of %d records", info, len(largeRecs))
	}

	// A medium version: fewer chunks, so the tail of the large one is stale.
	medium := scanBookmark(30_000)
	mediumRecs := e.bookmarkRecs(tenantA, "items", medium)
	if len(mediumRecs) < 2 || len(mediumRecs) >= len(largeRecs) {
		t.Fatalf("medium bookmark has %d records, want 2 to %d", len(mediumRecs), len(largeRecs)-1)
	}
	e.commit(p, mediumRecs...)
	st = e.load(p)
	checkBookmark(t, st, tenantA, "items", medium)
	if got, want := st.Summary().StaleChunks, len(largeRecs)-len(mediumRecs); got != want {
		t.Errorf("stale chunks after the medium version: %d, want %d", got, want)
	}

	// A small version in one record: every chunk is stale, before and after compaction.
	small := Bookmark{Hashes: map[string]uint64{uuid(): 1}}
	e.commit(p, e.bookmarkRecs(tenantA, "items", small)...)
	for _, compacted := range []bool{false, true} {
		if compacted {
			e.compact(p)
		}
		st = e.load(p)
		checkBookmark(t, st, tenantA, "items", small)
		if got, want := st.Summary().StaleChunks, len(largeRecs)-1; got != want {
			t.Errorf("compacted=%t: stale chunks %d, want %d", compacted, got, want)
		}
	}

	// The next write of the bookmark removes the stale chunks, in its own transaction.
	w := st.BookmarkWriter(tenantA, "items")
	recs, err := w.Records(small, nil)
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	e.commit(p, recs...)
	w.Committed()
	st = e.load(p)
	checkBookmark(t, st, tenantA, "items", small)
	if got := st.Summary().StaleChunks; got != 0 {
		t.Errorf("stale chunks after their tombstones: %d, want 0", got)
	}

	// The large version again, over the tombstones.
	e.commit(p, e.bookmarkRecs(tenantA, "items", large)...)
	e.compact(p)
	checkBookmark(t, e.load(p), tenantA, "items", large)
}

// TestRecordSizes checks the size claims: every value stays under MaxValueSize, which is far below
// the broker's default max.message.bytes, however large or incompressible the bookmark.
func TestRecordSizes(t *testing.T) {
	const brokerDefaultMaxMessageBytes = 1048588
	if MaxValueSize > brokerDefaultMaxMessageBytes/3 {
		t.Fatalf("MaxValueSize %d is not well under the broker default %d", MaxValueSize, brokerDefaultMaxMessageBytes)
	}
	// Random ids compress little: about 5 MB of JSON in a traversal's written ids.
	written := make(map[string]int64, 130_000)
	for i := range 130_000 {
		written[uuid()] = int64(i)
	}
	incompressible := Bookmark{Verify: []Verify{{From: 1, To: 2, Written: written}}}
	cases := []struct {
		name      string
		b         Bookmark
		minChunks int
	}{
		{"keyset", keysetBookmark(), 1},
		{"100k hashes", scanBookmark(100_000), 2},
		{"incompressible", incompressible, 10},
	}
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := e.bookmarkRecs(tenantA, "x", c.b)
			total := 0
			for _, r := range recs {
				total += len(r.Value)
				if len(r.Value) > MaxValueSize || len(r.Key)+len(r.Value) > brokerDefaultMaxMessageBytes/3 {
					t.Fatalf("record %s: %d-byte value, limit %d", r.Key, len(r.Value), MaxValueSize)
				}
			}
			if len(recs) < c.minChunks {
				t.Fatalf("%d records, want at least %d", len(recs), c.minChunks)
			}
			t.Logf("%d records, %d value bytes", len(recs), total)
			e.commit(p, recs...)
			checkBookmark(t, e.load(p), tenantA, "x", c.b)
		})
	}
}

// rawRecord returns a record with the given key and value on the env's topic.
func rawRecord(key string, v []byte) *kgo.Record { return &kgo.Record{Key: []byte(key), Value: v} }

func TestUnreadableRecords(t *testing.T) {
	good := Bookmark{Watermark: 5}
	headOnly := func(e *env) []*kgo.Record { return e.bookmarkRecs(tenantA, "items", scanBookmark(30_000))[:1] }
	cases := []struct {
		name string
		recs func(e *env) []*kgo.Record // the last one is the unreadable record
		is   error                      // a sentinel the error must match, if any
		msg  string                     // text the error must contain
		// token: the record is a token the key cannot open, which stops no Load:
		// State.CheckSeed with the seed that began its chain reports it instead.
		token bool
	}{
		{"garbage value", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord(bookmarkKey(tenantA, "invoices"), []byte("garbage!"))}
		}, nil, "not a state record", false},
		{"short value", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord(tokenKey, []byte("XK"))}
		}, nil, "too short", false},
		{"future version", func(e *env) []*kgo.Record {
			v := e.bookmarkRecs(tenantA, "invoices", good)[0].Value
			v[len(magic)] = formatVersion + 1
			return []*kgo.Record{rawRecord(bookmarkKey(tenantA, "invoices"), v)}
		}, ErrFutureVersion, "newer release", false},
		{"unknown key", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord("schedule/"+tenantA, []byte("XK\x01B"))}
		}, nil, "unknown key", false},
		{"empty key", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord("", []byte("XK\x01B"))}
		}, nil, "unknown key", false},
		{"kind does not match key", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord(tokenKey, e.bookmarkRecs(tenantA, "invoices", good)[0].Value)}
		}, nil, "kind", false},
		{"undecodable JSON", func(e *env) []*kgo.Record {
			v := value{version: formatVersion, kind: kindBookmark, parts: 1, size: 5, rawSize: 5, data: []byte("{nope")}
			v.sum = crc32.Checksum(v.data, crcTable)
			return []*kgo.Record{rawRecord(bookmarkKey(tenantA, "invoices"), appendValue(nil, v))}
		}, nil, "decode JSON", false},
		{"missing chunk", headOnly, nil, "missing record chunk/" + tenantA + "/items/1", false},
		{"chunk of another generation", func(e *env) []*kgo.Record {
			old := e.bookmarkRecs(tenantA, "items", scanBookmark(30_000))
			cur := e.bookmarkRecs(tenantA, "items", scanBookmark(30_000))
			return append(old[1:], cur[0]) // the head of cur, the chunks of old
		}, nil, "missing record chunk/", false},
		{"bad chunk index", func(e *env) []*kgo.Record {
			return []*kgo.Record{rawRecord("chunk/"+tenantA+"/items/01", []byte("XK\x01C"))}
		}, nil, "chunk index", false},
		{"wrong key for token", func(e *env) []*kgo.Record {
			other := testSealer(e.t, testKey(99))
			r, err := TokenRecord(e.topic, Token{RefreshToken: "secret-refresh-token", SeedHash: HashSeed("seed")}, other)
			if err != nil {
				e.t.Fatal(err)
			}
			return []*kgo.Record{r}
		}, ErrKeyMismatch, "state key does not match", true},
		{"altered token", func(e *env) []*kgo.Record {
			r := e.tokenRec(Token{RefreshToken: "secret-refresh-token", SeedHash: HashSeed("seed")})
			r.Value[len(r.Value)-1] ^= 1
			return []*kgo.Record{r}
		}, ErrKeyMismatch, "decrypt token", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.producer(uniqueName(t, "txn"))
			e.commit(p, e.bookmarkRecs(tenantB, "accounts", good)...)
			recs := c.recs(e)
			e.commit(p, recs...)
			bad := recs[len(recs)-1]
			st, err := Load(t.Context(), p, e.consumerOpts(), e.topic, e.sealer)
			if c.token {
				if err != nil {
					t.Fatalf("Load: %v, want the state with an unreadable token", err)
				}
				if _, ok := st.Token(); ok {
					t.Fatal("Token() reports the unreadable token")
				}
				if err := st.CheckSeed("a-new-refresh-token"); err != nil {
					t.Errorf("CheckSeed with a new token: %v, want nil", err)
				}
				err = st.CheckSeed("seed")
				if err == nil {
					t.Fatal("CheckSeed with the token that seeded the unreadable chain succeeded")
				}
			} else if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("Load error %q is not a *RecordError", err)
			}
			if strings.Count(err.Error(), e.topic) > 1 {
				t.Errorf("error %q names the topic more than once", err)
			}
			if re.Offset != bad.Offset || re.Key != string(bad.Key) || re.Partition != 0 || re.Topic != e.topic {
				t.Errorf("RecordError names %s/%d offset %d key %q, want %s/0 offset %d key %q",
					re.Topic, re.Partition, re.Offset, re.Key, e.topic, bad.Offset, bad.Key)
			}
			if want := fmt.Sprintf("offset %d key %q", bad.Offset, bad.Key); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not contain %q", err, c.msg)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			if strings.Contains(err.Error(), "secret-refresh-token") {
				t.Errorf("error %q shows the refresh token", err)
			}
		})
	}
}

// TestFencing starts an instance, then a second one with the same transactional id: the first
// can no longer write anything, whichever it tries next.
func TestFencing(t *testing.T) {
	cases := []struct {
		name string
		next func(e *env, fenced *kgo.Client) error
	}{
		{"data transaction", func(e *env, fenced *kgo.Client) error {
			return e.txn(fenced, true, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 2})...)
		}},
		{"token transaction", func(e *env, fenced *kgo.Client) error {
			return e.txn(fenced, true, e.tokenRec(Token{RefreshToken: "zombie"}))
		}},
		{"Load", func(e *env, fenced *kgo.Client) error {
			_, err := Load(e.t.Context(), fenced, e.consumerOpts(), e.topic, e.sealer)
			if err != nil && !errors.Is(err, ErrFenced) {
				e.t.Errorf("Load error %q is not ErrFenced", err)
			}
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			txn := uniqueName(t, "txn")
			first := e.producer(txn)
			e.commit(first, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 1})...)
			e.load(first)

			second := e.producer(txn)
			checkBookmark(t, e.load(second), tenantA, "invoices", Bookmark{Watermark: 1})

			err := c.next(e, first)
			if err == nil {
				t.Fatal("the fenced producer wrote again")
			}
			if !IsFenced(err) {
				t.Fatalf("IsFenced(%q) = false", err)
			}
			t.Logf("fenced: %v", err)
			// Writing again fails too: a fenced producer never recovers.
			err = e.txn(first, true, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 4})...)
			t.Logf("again: %v (IsFenced %t)", err, IsFenced(err))
			if err == nil {
				t.Fatal("the fenced producer wrote on its second try")
			}

			// The new instance goes on, and sees nothing from the fenced one.
			e.commit(second, e.bookmarkRecs(tenantA, "journals", Bookmark{Watermark: 3})...)
			st := e.load(second)
			checkBookmark(t, st, tenantA, "invoices", Bookmark{Watermark: 1})
			checkBookmark(t, st, tenantA, "journals", Bookmark{Watermark: 3})
			if _, ok := st.Token(); ok {
				t.Error("a token written by the fenced producer was loaded")
			}
		})
	}
}

func TestLoadArguments(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	notTxn, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(notTxn.Close)
	cases := []struct {
		name     string
		producer *kgo.Client
		topic    string
		sealer   Sealer
		msg      string
	}{
		{"no producer", nil, e.topic, e.sealer, "no producer"},
		{"no topic", p, "", e.sealer, "empty topic"},
		{"no sealer", p, e.topic, nil, "no sealer"},
		{"missing topic", p, "xk-no-such-topic", e.sealer, "does not exist"},
		{"not transactional", notTxn, e.topic, e.sealer, "write startup marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(t.Context(), c.producer, e.consumerOpts(), c.topic, c.sealer)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.msg)
			}
		})
	}
}
