package xerosim

import (
	"slices"
	"testing"
)

// TestBatchKeepsLogOrder checks that changes appended in a batch end in the same log order,
// positions and flags as the same changes appended one by one.
func TestBatchKeepsLogOrder(t *testing.T) {
	def := defsByName["invoices"]
	build := func() *table {
		return newTable(def, 42, 200, 1_000, 1_000_000, func(i int) uint8 { return uint8(i % len(def.statuses)) })
	}
	apply := func(tb *table) {
		const now = 2_000_000
		for i := 0; i < 200; i += 3 { // edits, some hidden
			tb.touch(i, now)
		}
		for k := 0; k < 500; k++ {
			tb.create(now, uint8(k%len(def.statuses)))
		}
		tb.touch(7, now) // a record changed twice in the batch: the second version goes a ms later
	}
	one, batch := build(), build()
	apply(one)
	batch.beginBatch()
	apply(batch)
	batch.endBatch()

	if !slices.Equal(one.ord, batch.ord) || !slices.Equal(one.ordTS, batch.ordTS) || !slices.Equal(one.pos, batch.pos) {
		t.Fatal("a batch left a different log order than one change at a time")
	}
	if !slices.Equal(one.logAll.flags, batch.logAll.flags) || !slices.Equal(one.logVis.flags, batch.logVis.flags) {
		t.Fatal("a batch left different log flags than one change at a time")
	}
	for k := 1; k <= batch.logAll.total; k++ {
		if one.logAll.find(k-1) != batch.logAll.find(k-1) {
			t.Fatalf("the %d-th current entry differs", k)
		}
	}
}

// BenchmarkBurst measures a bulk import of 100,000 new invoices sharing one instant.
func BenchmarkBurst(b *testing.B) {
	for b.Loop() {
		s := NewSim(Seed(1), Tenants(1), Volume("invoices", 0))
		s.Burst(s.Tenants()[0], "invoices", 100_000)
		s.Close()
	}
}
