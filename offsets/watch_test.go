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
