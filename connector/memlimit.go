package connector

import (
	"context"
	"math"
	rtmetrics "runtime/metrics"
	"time"
)

// The parts of the derived memory limit (MEMORY_LIMIT_MIB unset): what the process holds
// whatever it syncs (the runtime, the Kafka client, the schemas' plans, the workers' stacks),
// what each (organisation, stream) holds between its cycles (poller, status, plan share and a
// small bookmark: 1.1 KiB measured, TestSyncedStreamFootprint; limitPerStream counts 2 KiB,
// leaving room for bookmarks of more ids), and the traffic: four times the pages
// PAGE_MEMORY_MIB bounds, for the pages, the records built from them, the batches being
// produced and the garbage they leave (about six times the pages at their peak, which
// heapFloor makes room for). With the pages counted once instead, a backfill of one
// organisation collected three times as often, for about a sixth more CPU (README, Many organisations).
const (
	limitBase      = 32 << 20
	limitPerStream = 2048
	limitPerPage   = 4
)

// memoryLimit returns the soft memory limit of a connector syncing streams (organisation,
// stream) pairs: cfg.MemoryLimit when configured, or derived from the streams and
// PAGE_MEMORY_MIB; 0 when there is none (turned off, or unbounded page memory, which leaves
// nothing to derive it from).
func memoryLimit(cfg Config, streams int) int64 {
	switch {
	case cfg.MemoryLimit > 0:
		return cfg.MemoryLimit
	case cfg.MemoryLimit < 0 || cfg.PageMemoryLimit < 0:
		return 0
	}
	return limitBase + int64(streams)*limitPerStream + limitPerPage*cfg.PageMemoryLimit
}

// heapFloor returns the limit to give the runtime: limit, unless what is live needs more. The
// collector then lets the heap grow by at least half of what is live (and what the runtime
// holds besides the heap) before it collects again, as with GOGC=50: a limit below the live
// heap would otherwise make it collect back to back.
func heapFloor(limit int64, u memoryUse) int64 {
	return max(limit, u.live+u.live/2+u.other)
}

// memoryUse is what the runtime reports of the process's memory.
type memoryUse struct {
	// live is the heap that the last collection found reachable; other is what the runtime
	// holds besides the heap's objects and the pages it could return to the system (the
	// unused space of its spans, goroutine stacks, its own structures), which the memory
	// limit counts too.
	live, other int64
}

// runtimeMemory reads memoryUse from runtime/metrics.
func runtimeMemory() func() memoryUse {
	names := []string{
		"/gc/heap/live:bytes",
		"/memory/classes/total:bytes",
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/released:bytes",
	}
	samples := make([]rtmetrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	return func() memoryUse {
		rtmetrics.Read(samples)
		v := func(i int) int64 {
			if samples[i].Value.Kind() != rtmetrics.KindUint64 {
				return 0
			}
			return int64(samples[i].Value.Uint64())
		}
		return memoryUse{live: v(0), other: max(0, v(1)-v(2)-v(3)-v(4))}
	}
}

// holdMemoryLimit gives the runtime the soft limit that limit returns (through set,
// debug.SetMemoryLimit in the program) and, every period until ctx ends, gives it again when
// limit changes, raised to heapFloor when what is live has grown near it, lowered back when
// that has passed. It returns at once when set is nil.
func holdMemoryLimit(ctx context.Context, set func(int64) int64, limit func() int64, read func() memoryUse, every time.Duration) {
	if set == nil {
		return
	}
	var given int64
	give := func() {
		l := limit()
		if l > 0 {
			l = heapFloor(l, read())
		}
		switch {
		case l == given:
		case l > 0:
			set(l)
		default:
			set(math.MaxInt64) // none: the runtime's own default
		}
		given = l
	}
	give()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			give()
		}
	}
}
