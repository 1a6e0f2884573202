package connector

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// scanFlush is how many records a multi-page scan gathers before it commits them with its
// progress: fewer, larger transactions, since each carries the whole fingerprint map.
const scanFlush = 2000

// scanCycle reads the whole stream and writes what differs from the last scan: records whose
// content changed (their fingerprint in the bookmark differs) and a tombstone for each record
// that is gone.
//
// A scan of an unpaged endpoint is one consistent answer, so a record missing from it is gone. A
// multi-page scan can miss a record that shifted across a page boundary while it ran, so each
// record it did not see is looked up by its id before it is declared deleted.
func (p *poller) scanCycle(ctx context.Context) error {
	next := cloneBookmark(p.bm)
	if next.Hashes == nil {
		next.Hashes = make(map[string]uint64)
	}
	seen := make(map[string]struct{}, len(next.Hashes))
	var out []*kgo.Record
	multiPage := false
	changed := false
	for page := 1; ; page++ {
		f, err := p.fetch(ctx, p.stream.Query(), page, 0)
		if err != nil {
			return err
		}
		now := p.now()
		for _, it := range f.items {
			if it.bad == nil {
				seen[it.meta.id] = struct{}{}
				if h, ok := next.Hashes[it.meta.id]; ok && h == it.meta.hash {
					continue
				}
				next.Hashes[it.meta.id] = it.meta.hash
				changed = true
			}
			if out, err = p.emit(out, it, now); err != nil {
				return err
			}
		}
		if f.last {
			break
		}
		multiPage = true
		if len(out) >= scanFlush {
			if err := p.commit(ctx, out, next); err != nil {
				return err
			}
			next, out = cloneBookmark(p.bm), nil
		}
	}

	for id := range next.Hashes {
		if _, ok := seen[id]; ok {
			continue
		}
		if multiPage && p.stream.FilterParam != "" {
			found, err := p.lookup(ctx, id)
			if err != nil {
				return err
			}
			if found != nil {
				if found.meta.hash != next.Hashes[id] {
					next.Hashes[id] = found.meta.hash
					changed = true
					if out, err = p.emit(out, *found, p.now()); err != nil {
						return err
					}
				}
				continue
			}
		}
		rec, err := p.build.tombstone(id)
		if err != nil {
			return err
		}
		out = append(out, rec)
		delete(next.Hashes, id)
		changed = true
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "tombstone").Inc()
	}
	if !changed && len(out) == 0 {
		return nil
	}
	return p.commit(ctx, out, next)
}

// lookup reads one record by its primary key, or nil when Xero no longer has it.
func (p *poller) lookup(ctx context.Context, id string) (*item, error) {
	q := p.stream.Query()
	q.Set(p.stream.FilterParam, id)
	f, err := p.fetch(ctx, q, 1, 0)
	if err != nil {
		return nil, fmt.Errorf("look up %s %s: %w", p.stream.PrimaryKey, id, err)
	}
	for _, it := range f.items {
		if it.bad == nil && it.meta.id == id {
			return &it, nil
		}
	}
	return nil, nil
}
