package connector

import (
	"fmt"
	"strconv"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// offsetSync reads an append-only stream by number: each call returns up to 100 records numbered
// above the offset, and the offset (the bookmark's watermark) becomes the largest number written.
type offsetSync struct {
	stream *streams.Stream
	// bm is the working bookmark.
	bm   offsets.Bookmark
	dead *hashSet
}

func (o *offsetSync) first() read { return o.read() }

// rollback has nothing to do: an offset bookmark holds no map.
func (o *offsetSync) rollback() {}

func (o *offsetSync) read() read {
	q := o.stream.Query()
	q.Set("offset", strconv.FormatInt(o.bm.Watermark, 10))
	return read{query: q}
}

func (o *offsetSync) take(f fetched) (step, error) {
	var st step
	next := o.bm
	var out []item
	for _, it := range f.items {
		switch {
		case it.bad == nil && it.meta.pos <= o.bm.Watermark:
			continue // at or below the offset: already written
		case it.bad != nil && !keepBad(o.dead, it):
		default:
			out = append(out, it)
		}
		next.Watermark = max(next.Watermark, it.meta.pos)
	}
	if len(out) > 0 {
		st.writes = append(st.writes, write{items: out, bm: next})
		o.bm = next
	}
	if f.last {
		return st, nil
	}
	if len(out) == 0 && next.Watermark == o.bm.Watermark {
		return step{}, &stallError{reason: fmt.Sprintf("offset %d: a full page with nothing above the offset", o.bm.Watermark)}
	}
	r := o.read()
	st.next = &r
	return st, nil
}
