package xerosim

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestPrerenderedAsRendered: a simulator that rendered its records at start sends, call for
// call, the records that one rendering them for each call sends. It copies the stored bytes
// where a call asks for the parameters they were rendered with, and only there, and a change to
// the data drops them.
func TestPrerenderedAsRendered(t *testing.T) {
	at := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at } // both simulators stamp their changes alike
	opts := []Option{Fast(), Seed(7), Tenants(2), ServeEmployees(), AsRecorded(0.3), Clock(clock), StartTime(at),
		Volume("invoices", 1500), Volume("contacts", 700), Volume("payments", 200)}
	plain := newSim(t, opts...)
	pre := newSim(t, append(opts, Prerendered())...)
	cp, cq := newClient(t, plain), newClient(t, pre)

	// every pages each stream of each tenant with the query extra and returns how many records
	// came; the two simulators must send the same.
	every := func(extra string) int {
		t.Helper()
		n := 0
		for ti, ten := range plain.Tenants() {
			for _, name := range StreamNames() {
				// get compares one call's records and reports whether it was a full page.
				get := func(q string) bool {
					a := cp.getList(ten, name, q, nil).Raw
					b := cq.getList(pre.Tenants()[ti], name, q, nil).Raw
					if len(a) != len(b) {
						t.Fatalf("%s ?%s: %d records rendered, %d prerendered", name, q, len(a), len(b))
					}
					for k := range a {
						if !bytes.Equal(a[k], b[k]) {
							t.Fatalf("%s ?%s record %d:\nrendered    %s\nprerendered %s", name, q, k, a[k], b[k])
						}
					}
					n += len(a)
					return len(a) == 100 || len(a) == 1000
				}
				switch defsByName[name].paging {
				case pagingPageSize, pagingPageOnly:
					for page := 1; ; page++ {
						if !get(fmt.Sprintf("page=%d&pageSize=1000%s", page, extra)) {
							break
						}
					}
				case pagingOffset:
					for off := 0; ; off += 100 {
						if !get(fmt.Sprintf("offset=%d", off)) {
							break
						}
					}
				default:
					get(extra[min(1, len(extra)):])
				}
			}
		}
		return n
	}
	copied := func() int { return pre.Stats().Prerendered }

	// The parameters a connector sends: every record is copied.
	if n := every("&unitdp=4&includeArchived=true&includeDeleted=true"); n < 5000 || copied() != n {
		t.Fatalf("%d records sent, %d of them copied: want every one", n, copied())
	}
	// Amounts to two places: the documents are rendered again; the rest is copied.
	before := copied()
	n := every("&includeArchived=true&includeDeleted=true")
	if got := copied() - before; got == 0 || got >= n {
		t.Fatalf("%d records sent without unitdp, %d of them copied: want those of the endpoints without unitdp only", n, got)
	}
	// A change: nothing is copied any more, and the records still match.
	plain.Mutate(200)
	pre.Mutate(200)
	before = copied()
	every("&unitdp=4&includeArchived=true&includeDeleted=true")
	if got := copied() - before; got != 0 {
		t.Fatalf("%d records copied after a change, want none", got)
	}
}
