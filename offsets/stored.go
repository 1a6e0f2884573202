package offsets

// StoredBookmark is what a BookmarkWriter knows of how a committed bookmark is stored (its base,
// its deltas, the unused records its next write removes), without the bookmark itself. A stream
// that waits between cycles keeps this instead of a writer, which holds a copy of the bookmark:
// with thousands of streams the copies would double the memory of every bookmark.
//
//	sb := st.Stored(tenant, stream)              // at start
//	w := sb.Writer(topic, tenant, stream, bm)    // when a cycle begins, bm the committed bookmark
//	// ... w.Records, w.Committed ...
//	sb = w.Park()                                // when it ends, with no write outstanding
//
// The zero StoredBookmark says nothing is known: the first write stores the bookmark whole.
type StoredBookmark struct {
	stored layout
	stale  []string
}

// Stored returns how the loaded bookmark of (tenant, stream) is stored, for a writer made later
// with StoredBookmark.Writer from the loaded bookmark.
func (s *State) Stored(tenant, stream string) StoredBookmark {
	id := BookmarkID{Tenant: tenant, Stream: stream}
	return StoredBookmark{stored: s.layouts[id], stale: s.staleByID[id]}
}

// Writer returns a writer of (tenant, stream) whose committed bookmark is committed, stored as sb
// says. committed must be the bookmark sb was taken with (by State.Stored or Park), or the writer
// writes changes from a bookmark that is not the stored one.
func (sb StoredBookmark) Writer(topic, tenant, stream string, committed Bookmark) *BookmarkWriter {
	w := NewBookmarkWriter(topic, tenant, stream, committed)
	w.stored, w.stale = sb.stored, sb.stale
	return w
}

// Park returns how w's committed bookmark is stored, for a writer made again later from the same
// bookmark. It must be called with no write outstanding (after Committed, or after a failure
// that was not retried): a write asked for and not answered is forgotten.
func (w *BookmarkWriter) Park() StoredBookmark {
	return StoredBookmark{stored: w.stored, stale: w.stale}
}

// ReleaseBookmarks drops the state's index of the loaded bookmarks and of how they are stored,
// once the caller has taken each it needs with Bookmark and Stored: the connector keeps them in
// its streams, and with thousands of streams the index is megabytes nothing reads. Bookmark,
// Stored, BookmarkWriter and Bookmarks then answer as if nothing were stored; the rest of the
// state (the token, the resets, the summary) stays.
func (s *State) ReleaseBookmarks() {
	s.bookmarks, s.layouts, s.staleByID, s.info, s.stale = nil, nil, nil, nil, nil
}
