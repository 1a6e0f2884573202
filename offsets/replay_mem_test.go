package offsets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// TestReplayKeepsOnlyLastValues: the replay keeps the last value of each key, not the fetched
// batches those values came in. 1,000 keys are written 20 times each in random order, in batches
// of 100 records that share one buffer, as fetched records do; most batches hold some key's last
// record.
//
// The heap is the process's: the test is not parallel, so that no other test allocates while it
// measures, and it takes the least of three measurements, so that a collection's leftovers of
// earlier tests do not count. A replay that kept the batches would exceed the limit every time.
func TestReplayKeepsOnlyLastValues(t *testing.T) {
	if testenv.Real() {
		t.Skip("needs no broker: the run on the in-process fakes covers it")
	}
	const (
		keys, versions, perBatch, valueSize = 1000, 20, 100, 200
		// The last values with their keys and the map measured 0.19 MB; kept as fetched, the
		// records and their batches measured 1.04 MB.
		maxRetained = 512 << 10
	)
	rng := rand.New(rand.NewPCG(3, 4))
	order := make([]int, 0, keys*versions)
	for k := range keys {
		for range versions {
			order = append(order, k)
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })

	retained := int64(math.MaxInt64)
	var r *replay
	for range 3 {
		r = nil // the last measurement's replay is not counted in this one's start
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r = newReplay("state")
		for start := 0; start < len(order); start += perBatch {
			batch := make([]byte, perBatch*valueSize) // 4 MB over the whole log
			for i, k := range order[start : start+perBatch] {
				v := batch[i*valueSize : (i+1)*valueSize : (i+1)*valueSize]
				v[0] = byte(k)
				r.add(&kgo.Record{Key: fmt.Appendf(nil, "bookmark/t%d/invoices", k), Value: v, Offset: int64(start + i)})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = min(retained, int64(after.HeapAlloc)-int64(before.HeapAlloc))
		runtime.KeepAlive(r)
	}
	t.Logf("the replay of %d records of %d keys retains %d bytes", len(order), keys, retained)
	if len(r.last) != keys {
		t.Fatalf("%d keys kept, want %d", len(r.last), keys)
	}
	if retained > maxRetained {
		t.Errorf("the replay retains %d bytes, want at most %d: it keeps the fetched batches", retained, maxRetained)
	}
	runtime.KeepAlive(r)
}
