package connector

import (
	"context"
	"fmt"
	"time"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// applyResets adopts the operator's latest pending reset of the stream, if any (`xero-kafka
// state reset`): it commits the stream's new bookmark together with the tombstones that mark the
// pending resets done, in one transaction, and takes the bookmark as its own. The records already
// written stay; the stream's next cycle reads again from the new bookmark, which is never later
// than the committed one, so nothing is skipped.
func (p *poller) applyResets(ctx context.Context) error {
	pending := p.resets.Pending()
	if len(pending) == 0 {
		return nil
	}
	r := pending[len(pending)-1]
	p.openWriter()
	next := resetBookmark(p.stream, p.bm, r.From, p.fixed.startMS)
	recs, err := p.bw.Records(next, nil)
	if err != nil {
		return fmt.Errorf("apply reset %s: encode bookmark: %w", r.ID, err)
	}
	for _, done := range pending {
		recs = append(recs, done.DoneRecord(p.fixed.stateTopic))
	}
	if err := p.out.commit(ctx, recs); err != nil {
		return fmt.Errorf("apply reset %s: %w", r.ID, err)
	}
	p.bw.Committed()
	p.resets.Applied(pending)
	p.bm = next
	p.status.committed(next, 0)
	from := "the start"
	if !r.From.IsZero() {
		from = r.From.Format(time.RFC3339)
	}
	p.log.Info("stream reset by the operator: reading it again", "from", from, "reset", r.ID, "asked_at", r.At)
	return nil
}

// resetBookmark returns the bookmark from which a stream is read again after a reset to from
// (zero: from the start). A keyset stream goes back to from (not before startMS, the start date,
// when set), or to where its committed bookmark or a traversal still to be checked starts, if that
// is earlier: a reset never moves a stream forward. Any other stream starts over: journals from
// the first number, scanned streams with no fingerprints, so every record is written again.
func resetBookmark(s *streams.Stream, cur offsets.Bookmark, from time.Time, startMS int64) offsets.Bookmark {
	if s.Sync != streams.Keyset {
		return offsets.Bookmark{}
	}
	w := int64(0)
	if !from.IsZero() {
		w = from.UnixMilli()
	}
	if startMS != 0 && w < startMS {
		w = startMS
	}
	w = min(w, cur.Watermark)
	for _, v := range cur.Verify {
		w = min(w, v.From)
	}
	return offsets.Bookmark{Watermark: w}
}

// checkStoredToken stops the start when the stored refresh token cannot be opened with the state
// key and the environment gives no new token to replace it; when it does, the new token seeds a
// new chain, which replaces the unreadable record at the first refresh.
func (c *Connector) checkStoredToken(st *offsets.State) error {
	if err := st.CheckSeed(c.cfg.RefreshToken); err != nil {
		return fmt.Errorf("load state from %s: %w (give the XERO_STATE_KEY that wrote it, or a new XERO_REFRESH_TOKEN; "+
			"'xero-kafka state remove-unreadable' removes the record)", c.cfg.StateTopic, err)
	}
	if err := st.TokenError(); err != nil {
		c.log.Warn("refresh token: the stored token cannot be read with XERO_STATE_KEY; XERO_REFRESH_TOKEN is a new token: it seeds a new chain, which replaces the stored one", "err", err)
	}
	return nil
}

// startMSOf is XERO_START_DATE in unix ms, 0 when unset.
func startMSOf(start time.Time) int64 {
	if start.IsZero() {
		return 0
	}
	return start.UnixMilli()
}
