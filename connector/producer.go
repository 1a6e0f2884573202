package connector

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// producerOpts returns the options of the transactional producer that writes the records and
// the state, beside those that say how to reach the brokers.
//
// Compression: every batch a broker receives compressed, it decompresses to validate it
// before it appends it, so the codec costs the broker CPU as well as the connector. On Kafka
// 4.4, the end-to-end benchmark's invoices and journals cost the broker about the same with
// none, snappy, lz4 and zstd (its CPU goes to handling requests, not to their bytes); lz4 cost
// the connector the least, 4-8% less than snappy (franz-go's default) for as many bytes on
// disk, about a third of none's; zstd wrote a quarter less than lz4 for 20-40% more CPU.
//
// Streaming compression: kgo cuts a batch at ProducerBatchMaxBytes (Kafka's default message size,
// about 1 MB) of uncompressed records, so a page of a thousand invoices (1.1 MB) went out as two
// batches in two produce requests, each compressed to a third of that. With it, kgo merges the
// batches waiting for a partition into one whose compressed size stays under that bound: a
// transaction's records usually go in one produce request, and the broker handles, validates and
// appends a third as many batches. A consumer then reads batches of up to a few MB once
// decompressed; the broker's limit (max.message.bytes) still holds, on compressed batches.
func producerOpts(cfg Config) []kgo.Opt {
	// Validate has refused an unknown codec already.
	codec, _ := compressionCodec(cfg.Compression)
	return []kgo.Opt{
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
		kgo.ProducerBatchCompression(codec),
		kgo.StreamingCompression(),
		kgo.RecordPartitioner(onePartitionFirst{kgo.StickyKeyPartitioner(nil)}),
	}
}

// onePartitionFirst partitions as Kafka's default partitioner does: a keyed record goes to the
// partition the murmur2 hash of its key names, always the same one. A topic of one partition,
// KAFKA_TOPIC_PARTITIONS's default, has no choice to make, so its records skip the hash, about
// 1% of the connector's CPU in a backfill of invoices.
type onePartitionFirst struct{ kgo.Partitioner }

func (p onePartitionFirst) ForTopic(topic string) kgo.TopicPartitioner {
	return onePartition{p.Partitioner.ForTopic(topic)}
}

type onePartition struct{ kgo.TopicPartitioner }

func (p onePartition) Partition(r *kgo.Record, n int) int {
	if n == 1 {
		return 0
	}
	return p.TopicPartitioner.Partition(r, n)
}

// compressionCodec returns the codec KAFKA_COMPRESSION names.
func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("want none, gzip, snappy, lz4 or zstd")
}
