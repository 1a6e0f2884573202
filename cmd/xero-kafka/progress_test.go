package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/xero-kafka/xero-kafka/connector"
)

func at(t time.Time) *time.Time { return &t }

// TestProgressRows: a stream in its first sync reports its records, its rate since the last
// report and, from Xero's page count, the time left; a stream that caught up once reports
// nothing.
func TestProgressRows(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	p := newProgress(t0)
	status := func(records int64, pages, left int) connector.Status {
		return connector.Status{Tenants: []connector.TenantStatus{{
			TenantID: "3f2a0c1e-aaaa-bbbb-cccc-000000000001",
			Streams: []connector.StreamStatus{
				{Stream: "invoices", RecordsWritten: records, Pages: pages, PagesLeft: left, CycleStarted: at(t0)},
				{Stream: "journals", RecordsWritten: 50, PagesLeft: -1, CycleStarted: at(t0), Pages: 1},
				{Stream: "currencies", RecordsWritten: 4, LastSuccess: at(t0)},
			},
		}}}
	}
	rows, done := p.rows(status(3000, 3, 97), t0.Add(30*time.Second))
	if done || len(rows) != 2 {
		t.Fatalf("rows %+v, done %v; want invoices and journals", rows, done)
	}
	inv := rows[0]
	// 3 pages in 30 s: 10 s a page, 97 pages left.
	if inv.stream != "invoices" || inv.records != 3000 || inv.perSecond != 100 || inv.timeLeft != 970*time.Second {
		t.Errorf("invoices: %+v", inv)
	}
	if j := rows[1]; j.pagesLeft != -1 || j.timeLeft != 0 {
		t.Errorf("journals (no page count): %+v", j)
	}
	rows, _ = p.rows(status(6000, 6, 94), t0.Add(60*time.Second))
	if rows[0].perSecond != 100 {
		t.Errorf("rate since the last report %v, want 100", rows[0].perSecond)
	}
	table := progressTable(rows, false, time.Minute)
	for _, want := range []string{"first sync, 1m0s: 2 streams to go", "3f2a0c1e", "invoices", "6000", "94", "15m40s"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	all := status(6000, 6, 0)
	for i := range all.Tenants[0].Streams {
		all.Tenants[0].Streams[i].LastSuccess = at(t0)
	}
	if rows, done := p.rows(all, t0.Add(90*time.Second)); !done || len(rows) != 0 {
		t.Errorf("all caught up: rows %+v, done %v", rows, done)
	}
}

// TestLogProgress: one line per stream in its first sync every 30 s, then one line when all
// caught up, then nothing.
func TestLogProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		start := time.Now()
		status := func() connector.Status {
			s := connector.StreamStatus{Stream: "invoices", RecordsWritten: 1500, Pages: 1, PagesLeft: 4, CycleStarted: at(start)}
			if time.Since(start) > 40*time.Second {
				s.LastSuccess = at(start)
			}
			return connector.Status{Tenants: []connector.TenantStatus{{TenantID: "t1", Streams: []connector.StreamStatus{s}}}}
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan struct{})
		go func() { logProgress(ctx, status, log); close(done) }()
		time.Sleep(10 * time.Minute)
		<-done
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 lines, got:\n%s", buf.String())
		}
		for _, want := range []string{"msg=\"first sync\"", "stream=invoices", "records=1500", "records_per_s=50", "pages_left=4", "time_left=2m0s"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("line %q lacks %s", lines[0], want)
			}
		}
		if !strings.Contains(lines[1], "first sync done") {
			t.Errorf("last line %q", lines[1])
		}
	})
}

// TestProgressTableBounded: with many streams in their first sync, the table shows those with
// the most pages left and counts the others.
func TestProgressTableBounded(t *testing.T) {
	var rows []progressRow
	for i := range 50 {
		rows = append(rows, progressRow{tenant: fmt.Sprintf("t%02d", i), stream: "invoices", pagesLeft: i})
	}
	table := progressTable(rows, false, time.Minute)
	if n := strings.Count(table, "\n"); n != 2+progressRows+1 {
		t.Errorf("table of 50 streams has %d lines, want %d:\n%s", n, 2+progressRows+1, table)
	}
	if !strings.Contains(table, "50 streams to go") || !strings.Contains(table, "and 30 more") {
		t.Errorf("table does not count every stream:\n%s", table)
	}
	if !strings.Contains(table, "t49") || strings.Contains(table, "t29 ") {
		t.Errorf("table does not show the streams with the most pages left:\n%s", table)
	}
}
