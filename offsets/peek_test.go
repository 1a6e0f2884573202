package offsets

import (
	"errors"
	"testing"
	"time"
)

// TestReadToken: ReadToken finds the last committed token, whatever follows it (an aborted
// transaction, a startup marker, bookmarks), writes nothing, and says when the key is wrong or
// the topic missing.
func TestReadToken(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, ok, err := ReadToken(ctx, e.consumerOpts(), e.topic, e.sealer); ok || err != nil {
		t.Fatalf("empty topic: ok %v, err %v", ok, err)
	}
	p := e.producer(uniqueName(t, "txn"))
	first := Token{RefreshToken: "first-token", SeedHash: HashSeed("first-token"), SavedAt: time.UnixMilli(1000).UTC()}
	second := Token{RefreshToken: "second-token", SeedHash: first.SeedHash, SavedAt: time.UnixMilli(2000).UTC()}
	e.commit(p, e.tokenRec(first))
	e.commit(p, e.tokenRec(second))
	e.commit(p, e.bookmarkRecs("tenant", "invoices", Bookmark{Watermark: 5})...)
	e.aborted(p, e.tokenRec(Token{RefreshToken: "aborted-token"}))

	tok, ok, err := ReadToken(ctx, e.consumerOpts(), e.topic, e.sealer)
	if err != nil || !ok || tok.RefreshToken != second.RefreshToken || tok.SeedHash != second.SeedHash {
		t.Fatalf("ReadToken = %v, %v, %v; want the second token", tok, ok, err)
	}
	// Nothing was written: Load still sees only what the test committed.
	if st := e.load(e.producer(uniqueName(t, "loader"))); st.Summary().Markers != 0 {
		t.Errorf("ReadToken wrote %d startup markers", st.Summary().Markers)
	}

	_, _, err = ReadToken(ctx, e.consumerOpts(), e.topic, testSealer(t, testKey(2)))
	var re *RecordError
	if !errors.As(err, &re) || re.Key != tokenKey {
		t.Fatalf("another key: %v", err)
	}
	if _, _, err := ReadToken(ctx, e.consumerOpts(), e.topic+"-missing", e.sealer); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("missing topic: %v", err)
	}
}
