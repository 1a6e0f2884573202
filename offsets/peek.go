package offsets

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrNoTopic: the state topic does not exist.
var ErrNoTopic = errors.New("the state topic does not exist")

// ReadToken reads the last committed refresh token of the state topic without writing
// anything: no startup marker, so no running instance is fenced or stopped. It reads the
// partition read_committed up to its last stable offset, keeping control records so that it
// knows where it is even when the log ends with a transaction marker. ok is false when no token
// is stored. A token the sealer cannot open (another XERO_STATE_KEY) is an error saying so; an
// absent topic wraps ErrNoTopic.
func ReadToken(ctx context.Context, consumerOpts []kgo.Opt, topic string, s Sealer) (tok Token, ok bool, err error) {
	if s == nil {
		return Token{}, false, fmt.Errorf("read token from %s: no sealer", topic)
	}
	admCl, err := kgo.NewClient(consumerOpts...)
	if err != nil {
		return Token{}, false, fmt.Errorf("read token from %s: %w", topic, err)
	}
	ends, err := kadm.NewClient(admCl).ListCommittedOffsets(ctx, topic)
	admCl.Close()
	if err != nil {
		return Token{}, false, fmt.Errorf("read token from %s: end offset: %w", topic, err)
	}
	end, found := ends.Lookup(topic, statePartition)
	if !found {
		return Token{}, false, fmt.Errorf("read token from %s: %w", topic, ErrNoTopic)
	}
	if errors.Is(end.Err, kerr.UnknownTopicOrPartition) {
		return Token{}, false, fmt.Errorf("read token from %s: %w", topic, ErrNoTopic)
	}
	if end.Err != nil {
		return Token{}, false, fmt.Errorf("read token from %s: end offset: %w", topic, end.Err)
	}
	if end.Offset <= 0 {
		return Token{}, false, nil
	}
	cl, err := kgo.NewClient(append(slices.Clip(consumerOpts),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {statePartition: kgo.NewOffset().AtStart()}}),
	)...)
	if err != nil {
		return Token{}, false, fmt.Errorf("read token from %s: consumer: %w", topic, err)
	}
	defer cl.Close()
	var last *kgo.Record
	for next := int64(0); next < end.Offset; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return Token{}, false, fmt.Errorf("read token from %s: stopped at offset %d of %d: %w", topic, next, end.Offset, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return Token{}, false, fmt.Errorf("read token from %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if !r.Attrs.IsControl() && r.Offset < end.Offset && string(r.Key) == tokenKey {
				last = r
			}
		})
	}
	if last == nil || last.Value == nil {
		return Token{}, false, nil
	}
	v, err := decodeValue(last.Value)
	if err != nil {
		return Token{}, false, &RecordError{Topic: topic, Partition: last.Partition, Offset: last.Offset, Key: tokenKey, Err: err}
	}
	if v.kind != kindToken {
		return Token{}, false, &RecordError{Topic: topic, Partition: last.Partition, Offset: last.Offset, Key: tokenKey, Err: errors.New("not a token value")}
	}
	tok, err = decodeToken(v, tokenKey, s)
	if err != nil {
		return Token{}, false, &RecordError{Topic: topic, Partition: last.Partition, Offset: last.Offset, Key: tokenKey, Err: err}
	}
	return tok, true, nil
}
