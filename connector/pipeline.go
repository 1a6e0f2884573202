package connector

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A poller's cycle is a pipeline: it asks Xero for the next page as soon as the strategy has
// named it, builds the records of the page it holds while that call runs (poller.readAhead), and
// hands them with their bookmark to the writer, reading on while that transaction runs. So a
// stream's pages share transactions, and Xero's answers, the building of records and the
// commits' round trips overlap. Each write's bookmark
// is a change from the one before (offsets.BookmarkWriter.Append), so the writes must commit in
// order and none may commit after one has failed: they travel as one chain, which the writer
// breaks at the first failure (writer.go).
//
// Writes sent and not yet answered are bounded by pipelineRecords and by the page-memory budget:
// while the budget is used up or others wait for it, the poller waits for an answer, which
// releases the pages of the write answered, before it fetches again.
//
// At the first failure the poller stops reading, waits for every answer, keeps the committed
// prefix (p.bm is the last committed write's bookmark) and takes back the rest, the last first,
// as the strategy's undo logs and the bookmark writer allow; the next cycle starts from p.bm.

// pipelineRecords bounds the records of a poller's writes sent and not yet answered. It is twice
// what the writer holds a transaction open for (writer.holdRecords), so that while one
// transaction of a stream commits, the poller reads and builds the next one's pages instead of
// waiting for the answer. With the bound equal to the hold, a first sync of 100,000 invoices on
// a real broker (2 cores) ran at 0.82 of its speed on kfake, the poller idle through every
// produce and commit; with twice the hold, at 0.90 and 0.92 in two runs, in as many
// transactions.
const pipelineRecords = 10000

// sender is a committer that takes a request without waiting for its outcome; *writer
// implements it. A committer without it commits each write before the next page is read.
type sender interface {
	send(ctx context.Context, c *chain, recs []*kgo.Record, more bool) (<-chan error, error)
}

// flight is a write handed to the writer and not yet answered.
type flight struct {
	w    write
	done <-chan error
	// recs counts the records sent, written those to the stream's topic and dead the dead
	// letters; bytes is the page memory the write releases once answered.
	recs, written, dead int
	bytes               int64
}

// pipeline is one cycle's writes in flight, oldest first.
type pipeline struct {
	chain   chain
	flights []flight
	records int
	// failed is the first failure of a write; once set, nothing more is sent.
	failed error
}

