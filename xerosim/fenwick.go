package xerosim

// fenwick is a binary indexed tree of 0/1 flags over positions 0..n-1. It answers "how many
// flags are set before position p" and "where is the k-th set flag" in O(log n), which lets a
// list call jump to any page of a million records without scanning them.
type fenwick struct {
	tree  []int32 // 1-based
	flags []bool
	total int
}

// newFenwick builds a tree over the given flags in O(n).
func newFenwick(flags []bool) *fenwick {
	f := &fenwick{tree: make([]int32, len(flags)+1), flags: flags}
	for i, set := range flags {
		if set {
			f.tree[i+1]++
			f.total++
		}
	}
	for i := 1; i < len(f.tree); i++ {
		if j := i + i&-i; j < len(f.tree) {
			f.tree[j] += f.tree[i]
		}
	}
	return f
}

func (f *fenwick) len() int { return len(f.flags) }

// prefix returns the number of set flags at positions < p.
func (f *fenwick) prefix(p int) int {
	s := int32(0)
	for i := p; i > 0; i -= i & -i {
		s += f.tree[i]
	}
	return int(s)
}

// set changes the flag at p.
func (f *fenwick) set(p int, v bool) {
	if f.flags[p] == v {
		return
	}
	f.flags[p] = v
	d := int32(1)
	if !v {
		d = -1
	}
	f.total += int(d)
	for i := p + 1; i < len(f.tree); i += i & -i {
		f.tree[i] += d
	}
}

// push appends a position with the given flag.
func (f *fenwick) push(v bool) {
	i := len(f.tree) // the new 1-based index
	f.flags = append(f.flags, v)
	// tree[i] covers (i - lowbit(i), i]: the new flag plus the flags it covers before it.
	val := int32(0)
	if v {
		val = 1
		f.total++
	}
	lo := i - i&-i
	val += int32(f.prefix(i-1) - f.prefix(lo))
	f.tree = append(f.tree, val)
}

// find returns the position of the k-th set flag (0-based), or -1.
func (f *fenwick) find(k int) int {
	if k < 0 || k >= f.total {
		return -1
	}
	pos := 0
	rem := int32(k + 1)
	step := 1
	for step*2 < len(f.tree) {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next < len(f.tree) && f.tree[next] < rem {
			pos = next
			rem -= f.tree[next]
		}
	}
	return pos // 1-based index pos+1 is the flag; as 0-based that is pos
}
