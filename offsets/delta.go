package offsets

import (
	"fmt"
	"slices"
)

// bookmarkDelta is what changed from one bookmark to the next. The watermark and the list of
// traversals are stated whole (they are small); the maps are stated as entries set and removed.
type bookmarkDelta struct {
	Watermark int64            `json:"watermark,omitempty"`
	Window    mapDelta[int64]  `json:"window,omitzero"`
	Hashes    mapDelta[uint64] `json:"hashes,omitzero"`
	// Verify is the new list of traversals, each one new or continuing one of the previous list.
	Verify []verifyDelta `json:"verify,omitempty"`
}

// verifyDelta is one traversal of the new bookmark.
type verifyDelta struct {
	From  int64 `json:"from,omitempty"`
	To    int64 `json:"to,omitempty"`
	Start int64 `json:"start,omitempty"`
	Moved bool  `json:"moved,omitempty"`
	// Of is 1 + the index, in the previous bookmark's list, of the traversal whose Written this
	// one changes; 0 for a traversal whose Written is all in Written.Set.
	Of      int             `json:"of,omitempty"`
	Written mapDelta[int64] `json:"written,omitzero"`
}

// mapDelta is the change of an id-keyed map.
type mapDelta[V comparable] struct {
	Set map[string]V `json:"set,omitempty"` // entries added or changed
	Del []string     `json:"del,omitempty"` // ids removed
}

// diffBookmark returns the change from old to cur. touched is as for BookmarkWriter.Records.
func diffBookmark(old, cur Bookmark, touched []string) bookmarkDelta {
	var ids map[string]struct{}
	if touched != nil {
		ids = make(map[string]struct{}, len(touched))
		for _, id := range touched {
			ids[id] = struct{}{}
		}
	}
	d := bookmarkDelta{
		Watermark: cur.Watermark,
		Window:    diffMap(old.Window, cur.Window, ids),
		Hashes:    diffMap(old.Hashes, cur.Hashes, ids),
	}
	// A traversal is matched with the previous one of the same range and start, or else (a range
	// read again starts anew) of the same range at the same place; either is only cheaper to
	// state, never needed for the result.
	used := make([]bool, len(old.Verify))
	for i, v := range cur.Verify {
		vd := verifyDelta{From: v.From, To: v.To, Start: v.Start, Moved: v.Moved}
		var prev map[string]int64
		for j, o := range old.Verify {
			if !used[j] && o.From == v.From && o.Start == v.Start {
				used[j], vd.Of, prev = true, j+1, o.Written
				break
			}
		}
		if vd.Of == 0 && i < len(old.Verify) && !used[i] && old.Verify[i].From == v.From {
			used[i], vd.Of, prev = true, i+1, old.Verify[i].Written
		}
		if vd.Of == 0 {
			vd.Written = diffMap(nil, v.Written, nil)
		} else {
			vd.Written = diffMap(prev, v.Written, ids)
		}
		d.Verify = append(d.Verify, vd)
	}
	return d
}

// diffMap returns the change from old to cur, its removals sorted so that a change is always
// stated, and compressed, the same way. With ids nil every entry is compared. Otherwise
// only the entries of ids are, and the others are taken as unchanged or removed: the counts tell
// whether any was removed, and only then is old searched for them. Should the counts show an
// entry that is neither (the caller left an id out), every entry is compared.
func diffMap[V comparable](old, cur map[string]V, ids map[string]struct{}) mapDelta[V] {
	var d mapDelta[V]
	set := func(id string, v V) {
		if d.Set == nil {
			d.Set = make(map[string]V)
		}
		d.Set[id] = v
	}
	if ids == nil || len(ids) >= len(old)+len(cur) {
		for id, v := range cur {
			if o, ok := old[id]; !ok || o != v {
				set(id, v)
			}
		}
		for id := range old {
			if _, ok := cur[id]; !ok {
				d.Del = append(d.Del, id)
			}
		}
		slices.Sort(d.Del)
		return d
	}
	inOld, inCur := 0, 0
	for id := range ids {
		v, okCur := cur[id]
		o, okOld := old[id]
		if okCur {
			inCur++
			if !okOld || o != v {
				set(id, v)
			}
		}
		if okOld {
			inOld++
			if !okCur {
				d.Del = append(d.Del, id)
			}
		}
	}
	switch restOld, restCur := len(old)-inOld, len(cur)-inCur; {
	case restCur > restOld:
		return diffMap(old, cur, nil)
	case restCur < restOld:
		for id := range old {
			if _, ok := ids[id]; ok {
				continue
			}
			if _, ok := cur[id]; !ok {
				d.Del = append(d.Del, id)
			}
		}
	}
	slices.Sort(d.Del)
	return d
}

// apply changes m by d (in place; m may be nil) and returns it, nil when empty as after a JSON
// round trip. It fails when d removes an entry that m does not hold: the delta was made for
// another bookmark.
func (d mapDelta[V]) apply(m map[string]V) (map[string]V, error) {
	for _, id := range d.Del {
		if _, ok := m[id]; !ok {
			return nil, fmt.Errorf("removes %q, which the bookmark does not hold", id)
		}
		delete(m, id)
	}
	if len(d.Set) > 0 && m == nil {
		m = make(map[string]V, len(d.Set))
	}
	for id, v := range d.Set {
		m[id] = v
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// apply returns b changed by d. It reuses b's maps.
func (d bookmarkDelta) apply(b Bookmark) (Bookmark, error) {
	out := Bookmark{Watermark: d.Watermark}
	var err error
	if out.Window, err = d.Window.apply(b.Window); err != nil {
		return Bookmark{}, fmt.Errorf("window: %w", err)
	}
	if out.Hashes, err = d.Hashes.apply(b.Hashes); err != nil {
		return Bookmark{}, fmt.Errorf("hashes: %w", err)
	}
	used := make([]bool, len(b.Verify))
	for i, vd := range d.Verify {
		v := Verify{From: vd.From, To: vd.To, Start: vd.Start, Moved: vd.Moved}
		var prev map[string]int64
		if vd.Of != 0 {
			if vd.Of < 0 || vd.Of > len(b.Verify) || used[vd.Of-1] {
				return Bookmark{}, fmt.Errorf("traversal %d continues traversal %d of %d, or one already continued", i, vd.Of, len(b.Verify))
			}
			used[vd.Of-1], prev = true, b.Verify[vd.Of-1].Written
		}
		if v.Written, err = vd.Written.apply(prev); err != nil {
			return Bookmark{}, fmt.Errorf("traversal %d: %w", i, err)
		}
		out.Verify = append(out.Verify, v)
	}
	return out, nil
}

// decodeDelta reads the change stored in a delta value.
func decodeDelta(v value) (bookmarkDelta, error) {
	return decodeJSON[bookmarkDelta](v.data, v)
}

// applyDelta returns b changed by the delta value v.
func applyDelta(b Bookmark, v value) (Bookmark, error) {
	d, err := decodeDelta(v)
	if err != nil {
		return Bookmark{}, err
	}
	return d.apply(b)
}
