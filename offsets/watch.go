package offsets

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WatchTakeover blocks until another instance starts on the same state topic, and then returns
// an error satisfying errors.Is(err, ErrFenced); it returns nil when ctx ends. Meanwhile it hands
// every reset committed to the topic to st's ResetInbox of its (tenant, stream).
//
// A new instance fences this one in Kafka before it writes its startup marker, but an instance
// learns it was fenced only at its next transaction, and an idle one may have none for a long
// time while it goes on calling Xero. Every start writes a startup marker, so this watches the
// state topic (read_committed) after st's own marker, and the first marker there is the
// newcomer's. consumerOpts are connection settings, as for Load.
func WatchTakeover(ctx context.Context, consumerOpts []kgo.Opt, topic string, st *State) error {
	cl, err := stateConsumer(consumerOpts, topic, kgo.NewOffset().At(st.summary.MarkerOffset+1))
	if err != nil {
		return fmt.Errorf("watch %s for a newer instance: %w", topic, err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var found *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if found != nil || r.Value == nil {
				return
			}
			if string(r.Key) == startupKey {
				found = r
				return
			}
			if rs, ok := readReset(r); ok {
				st.resetBoard().deliver(rs)
			}
		})
		if found != nil {
			return fmt.Errorf("%w (its startup marker is at %s offset %d)", ErrFenced, topic, found.Offset)
		}
	}
}

// readReset reads r as a reset, if it is a readable one.
func readReset(r *kgo.Record) (Reset, bool) {
	k, err := parseKey(r.Key)
	if err != nil || k.kind != keyReset {
		return Reset{}, false
	}
	v, err := decodeValue(r.Value)
	if err != nil || v.kind != kindReset {
		return Reset{}, false
	}
	return resetFromValue(k, v, r.Offset), true
}

// Superseded reports whether another instance has begun to start on the same state topic since
// st was loaded: a startup marker after st's own, committed or not yet (read_uncommitted: a
// newcomer produces its marker right after it fenced the older producers). It reads up to the
// end of the log as it stands, for at most wait.
//
// An instance that is about to load the state again (after a commit whose outcome it could not
// learn) asks first: loading would write a marker of its own and fence the newcomer.
func Superseded(ctx context.Context, consumerOpts []kgo.Opt, topic string, st *State, wait time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	cl, err := kgo.NewClient(append(slices.Clip(consumerOpts),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			topic: {statePartition: kgo.NewOffset().At(st.summary.MarkerOffset + 1)},
		}),
	)...)
	if err != nil {
		return false, fmt.Errorf("read %s for a newer instance: %w", topic, err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return false, fmt.Errorf("read %s for a newer instance: end offset: %w", topic, err)
	}
	end, ok := ends.Lookup(topic, statePartition)
	if !ok || end.Err != nil {
		return false, fmt.Errorf("read %s for a newer instance: end offset: %v", topic, end.Err)
	}
	// The log ends with control records (the last transaction's marker), which a consumer never
	// sees: a poll that brings nothing for a moment means the rest is such records.
	next := st.summary.MarkerOffset + 1
	for next < end.Offset {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		if err := ctx.Err(); err != nil {
			return false, fmt.Errorf("read %s for a newer instance: %w", topic, err)
		}
		found, any := false, false
		fs.EachRecord(func(r *kgo.Record) {
			any = true
			next = max(next, r.Offset+1)
			if string(r.Key) == startupKey && r.Value != nil {
				found = true
			}
		})
		if found {
			return true, nil
		}
		if !any && pctx.Err() != nil {
			break
		}
	}
	return false, nil
}
