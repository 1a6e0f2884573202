package offsets

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// strayRecords are the records written to a state topic by mistake that a start must refuse, each
// with what the error must say. The token case is a token sealed with another state key under the
// seed "seed".
func strayRecords(e *env) []struct {
	name  string
	rec   *kgo.Record
	msg   string
	token bool
} {
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	future := e.bookmarkRecs(tenantA, "contacts", Bookmark{Watermark: 9})[0]
	future.Value[len(magic)] = formatVersion + 1
	other, err := TokenRecord(e.topic, Token{RefreshToken: "secret-refresh-token", SeedHash: HashSeed("seed")}, testSealer(e.t, testKey(99)))
	if err != nil {
		e.t.Fatal(err)
	}
	return []struct {
		name  string
		rec   *kgo.Record
		msg   string
		token bool
	}{
		{"random bytes", &kgo.Record{Key: append([]byte("\xff\x00"), random(14)...), Value: random(64)}, "unknown key", false},
		{"JSON of another application", &kgo.Record{Key: []byte("order-4711"), Value: []byte(`{"order":4711,"status":"shipped"}`)}, "unknown key", false},
		{"token sealed with another key", other, "state key does not match", true},
		{"future format version", future, "newer release", false},
	}
}

// TestRecoverFromStrayRecords: each stray record stops a start, naming its offset and key, and
// changes nothing; Inspect lists it (and only it) among the readable state; committing the
// tombstones of what cannot be read lets the next start go on with everything else as it was.
// A token sealed with another key stops a start only while the given refresh token is the one
// that seeded it.
func TestRecoverFromStrayRecords(t *testing.T) {
	good := Bookmark{Watermark: 5, Window: map[string]int64{"a": 5}}
	for i, c := range strayRecords(newEnv(t)) {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.producer(uniqueName(t, "txn"))
			tok := Token{RefreshToken: "rt", SeedHash: HashSeed("seed"), SavedAt: time.Unix(1, 0).UTC()}
			e.commit(p, append(e.bookmarkRecs(tenantB, "accounts", good), e.tokenRec(tok))...)
			bad := strayRecords(e)[i].rec
			bad.Topic = e.topic
			e.commit(p, bad)

			st, err := Load(t.Context(), p, e.consumerOpts(), e.topic, e.sealer)
			if c.token {
				if err != nil {
					t.Fatalf("Load: %v; a token that cannot be opened is for CheckSeed to judge", err)
				}
				err = st.CheckSeed("seed")
				if cerr := st.CheckSeed("a-new-refresh-token"); cerr != nil {
					t.Errorf("CheckSeed with a new refresh token: %v, want nil (the new token seeds a new chain)", cerr)
				}
			}
			var re *RecordError
			if !errors.As(err, &re) || re.Offset != bad.Offset || re.Key != string(bad.Key) {
				t.Fatalf("start error %v, want a *RecordError naming offset %d key %q", err, bad.Offset, bad.Key)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
			t.Logf("refused: %v", err)

			in, err := Inspect(t.Context(), e.consumerOpts(), e.topic, e.sealer)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			un := in.Unreadable()
			if len(un) != 1 || un[0].Offset != bad.Offset || un[0].Key != string(bad.Key) {
				t.Fatalf("Inspect lists %v as unreadable, want only offset %d key %q", un, bad.Offset, bad.Key)
			}
			checkBookmark(t, in, tenantB, "accounts", good)

			e.commit(e.producer(uniqueName(t, "admin")), in.UnreadableTombstones()...)
			st = e.load(p)
			checkBookmark(t, st, tenantB, "accounts", good)
			if err := st.CheckSeed("seed"); err != nil {
				t.Errorf("CheckSeed after the removal: %v", err)
			}
			got, ok := st.Token()
			switch {
			case c.token && ok:
				t.Error("the removed token is still loaded")
			case !c.token && (!ok || got.RefreshToken != tok.RefreshToken):
				t.Error("the readable token was not kept")
			}
			if n := len(st.Unreadable()); n != 0 {
				t.Errorf("%d unreadable records after the removal", n)
			}
		})
	}
}

