package offsets

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWatchTakeover: an instance watching the state topic learns of a newer instance from its
// startup marker, without writing anything; its own writes do not trigger it.
func TestWatchTakeover(t *testing.T) {
	e := newEnv(t)
	txn := uniqueName(t, "txn")
	first := e.producer(txn)
	st := e.load(first)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- WatchTakeover(ctx, e.consumerOpts(), e.topic, st) }()

	// The instance's own bookmarks are not a takeover.
	e.commit(first, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 1})...)
	select {
	case err := <-watched:
		t.Fatalf("the watch ended on the instance's own write: %v", err)
	case <-time.After(300 * time.Millisecond):
	}

	e.load(e.producer(txn)) // a newer instance starts
	select {
	case err := <-watched:
		if !errors.Is(err, ErrFenced) {
			t.Fatalf("WatchTakeover = %v, want ErrFenced", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the watch did not see the newer instance's marker")
	}

	// A cancelled watch returns nil.
	ctx2, cancel2 := context.WithCancel(t.Context())
	cancel2()
	if err := WatchTakeover(ctx2, e.consumerOpts(), e.topic, e.load(e.producer(txn))); err != nil {
		t.Fatalf("cancelled watch = %v, want nil", err)
	}
}

// TestResetsReachTheInbox: a reset committed before a start is pending in the loaded state; one
// committed while the instance runs reaches its inbox through the watch; the tombstone committed
// with the bookmark that applies it ends it.
func TestResetsReachTheInbox(t *testing.T) {
	e := newEnv(t)
	p := e.producer(uniqueName(t, "txn"))
	admin := e.producer(uniqueName(t, "admin"))
	from := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	before, err := NewReset(tenantA, "invoices", from, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err := before.Record(e.topic)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(admin, rec)

	st := e.load(p)
	in := st.ResetInbox(tenantA, "invoices")
	got := in.Pending()
	if len(got) != 1 || got[0].ID != before.ID || !got[0].From.Equal(from) || got[0].Offset != rec.Offset {
		t.Fatalf("pending after Load: %+v, want %+v at offset %d", got, before, rec.Offset)
	}
	if other := st.ResetInbox(tenantB, "invoices").Pending(); len(other) != 0 {
		t.Fatalf("another tenant's inbox holds %+v", other)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- WatchTakeover(ctx, e.consumerOpts(), e.topic, st) }()

	// Applying the first: its tombstone goes with the stream's new bookmark.
	e.commit(p, append(e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: from.UnixMilli()}), got[0].DoneRecord(e.topic))...)
	in.Applied(got)
	select {
	case <-in.Ready():
		t.Fatal("the inbox is ready with nothing pending")
	default:
	}

	during, err := NewReset(tenantA, "invoices", time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec, err = during.Record(e.topic)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(admin, rec)
	select {
	case <-in.Ready():
	case err := <-watched:
		t.Fatalf("the watch ended: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the reset committed while the instance runs did not reach its inbox")
	}
	if got := in.Pending(); len(got) != 1 || got[0].ID != during.ID || !got[0].From.IsZero() {
		t.Fatalf("pending after the watch: %+v, want only %+v", got, during)
	}
	cancel()
	if err := <-watched; err != nil {
		t.Fatal(err)
	}

	// The next start finds the second pending, not the applied first.
	st = e.load(p)
	if got := st.Resets(); len(got) != 1 || got[0].ID != during.ID {
		t.Fatalf("pending at the next start: %+v, want only %s", got, during.ID)
	}
	checkBookmark(t, st, tenantA, "invoices", Bookmark{Watermark: from.UnixMilli()})
}

// TestSuperseded: an instance about to load the state again learns whether a newer instance has
// started since its own load; its own writes do not count.
func TestSuperseded(t *testing.T) {
	e := newEnv(t)
	txn := uniqueName(t, "txn")
	first := e.producer(txn)
	st := e.load(first)
	e.commit(first, e.bookmarkRecs(tenantA, "invoices", Bookmark{Watermark: 1})...)
	if newer, err := Superseded(t.Context(), e.consumerOpts(), e.topic, st, time.Minute); err != nil || newer {
		t.Fatalf("Superseded = %v, %v before any other start; want false", newer, err)
	}
	e.load(e.producer(txn)) // a newer instance starts
	if newer, err := Superseded(t.Context(), e.consumerOpts(), e.topic, st, time.Minute); err != nil || !newer {
		t.Fatalf("Superseded = %v, %v after a newer start; want true", newer, err)
	}
}
