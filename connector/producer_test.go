package connector

import (
	"context"
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
			cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
			if err != nil {
				t.Fatal(err)
			}
			defer cluster.Close()
			var (
				mu   sync.Mutex
				seen []int16
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
						mu.Lock()
						seen = append(seen, b.Attributes)
						mu.Unlock()
					}
				}
				return nil, nil, false
			})
			cfg, err := Config{RefreshToken: "x", Compression: name, TransactionalID: "p-" + name}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, producerOpts(cfg)...)...)
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
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
			mu.Lock()
			defer mu.Unlock()
			if len(seen) == 0 {
				t.Fatal("no batch was produced")
			}
			for _, a := range seen {
				if a&0x07 != attr {
					t.Errorf("batch attributes %#x: codec %d, want %d (%s)", a, a&0x07, attr, name)
				}
				if a&0x10 == 0 {
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
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	var (
		mu      sync.Mutex
		batches []int32 // the records of each batch produced
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
				mu.Lock()
				batches = append(batches, b.NumRecords)
				mu.Unlock()
			}
		}
		return nil, nil, false
	})
	cfg, err := Config{RefreshToken: "x", TransactionalID: "p"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, producerOpts(cfg)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
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
	mu.Lock()
	batches = nil
	mu.Unlock()
	produce(10_000) // about 10 MB before compression
	mu.Lock()
	defer mu.Unlock()
	if len(batches) >= 10 || slices.Max(batches) <= 1000 {
		t.Errorf("10,000 records of 1 KiB went as batches of %v records, want fewer than 10, and more records in one than fit in 1 MB", batches)
	}
}
