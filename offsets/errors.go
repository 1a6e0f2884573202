package offsets

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var (
	// ErrFenced means another instance with the same transactional id has started: this one must
	// stop at once, before any further call to Xero, and write nothing more.
	ErrFenced = errors.New("transactional producer fenced: another instance with the same transactional id has started")

	// ErrStartupMarker means the startup marker could not be committed (a broker away, an
	// answer lost): nothing was read, and a new attempt with a new producer is safe.
	ErrStartupMarker = errors.New("write startup marker")

	// ErrFutureVersion means a state record was written by a newer release, in a format this
	// release does not read. Upgrade, or restore the state the older release wrote.
	ErrFutureVersion = errors.New("state record written by a newer release")

	// ErrKeyMismatch means the stored refresh token cannot be decrypted with the state key given:
	// it is not the key that encrypted it (or the record was altered).
	ErrKeyMismatch = errors.New("the state key does not match the key that wrote the stored token")
)

// IsFenced reports whether err means the transactional producer has been fenced by a newer
// instance with the same transactional id, so that nothing it writes can ever commit again:
//
//   - ErrFenced: returned by this package.
//   - kerr.ProducerFenced: the coordinator saw a newer epoch (EndTxn, AddPartitionsToTxn,
//     InitProducerID). kgo then keeps this error as the producer's fatal state, and
//     BeginTransaction returns it wrapped ("producer ID has a fatal, unrecoverable error"),
//     which errors.Is still sees.
//   - kerr.InvalidProducerEpoch: a partition leader saw a newer epoch on a produce.
//   - kerr.TransactionalIDAuthorizationFailed: the principal may no longer use the id; retrying
//     cannot help and the instance must stop just the same.
//
// The connector's writer uses the same predicate for its data transactions.
func IsFenced(err error) bool {
	return errors.Is(err, ErrFenced) ||
		errors.Is(err, kerr.ProducerFenced) ||
		errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// RecordError is a state record that cannot be read: the last record of its key, whose key or
// value this release does not read, or a bookmark head missing a part. Load stops at such a
// record: the state is unknown, and nothing may be written to Kafka or asked of Xero until someone
// has looked at it. A tombstone for Key removes it. Error names the offset and the key, not the
// topic, which the caller's message names.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string // the record key, quoted and cut to 200 bytes in Error
	Err       error
}

func (e *RecordError) Error() string {
	key := e.Key
	if len(key) > 200 {
		key = key[:200] + "..."
	}
	return fmt.Sprintf("record at partition %d offset %d key %q: %v", e.Partition, e.Offset, key, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }
