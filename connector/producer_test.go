package connector

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestProducerCompression: the batches the producer sends carry the codec KAFKA_COMPRESSION
// names (the low three bits of a batch's attributes), in a transaction, and an unknown codec
// is refused by name.
func TestProducerCompression(t *testing.T) {
	want := map[string]int16{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
	for name, attr := range want {
		t.Run(name, func(t *testing.T) {
			cfg, err := Config{RefreshToken: "x", Compression: name, TransactionalID: "p-" + name}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			cl, produced := producerOnKfake(t, cfg)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := cl.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			// Values that compress, so that no codec gives up on them.
			value := make([]byte, 4096)
			for i := range 10 {
				if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "t", Key: []byte{byte(i)}, Value: value}).FirstErr(); err != nil {
					t.Fatal(err)
				}
			}
			if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
				t.Fatal(err)
			}
			seen := produced()
			if len(seen) == 0 {
				t.Fatal("no batch was produced")
			}
			for _, b := range seen {
				if a := b.Attributes; a&0x07 != attr {
					t.Errorf("batch attributes %#x: codec %d, want %d (%s)", a, a&0x07, attr, name)
				}
				if a := b.Attributes; a&0x10 == 0 {
					t.Errorf("batch attributes %#x: not transactional", a)
				}
			}
		})
	}
	if _, err := (Config{RefreshToken: "x", Compression: "brotli"}).withDefaults(); err == nil {
		t.Error("KAFKA_COMPRESSION=brotli was accepted")
	}
}

// TestProducerMergesBatches: the records of a transaction larger than a batch's bound before
// compression go to the broker in batches merged up to that bound after compression, rather than
// in one batch per megabyte of records (about 970 of these). kgo merges the batches waiting while
// a produce request is in flight, so the first may go alone.
func TestProducerMergesBatches(t *testing.T) {
	cfg, err := Config{RefreshToken: "x", TransactionalID: "p"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cl, produced := producerOnKfake(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	produce := func(n int) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		recs := make([]*kgo.Record, n)
		for i := range recs {
			value := make([]byte, 1024) // 1 KiB that compresses well
			value[0] = byte(i)
			recs[i] = &kgo.Record{Topic: "t", Key: []byte{byte(i >> 8), byte(i)}, Value: value}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
	}
	produce(1) // kgo merges batches once it knows the broker's produce version
	before := len(produced())
	produce(10_000)     // about 10 MB before compression
	var batches []int32 // the records of each batch of the large transaction
	for _, b := range produced()[before:] {
		batches = append(batches, b.NumRecords)
	}
	if len(batches) >= 10 || slices.Max(batches) <= 1000 {
		t.Errorf("10,000 records of 1 KiB went as batches of %v records, want fewer than 10, and more records in one than fit in 1 MB", batches)
	}
}

// producerOnKfake starts a kfake cluster with topic "t" and returns a client with the producer
// options of cfg, and a function that returns every record batch produced to it so far.
func producerOnKfake(t *testing.T, cfg Config) (*kgo.Client, func() []kmsg.RecordBatch) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	var (
		mu      sync.Mutex
		batches []kmsg.RecordBatch
	)
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		for _, tp := range req.(*kmsg.ProduceRequest).Topics {
			for _, p := range tp.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(p.Records); err != nil {
					t.Errorf("a produced batch does not parse: %v", err)
					continue
				}
				b.Records = nil // only the header is kept
				mu.Lock()
				batches = append(batches, b)
				mu.Unlock()
			}
		}
		return nil, nil, false
	})
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, producerOpts(cfg)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, func() []kmsg.RecordBatch {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(batches)
	}
}

// TestPartitionerAsKafkas: a keyed record goes where Kafka's default partitioner sends it, and
// every record of a topic of one partition to partition 0.
func TestPartitionerAsKafkas(t *testing.T) {
	ours := onePartitionFirst{kgo.StickyKeyPartitioner(nil)}.ForTopic("invoices")
	kafkas := kgo.StickyKeyPartitioner(nil).ForTopic("invoices")
	for i := range 200 {
		r := &kgo.Record{Key: fmt.Appendf(nil, "tenant-%d/%08x", i%7, i*7919)}
		if !ours.RequiresConsistency(r) {
			t.Fatalf("a keyed record may go to another partition when its own is down")
		}
		for _, n := range []int{1, 2, 3, 12} {
			if got, want := ours.Partition(r, n), kafkas.Partition(r, n); got != want {
				t.Errorf("key %q among %d partitions: partition %d, Kafka's is %d", r.Key, n, got, want)
			}
		}
	}
}
