package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// endOffsets returns the end offset of each partition of topic.
func endOffsets(ctx context.Context, tg target, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.brokers...))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", tg.name, err)
	}
	defer cl.Close()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list the end offsets of %s: %w", topic, err)
	}
	out := map[int32]int64{}
	var errs []error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("end offset of %s[%d]: %w", topic, o.Partition, o.Err))
			return
		}
		out[o.Partition] = o.Offset
	})
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("topic %s has no partitions", topic))
	}
	return out, errors.Join(errs...)
}

// bytesBetween sums the key, value and header bytes of the records of topic from the offsets
// from to the offsets to, aborted ones included: what was written, before compression.
func bytesBetween(ctx context.Context, tg target, topic string, from, to map[int32]int64) (int64, error) {
	parts := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	for p, end := range to {
		if end > from[p] {
			parts[p] = kgo.NewOffset().At(from[p])
			left[p] = end
		}
	}
	if len(parts) == 0 {
		return 0, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	if err != nil {
		return 0, fmt.Errorf("connect to %s: %w", tg.name, err)
	}
	defer cl.Close()
	var n int64
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		idle := true
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			idle = false
			n += int64(len(r.Key) + len(r.Value))
			for _, h := range r.Headers {
				n += int64(len(h.Key) + len(h.Value))
			}
			// The last offset of a transactional write is its commit marker, never fetched.
			if r.Offset >= end-2 {
				delete(left, r.Partition)
			}
		})
		for _, e := range fs.Errors() {
			if !errors.Is(e.Err, context.DeadlineExceeded) {
				return n, fmt.Errorf("read %s[%d]: %w", e.Topic, e.Partition, e.Err)
			}
		}
		if idle {
			break // what is left are control records
		}
	}
	return n, nil
}

// firstRecordAfter waits until a record at or after the offsets from is readable read_committed
// in topic, and returns when it was.
func firstRecordAfter(ctx context.Context, cl *kgo.Client) (time.Time, error) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		for _, e := range fs.Errors() {
			return time.Time{}, fmt.Errorf("read %s[%d]: %w", e.Topic, e.Partition, e.Err)
		}
		if fs.NumRecords() > 0 {
			return time.Now(), nil
		}
	}
}

// committedReader reads topic read_committed from the offsets from.
func committedReader(tg target, topic string, from map[int32]int64) (*kgo.Client, error) {
	parts := map[int32]kgo.Offset{}
	for p, o := range from {
		parts[p] = kgo.NewOffset().At(o)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", tg.name, err)
	}
	return cl, nil
}

// deleteTopics deletes the topics whose names begin with prefix, so that runs do not fill the
// broker's disk.
func deleteTopics(ctx context.Context, tg target, prefix string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.brokers...))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", tg.name, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var names []string
	for _, t := range topics.Names() {
		if strings.HasPrefix(t, prefix+".") {
			names = append(names, t)
		}
	}
	if len(names) == 0 {
		return nil
	}
	if _, err := adm.DeleteTopics(ctx, names...); err != nil {
		return fmt.Errorf("delete the topics of %s: %w", prefix, err)
	}
	return nil
}

// diskBytes sums the size on the broker's disks of the topics whose names start with prefix:
// what the records cost there after compression, batch headers and markers included.
func diskBytes(ctx context.Context, tg target, prefix string) (int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(tg.brokers...))
	if err != nil {
		return 0, fmt.Errorf("connect to %s: %w", tg.name, err)
	}
	defer cl.Close()
	dirs, err := kadm.NewClient(cl).DescribeAllLogDirs(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("describe the log directories of %s: %w", tg.name, err)
	}
	var n int64
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if strings.HasPrefix(p.Topic, prefix) {
				n += p.Size
			}
		})
	})
	return n, nil
}
