package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

// progressEvery is the pause between two progress lines of a stream in its first sync.
const progressEvery = 30 * time.Second

// progressRows bounds the streams logged or drawn at each report: with many organisations, the
// ones with the most pages left, and a count of the others.
const progressRows = 20

// progressRow is where one (tenant, stream) stands in its first sync.
type progressRow struct {
	tenant, stream string
	records        int64
	// perSecond is the rate since the previous report (since the start, for the first).
	perSecond float64
	// pagesLeft is -1 when Xero gives no page count; timeLeft is 0 when it cannot be estimated.
	pagesLeft int
	timeLeft  time.Duration
}

// syncProgress turns successive connector statuses into per-stream progress of the first sync:
// the streams that have not caught up once yet.
type syncProgress struct {
	start time.Time
	last  time.Time
	prev  map[[2]string]int64
}

func newProgress(now time.Time) *syncProgress {
	return &syncProgress{start: now, last: now, prev: map[[2]string]int64{}}
}

// rows returns the streams still in their first sync, as of now, and whether every stream has
// caught up at least once.
func (p *syncProgress) rows(st connector.Status, now time.Time) (rows []progressRow, done bool) {
	elapsed := now.Sub(p.last).Seconds()
	done = len(st.Tenants) > 0
	for _, t := range st.Tenants {
		for _, s := range t.Streams {
			if s.LastSuccess != nil {
				continue
			}
			done = false
			key := [2]string{t.TenantID, s.Stream}
			r := progressRow{tenant: t.TenantID, stream: s.Stream, records: s.RecordsWritten, pagesLeft: s.PagesLeft}
			if elapsed > 0 {
				r.perSecond = float64(s.RecordsWritten-p.prev[key]) / elapsed
			}
			p.prev[key] = s.RecordsWritten
			if s.PagesLeft > 0 && s.Pages > 0 && s.CycleStarted != nil {
				perPage := now.Sub(*s.CycleStarted) / time.Duration(s.Pages)
				r.timeLeft = perPage * time.Duration(s.PagesLeft)
			}
			rows = append(rows, r)
		}
	}
	p.last = now
	return rows, done
}

// logProgress logs one line per stream in its first sync every progressEvery, until every
// stream has caught up once or ctx ends. Once caught up, a connector logs no progress.
func logProgress(ctx context.Context, status func() connector.Status, log *slog.Logger) {
	p := newProgress(time.Now())
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rows, done := p.rows(status(), now)
			if len(rows) > progressRows {
				log.Info("first sync", "streams_to_go", len(rows), "shown", progressRows)
			}
			for _, r := range largestFirst(rows) {
				attrs := []any{"tenant", r.tenant, "stream", r.stream, "records", r.records,
					"records_per_s", fmt.Sprintf("%.0f", r.perSecond)}
				if r.pagesLeft >= 0 {
					attrs = append(attrs, "pages_left", r.pagesLeft)
				}
				if r.timeLeft > 0 {
					attrs = append(attrs, "time_left", r.timeLeft.Round(time.Second).String())
				}
				log.Info("first sync", attrs...)
			}
			if done {
				log.Info("first sync done: every stream has caught up", "after", now.Sub(p.start).Round(time.Second).String())
				return
			}
		}
	}
}

// tableProgress redraws a table of the streams in their first sync on a terminal every
// second, until every stream has caught up once or ctx ends.
func tableProgress(ctx context.Context, status func() connector.Status, w io.Writer) {
	p := newProgress(time.Now())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	drawn := 0
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rows, done := p.rows(status(), now)
			var b strings.Builder
			if drawn > 0 {
				fmt.Fprintf(&b, "\033[%dA\033[J", drawn) // back to the table's first line, and clear
			}
			table := progressTable(rows, done, now.Sub(p.start))
			b.WriteString(table)
			_, _ = io.WriteString(w, b.String())
			drawn = strings.Count(table, "\n")
			if done {
				return
			}
		}
	}
}

// progressTable formats rows like the demo's summary.
func progressTable(rows []progressRow, done bool, elapsed time.Duration) string {
	var b strings.Builder
	if done {
		fmt.Fprintf(&b, "first sync done in %s\n", elapsed.Round(time.Second))
		return b.String()
	}
	fmt.Fprintf(&b, "first sync, %s: %d streams to go\n", elapsed.Round(time.Second), len(rows))
	more := len(rows) - progressRows
	rows = largestFirst(rows)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "tenant\tstream\trecords\trecords/s\tpages left\ttime left\t\n")
	for _, r := range rows {
		pages, left := "?", "?"
		if r.pagesLeft >= 0 {
			pages = fmt.Sprint(r.pagesLeft)
		}
		if r.timeLeft > 0 {
			left = r.timeLeft.Round(time.Second).String()
		}
		tenant := r.tenant
		if len(tenant) > 8 {
			tenant = tenant[:8]
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t\n", tenant, r.stream, r.records, r.perSecond, pages, left)
	}
	_ = tw.Flush()
	if more > 0 {
		fmt.Fprintf(&b, "and %d more\n", more)
	}
	return b.String()
}

// largestFirst returns at most progressRows of rows: those with the most pages left (unknown
// counts last), then the most records, in a stable order.
func largestFirst(rows []progressRow) []progressRow {
	if len(rows) <= progressRows {
		return rows
	}
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b progressRow) int {
		return cmp.Or(cmp.Compare(b.pagesLeft, a.pagesLeft), cmp.Compare(b.records, a.records))
	})
	return rows[:progressRows]
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
