package offsets

import (
	"context"
	"fmt"

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
				st.ResetInbox(rs.Tenant, rs.Stream).add(rs)
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
