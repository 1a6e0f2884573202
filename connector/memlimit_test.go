package connector

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestMemoryLimit: the derived limit grows with the streams and the page memory; a configured
// one is used as it is; none when turned off or when the page memory is unbounded.
func TestMemoryLimit(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.MemoryLimit != 0 {
		t.Fatalf("the default MemoryLimit is %d, want 0 (derived)", cfg.MemoryLimit)
	}
	const mib = 1 << 20
	// 1,000 organisations of 26 streams, 16 MiB of pages: 32 MiB + 26,000 × 2 KiB + 4 × 16 MiB.
	if got, want := memoryLimit(cfg, 26000), int64(32*mib+26000*2048+64*mib); got != want {
		t.Errorf("derived limit for 26,000 streams: %d MiB, want %d MiB", got/mib, want/mib)
	}
	if small, large := memoryLimit(cfg, 26), memoryLimit(cfg, 26000); small >= large || small < 96*mib {
		t.Errorf("26 streams: %d MiB, 26,000: %d MiB", small/mib, large/mib)
	}
	more := cfg
	more.PageMemoryLimit = 64 * mib
	if memoryLimit(more, 26) <= memoryLimit(cfg, 26) {
		t.Errorf("more page memory does not raise the limit")
	}
	set := cfg
	set.MemoryLimit = 300 * mib
	if got := memoryLimit(set, 26000); got != 300*mib {
		t.Errorf("configured 300 MiB, got %d MiB", got/mib)
	}
	off := cfg
	off.MemoryLimit = -1
	if got := memoryLimit(off, 26000); got != 0 {
		t.Errorf("turned off, got %d", got)
	}
	unbounded := cfg
	unbounded.PageMemoryLimit = -1
	if got := memoryLimit(unbounded, 26000); got != 0 {
		t.Errorf("unbounded page memory, got %d", got)
	}
}

// TestParseMemoryLimit: auto derives, 0 is none, a number is MiB, anything else is refused.
func TestParseMemoryLimit(t *testing.T) {
	for v, want := range map[string]int64{"auto": 0, "0": -1, "200": 200 << 20} {
		if got, err := ParseMemoryLimit(v); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", v, got, err, want)
		}
	}
	for _, v := range []string{"", "-1", "lots", "200MiB", "1e3"} {
		if _, err := ParseMemoryLimit(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

// TestHeapFloor: the limit given to the runtime never leaves the collector less than half the
// live heap to allocate before it runs again.
func TestHeapFloor(t *testing.T) {
	const mib = 1 << 20
	if got := heapFloor(100*mib, memoryUse{live: 40 * mib, other: 10 * mib}); got != 100*mib {
		t.Errorf("live 40 MiB under a 100 MiB limit: %d MiB given", got/mib)
	}
	if got := heapFloor(100*mib, memoryUse{live: 80 * mib, other: 10 * mib}); got != 130*mib {
		t.Errorf("live 80 MiB under a 100 MiB limit: %d MiB given, want 130", got/mib)
	}
}

// TestHoldMemoryLimit: the runtime gets the limit at once, a higher one while the live heap
// needs it, the limit again once that has passed, and nothing after ctx ends.
func TestHoldMemoryLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const mib = 1 << 20
		var (
			mu   sync.Mutex
			live int64 = 10 * mib
			got  []int64
		)
		setLive := func(v int64) {
			mu.Lock()
			defer mu.Unlock()
			live = v
		}
		read := func() memoryUse {
			mu.Lock()
			defer mu.Unlock()
			return memoryUse{live: live}
		}
		set := func(v int64) int64 {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, v)
			return 0
		}
		given := func() []int64 {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(got)
		}
		var limit atomic.Int64
		limit.Store(100 * mib)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			holdMemoryLimit(ctx, set, limit.Load, read, time.Second)
			close(done)
		}()
		synctest.Wait()
		if g := given(); !slices.Equal(g, []int64{100 * mib}) {
			t.Fatalf("at start: %v", g)
		}
		time.Sleep(5 * time.Second) // nothing changed: nothing given again
		setLive(90 * mib)
		time.Sleep(time.Second)
		synctest.Wait()
		if g := given(); !slices.Equal(g, []int64{100 * mib, 135 * mib}) {
			t.Fatalf("live 90 MiB: %v", g)
		}
		setLive(20 * mib)
		time.Sleep(time.Second)
		synctest.Wait()
		if g := given(); !slices.Equal(g, []int64{100 * mib, 135 * mib, 100 * mib}) {
			t.Fatalf("live back to 20 MiB: %v", g)
		}
		limit.Store(120 * mib) // the organisations are known: more streams than the state held
		time.Sleep(time.Second)
		synctest.Wait()
		if g := given(); !slices.Equal(g, []int64{100 * mib, 135 * mib, 100 * mib, 120 * mib}) {
			t.Fatalf("limit changed to 120 MiB: %v", g)
		}
		limit.Store(0) // none: the runtime's default again
		time.Sleep(time.Second)
		synctest.Wait()
		if g := given(); !slices.Equal(g, []int64{100 * mib, 135 * mib, 100 * mib, 120 * mib, math.MaxInt64}) {
			t.Fatalf("limit turned off: %v", g)
		}
		cancel()
		<-done
		limit.Store(200 * mib)
		time.Sleep(2 * time.Second)
		if g := given(); len(g) != 5 {
			t.Errorf("given after ctx ended: %v", g)
		}
	})
	// Without a way to set it nothing runs; with no limit, the runtime's is left alone.
	none := func() int64 { return 0 }
	holdMemoryLimit(t.Context(), nil, none, func() memoryUse { return memoryUse{} }, time.Second)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	holdMemoryLimit(ctx, func(int64) int64 { t.Error("set with no limit"); return 0 }, none, func() memoryUse { return memoryUse{} }, time.Millisecond)
}
