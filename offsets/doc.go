// Package offsets keeps the connector's state in a compacted Kafka topic: the bookmark of each
// (tenant, stream) and the latest refresh token of Xero's single-use chain, encrypted. It writes
// state as records that the connector produces inside its own transactions, and reads it back
// once, at start.
//
// A start goes like this:
//
//	err := offsets.CreateTopic(ctx, adm, topic, rf)             // compacted, one partition
//	st, err := offsets.Load(ctx, producer, consumerOpts, topic, sealer)
//	err = st.CheckSeed(envToken)                                // a stored token the key cannot open
//	tok, ok := st.Token()                                       // compare tok.SeedHash with offsets.HashSeed(envToken)
//	b, ok := st.Bookmark(tenant, stream)
//
// and then, for each page the connector writes:
//
//	w := st.BookmarkWriter(tenant, stream)   // once per stream
//	recs, err := w.Records(next, touched)    // with the page's data, in one transaction
//	w.Committed()                            // once it has committed
//
// which writes what changed since the committed bookmark (a delta record), or the bookmark whole
// with tombstones for the records it replaces (BookmarkRecords writes it whole, without them);
// a pipeline of pages asks w.Append for each before the earlier ones are answered, then calls
// w.Committed for each committed, oldest first, and w.Failed for the rest. And, after each refresh of the access token, in a transaction of its own that commits before
// the new access token is used:
//
//	rec, err := offsets.TokenRecord(topic, tok, sealer)
//
// Load writes a startup marker in its own transaction (which also fences any older instance with
// the same transactional id), then replays the topic read_committed from the start up to that
// marker: what comes before it is the committed state, the last value of each key. Each key is
// judged by its last record only: a tombstone removes any key, and a last record it cannot read
// stops it with an error wrapping a *RecordError naming the offset and key. Inspect reads the same
// state without writing anything, for the administrative commands, and lists what it cannot read.
//
// An operator's reset of a stream is a record of its own (NewReset, Reset.Record), applied by the
// instance reading the stream with the stream's new bookmark and Reset.DoneRecord in one
// transaction; WatchTakeover delivers the resets committed while the instance runs to
// State.ResetInbox.
//
// The record keys, the value layout and its versions, how large bookmarks are split, how the
// token is sealed and how the marker works are described in README.md next to this file.
package offsets