// TestLastRecordOfEachKeyCounts: a stray record that a later record of its key replaces stops
// nothing, and a tombstone of a key this release does not know is passed over.
func TestLastRecordOfEachKeyCounts(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	future := e.bookmarkRecs(tenantA, "contacts", Bookmark{Watermark: 9})[0]
	future.Value[len(magic)] = formatVersion + 1
	e.commit(p, future, rawRecord("order-4711", []byte(`{"order":4711}`)))
	e.commit(p, e.bookmarkRecs(tenantA, "contacts", Bookmark{Watermark: 10})...)
	e.commit(p, rawRecord("order-4711", nil), rawRecord("never-seen-before", nil))
	st := e.load(p)
	checkBookmark(t, st, tenantA, "contacts", Bookmark{Watermark: 10})
	if got := st.Summary().Tombstones; got != 2 {
		t.Errorf("Summary().Tombstones = %d, want 2", got)
	}
}

// TestCheckSeed covers the decision about a stored token that cannot be opened.
func TestCheckSeed(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	if err := e.load(p).CheckSeed(""); err != nil {
		t.Fatalf("no token stored: CheckSeed = %v", err)
	}
	other := testSealer(t, testKey(42))
	v2, err := TokenRecord(e.topic, Token{RefreshToken: "secret-refresh-token", SeedHash: HashSeed("seed")}, other)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(p, v2)
	st := e.load(p)
	if h, ok := st.TokenSeedHash(); !ok || h != HashSeed("seed") {
		t.Errorf("TokenSeedHash = %q, %t; want the seed's hash, read without the key", h, ok)
	}
	for env, ok := range map[string]bool{"": false, "seed": false, "new": true} {
		err := st.CheckSeed(env)
		if (err == nil) != ok {
			t.Errorf("CheckSeed(%q) = %v, want ok=%t", env, err, ok)
		}
		if err != nil && (!errors.Is(err, ErrKeyMismatch) || strings.Contains(err.Error(), "secret-refresh-token")) {
			t.Errorf("CheckSeed(%q) = %q: want ErrKeyMismatch, without the token", env, err)
		}
	}

	// A record of format version 1 has no seed hash in clear: no given token can be told from
	// its seed.
	old := value{version: 1, kind: kindToken}
	old.data, _ = other.Seal([]byte(`{"refresh_token":"secret-refresh-token"}`), tokenAD(old, tokenKey))
	e.commit(p, rawRecord(tokenKey, appendValue(nil, old)))
	st = e.load(p)
	if err := st.CheckSeed("new"); err == nil || !strings.Contains(err.Error(), "format version 1") {
		t.Errorf("version 1 token: CheckSeed = %v, want an error saying it cannot tell", err)
	}
	// The key that wrote it reads it.
	ok := value{version: 1, kind: kindToken}
	ok.data, _ = e.sealer.Seal([]byte(`{"refresh_token":"rt","seed_hash":"`+HashSeed("seed")+`"}`), tokenAD(ok, tokenKey))
	e.commit(p, rawRecord(tokenKey, appendValue(nil, ok)))
	st = e.load(p)
	if tok, found := st.Token(); !found || tok.RefreshToken != "rt" || st.CheckSeed("seed") != nil {
		t.Errorf("version 1 token under the right key: Token = %v, %t", tok, found)
	}
	if h, _ := st.TokenSeedHash(); h != HashSeed("seed") {
		t.Errorf("version 1 token: TokenSeedHash = %q, want the hash inside the box", h)
	}
}

// TestInspectEndsAfterAbortedTransaction: Inspect reads to the end even when the log ends with an
// aborted transaction, and writes nothing.
func TestInspectEndsAfterAbortedTransaction(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	if st, err := Inspect(t.Context(), e.consumerOpts(), e.topic, e.sealer); err != nil || len(st.Bookmarks()) != 0 {
		t.Fatalf("empty topic: Inspect = %v, %v", st, err)
	}
	e.commit(p, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 1})...)
	e.aborted(p, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 2})...)
	// The log ends with the abort's marker once the broker has written it.
	e.settled()
	st, err := Inspect(t.Context(), e.consumerOpts(), e.topic, e.sealer)
	if err != nil {
		t.Fatal(err)
	}
	checkBookmark(t, st, tenantA, "invoices", Bookmark{Watermark: 1})
	info := st.Bookmarks()
	if len(info) != 1 || info[0].CommittedAt.IsZero() || time.Since(info[0].CommittedAt) > time.Hour {
		t.Errorf("Bookmarks() = %+v, want one with the time of its commit", info)
	}
	again, err := Inspect(t.Context(), e.consumerOpts(), e.topic, e.sealer)
	if err != nil {
		t.Fatal(err)
	}
	if again.Summary().EndOffset != st.Summary().EndOffset {
		t.Errorf("Inspect wrote to the topic: end offset %d, then %d", st.Summary().EndOffset, again.Summary().EndOffset)
	}
}
