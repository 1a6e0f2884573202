package connector

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// TestPackWindow: a packed window unpacks to the same ids and values; an empty one, one too
// large and one with an id too long are not packed.
func TestPackWindow(t *testing.T) {
	big := map[string]int64{}
	for i := range packWindowMax + 1 {
		big[fmt.Sprintf("id-%03d", i)] = int64(i)
	}
	upTo := maps.Clone(big)
	delete(upTo, "id-000")
	for name, w := range map[string]map[string]int64{
		"one":     {"a": 1},
		"uuids":   {"00000000-0000-4000-8000-000000000001": 1700000000000, "00000000-0000-4000-8000-000000000000": -5, "x": 0},
		"longest": {strings.Repeat("i", 255): 1<<62 + 3},
		"most":    upTo,
	} {
		pw, ok := packWindow(w)
		if !ok {
			t.Fatalf("%s: not packed", name)
		}
		if pw.len() != len(w) {
			t.Errorf("%s: %d ids packed, want %d", name, pw.len(), len(w))
		}
		if got := pw.unpack(); !maps.Equal(got, w) {
			t.Errorf("%s: unpacked %v, want %v", name, got, w)
		}
	}
	for name, w := range map[string]map[string]int64{
		"nil":      nil,
		"empty":    {},
		"too many": big,
		"too long": {strings.Repeat("i", 256): 1},
	} {
		if _, ok := packWindow(w); ok {
			t.Errorf("%s: packed", name)
		}
	}
	if packedWindow("").unpack() != nil {
		t.Error("no window unpacks to a map")
	}
}

// TestPackedWindowDropsRereads: a stream whose window was packed between its turns still drops
// the records of the window that the next turn reads again.
func TestPackedWindowDropsRereads(t *testing.T) {
	c, _ := footprintConnector(t)
	s, _ := streams.ByName("invoices")
	b := &streamBuilder{stream: &s, topic: "xero.invoices", deadTopic: "xero.dead_letters", enc: rawEncoder{}}
	var page fixedPage
	for i := range 3 {
		page = append(page, fmt.Sprintf(`{"InvoiceID":"%08d-0000-4000-8000-000000000000","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`, i))
	}
	written := 0
	out := committerFunc(func(_ context.Context, recs []*kgo.Record) error {
		for _, r := range recs {
			if r.Topic == "xero.invoices" {
				written++
			}
		}
		return nil
	})
	p := c.newPoller("00000000-0000-4000-8000-000000000000", "invoices", page, nil, b, &offsets.State{}, c.plan("plan").stream("invoices"))
	p.out = out
	tk := &task{p: p}
	for turn := range 2 {
		if o := tk.step(t.Context()); o.err != nil || o.stopped {
			t.Fatalf("turn %d: %+v", turn, o)
		}
		if p.bm.Window != nil || p.window.len() != len(page) {
			t.Fatalf("turn %d: window not packed between turns: map %v, %d ids packed", turn, p.bm.Window, p.window.len())
		}
	}
	if written != len(page) {
		t.Errorf("%d records written over two turns reading the same page, want %d", written, len(page))
	}
}
