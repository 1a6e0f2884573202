package connector

import (
	"encoding/binary"
	"maps"
	"slices"
)

// packedWindow is a keyset bookmark's window (record id -> replication-key value, unix ms) packed
// into one string while its stream waits for its next turn: for each id in order, its length in
// one byte, the id, and the value in 8 bytes. A Go map of a few ids takes about 250 bytes besides
// the ids, and a key string of its own for each; 26,000 waiting streams hold a window each, so
// the map is made again only when a turn begins (poller.openWriter). "" is no window.
type packedWindow string

// packWindowMax is the most ids a window packs: past it, unpacking at every turn would cost more
// than the map it saves, and a window that large is rare (the records of the newest second).
const packWindowMax = 64

// packEntrySize is the bytes of one entry besides its id: the id's length and the value.
const packEntrySize = 1 + 8

// packWindow returns w packed, and false (nothing packed) when w is empty, holds more than
// packWindowMax ids or an id longer than 255 bytes.
func packWindow(w map[string]int64) (packedWindow, bool) {
	if len(w) == 0 || len(w) > packWindowMax {
		return "", false
	}
	size := 0
	for id := range w {
		if len(id) > 255 {
			return "", false
		}
		size += packEntrySize + len(id)
	}
	buf := make([]byte, 0, size)
	for _, id := range slices.Sorted(maps.Keys(w)) {
		buf = append(buf, byte(len(id)))
		buf = append(buf, id...)
		buf = binary.BigEndian.AppendUint64(buf, uint64(w[id]))
	}
	return packedWindow(buf), true
}

// unpack returns the window as a map of its own, nil for none.
func (pw packedWindow) unpack() map[string]int64 {
	if pw == "" {
		return nil
	}
	w := make(map[string]int64, pw.len())
	for rest := string(pw); rest != ""; {
		n := int(rest[0])
		id := rest[1 : 1+n]
		w[id] = int64(binary.BigEndian.Uint64([]byte(rest[1+n : packEntrySize+n])))
		rest = rest[packEntrySize+n:]
	}
	return w
}

// len returns the number of ids packed.
func (pw packedWindow) len() int {
	count := 0
	for i := 0; i < len(pw); i += packEntrySize + int(pw[i]) {
		count++
	}
	return count
}