// send builds the records of w and hands them, with the bookmark records of w.bm, to the writer;
// more says that the cycle will send another write after w. When it fails nothing is in flight
// for w, and the caller unwinds the cycle with w among the writes to take back.
func (p *poller) send(ctx context.Context, pl *pipeline, w write, more bool) error {
	recs := make([]*kgo.Record, 0, len(w.items)+len(w.tombstones)+1)
	for _, it := range w.items {
		rec, err := p.emit(it)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	for _, id := range w.tombstones {
		rec, err := p.build.tombstone(id)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	// Records written to the stream's topic (data and tombstones), not the dead letters. The
	// counters move once a write, not once a record: a labelled counter's lookup hashes its
	// labels.
	written := 0
	for _, r := range recs {
		if r.Topic == p.build.topic {
			written++
		}
	}
	if n := written - len(w.tombstones); n > 0 {
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "written").Add(float64(n))
	}
	if len(w.tombstones) > 0 {
		p.metrics.records.WithLabelValues(p.tenant, p.stream.Name, "tombstone").Add(float64(len(w.tombstones)))
	}
	p.openWriter()
	state, err := p.bw.Append(w.bm, w.touched())
	if err != nil {
		return fmt.Errorf("encode bookmark: %w", err)
	}
	f := flight{w: w, written: written, dead: len(recs) - written, bytes: p.unsent}
	recs = append(recs, state...)
	// The writer may hold this write's transaction for the next one only while the poller will
	// read on without waiting for an answer (room): a full pipeline or page-memory budget waits
	// for this transaction.
	more = more && pl.records+len(recs) < pipelineRecords && !p.mem.crowded()
	if s, ok := p.out.(sender); ok {
		f.done, err = s.send(ctx, &pl.chain, recs, more)
	} else {
		done := make(chan error, 1)
		done <- p.out.commit(ctx, recs)
		f.done = done
	}
	if err != nil {
		return err // the caller takes w back with the writes in flight
	}
	p.unsent = 0
	f.recs = len(recs)
	pl.flights = append(pl.flights, f)
	pl.records += f.recs
	return nil
}

// room waits for answers until the pipeline has room for another page: it takes the answers
// already there, then waits for the oldest while the writes in flight reach pipelineRecords or
// the page-memory budget is used up. It returns the first failure.
func (p *poller) room(pl *pipeline) error {
	for len(pl.flights) > 0 && pl.failed == nil {
		select {
		case err := <-pl.flights[0].done:
			p.answered(pl, err)
			continue
		default:
		}
		if pl.records < pipelineRecords && !p.mem.crowded() {
			break
		}
		p.answered(pl, <-pl.flights[0].done)
	}
	return pl.failed
}

// answered takes the answer err of the oldest write in flight: a commit moves the committed
// bookmark to the write's; the first failure stops the pipeline.
func (p *poller) answered(pl *pipeline, err error) {
	if err != nil {
		// This write and the ones after it are taken back by finish.
		pl.failed = err
		return
	}
	f := pl.flights[0]
	pl.flights[0] = flight{}
	pl.flights = pl.flights[1:]
	pl.records -= f.recs
	p.bw.Committed()
	p.bm = f.w.bm
	p.status.committed(f.w.bm, f.written)
	p.releasePages(f.bytes)
	p.log.Debug("committed", "records", f.written, "dead_letters", f.dead, "watermark", f.w.bm.Watermark,
		"window", len(f.w.bm.Window), "traversals", len(f.w.bm.Verify), "hashes", len(f.w.bm.Hashes))
}

// finish ends a cycle: it waits for every answer and returns the cycle's error, err (nil when
// the cycle read everything) or the first failed write's. After a failure, the writes from the
// first failed one on, and unsent (the writes of the last step not yet sent), are taken back.
func (p *poller) finish(st strategy, pl *pipeline, unsent []write, err error) error {
	for len(pl.flights) > 0 && pl.failed == nil {
		p.answered(pl, <-pl.flights[0].done)
	}
	if pl.failed == nil && err == nil {
		return nil
	}
	failed := make([]write, 0, len(pl.flights)+len(unsent))
	var late error
	for i, f := range pl.flights {
		failed = append(failed, f.w)
		a := pl.failed
		if i > 0 {
			a = <-f.done
		}
		if a == nil && late == nil {
			// A write committed after an earlier one of its chain failed: its bookmark was a
			// change from one never committed. The writer never lets that happen; if it did,
			// only the state topic could tell what the bookmark is.
			late = fmt.Errorf("%w: a transaction of %s committed after an earlier one of the stream failed", errOutcomeUnknown, p.stream.Name)
		}
	}
	pl.flights = nil
	failed = append(failed, unsent...)
	if p.bw != nil {
		p.bw.Failed()
	}
	abandon(st, &p.deadSeen, failed, 0)
	switch {
	case late != nil:
		return late
	case pl.failed != nil:
		return pl.failed
	}
	return err
}

// crowded reports whether the budget is used up or others wait for it: a poller with writes in
// flight then waits for their answers, which release its pages, before it reads more.
func (b *pageBudget) crowded() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used >= b.limit || b.waiters.Len() > 0
}

// releasePages gives back n bytes of the poller's reservation: the pages of a committed write.
// The reservation is released whole once it holds nothing, so that the next page waits its turn.
func (p *poller) releasePages(n int64) {
	if p.lease == nil {
		return
	}
	p.leaseBase -= n
	if p.leaseBase <= 0 {
		p.dropPages()
		return
	}
	p.lease.resize(p.leaseBase)
}
