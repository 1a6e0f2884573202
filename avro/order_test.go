package avro

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// TestGuessedOrderEncodesAsLookup checks that the guesses of the members' order (recordPlan.next)
// change nothing: every stream's records (the simulator's, in its default and recorded shapes,
// and the examples of Xero's spec) give the same bytes with a codec whose guesses were trained
// on other records, on other orders of the same members, and on names spelled otherwise
// (escaped, or a known name with more after it), as with guesses forgotten, where every name is
// read and looked up in the map.
func TestGuessedOrderEncodesAsLookup(t *testing.T) {
	opts := []xerosim.Option{xerosim.Seed(11), xerosim.Tenants(1), xerosim.ServeEmployees()}
	for _, name := range streams.Names() {
		opts = append(opts, xerosim.Volume(name, 12))
	}
	examples := specExamples(t)
	rng := rand.New(rand.NewPCG(3, 5))
	at := time.UnixMilli(1767225600123)
	const tenant = "7a5c1c7e-0b5e-4a57-9d2e-2f0ad4bb0f11"
	guessed := 0
	for _, extra := range [][]xerosim.Option{nil, {xerosim.AsRecorded(1)}} {
		sim := xerosim.NewSim(append(opts, extra...)...)
		t.Cleanup(sim.Close)
		for _, st := range streams.All() {
			records, err := sim.Truth(sim.Tenants()[0], st.Name)
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range examples[st.Name] {
				records = append(records, ex)
			}
			warm, cold := mustCodec(t, st.Name), mustCodec(t, st.Name)
			for _, raw := range records {
				for _, in := range [][]byte{raw, shuffleMembers(t, rng, raw), respellMembers(t, rng, raw), raw} {
					forgetOrder(cold.plan, map[*recordPlan]bool{})
					want, wantErr := cold.AppendValue(nil, in, tenant, at)
					got, err := warm.AppendValue(nil, in, tenant, at)
					if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
						t.Fatalf("%s: with guesses %x (%v), without %x (%v)\n%s", st.Name, got, err, want, wantErr, in)
					}
				}
				guessed++
			}
		}
	}
	if guessed < 26*12 {
		t.Fatalf("only %d records compared", guessed)
	}
}

// forgetOrder resets the guesses of p and of every record below it.
func forgetOrder(p *recordPlan, seen map[*recordPlan]bool) {
	if p == nil || seen[p] {
		return
	}
	seen[p] = true
	for k := range p.next {
		p.next[k].Store(-1)
	}
	for _, f := range p.fields {
		for t := &f.typ; t != nil; t = t.items {
			forgetOrder(t.record, seen)
		}
	}
}

// respellMembers returns the object raw with some of its top-level member names spelled
// otherwise: the first letter escaped ("\u0049nvoiceID", the same name) or a letter added
// ("InvoiceIDs", another name, which begins with the quoted name's bytes but for its quote).
func respellMembers(tb testing.TB, rng *rand.Rand, raw []byte) []byte {
	members := topMembers(tb, raw)
	for k, m := range members {
		name := m[0]
		switch plain := len(name) > 2 && name[1] < 0x80 && !bytes.ContainsRune(name, '\\'); {
		case plain && rng.IntN(3) == 0:
			members[k][0] = fmt.Appendf(nil, `"\u%04x%s`, name[1], name[2:])
		case plain && rng.IntN(2) == 0:
			members[k][0] = fmt.Appendf(nil, `%ss"`, name[:len(name)-1])
		}
	}
	return joinMembers(members)
}

// shuffleMembers returns the object raw with its top-level members in a random order.
func shuffleMembers(tb testing.TB, rng *rand.Rand, raw []byte) []byte {
	members := topMembers(tb, raw)
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	return joinMembers(members)
}

// topMembers returns the top-level members of the object raw, each as its quoted name and its
// value, exactly as written.
func topMembers(tb testing.TB, raw []byte) [][2][]byte {
	tb.Helper()
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := dec.ReadToken(); err != nil {
		tb.Fatal(err)
	}
	var members [][2][]byte
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			tb.Fatal(err)
		}
		name = bytes.Clone(name)
		v, err := dec.ReadValue()
		if err != nil {
			tb.Fatal(err)
		}
		members = append(members, [2][]byte{name, bytes.Clone(v)})
	}
	return members
}

// joinMembers writes members as a JSON object.
func joinMembers(members [][2][]byte) []byte {
	out := []byte{'{'}
	for k, m := range members {
		if k > 0 {
			out = append(out, ',')
		}
		out = append(append(append(out, m[0]...), ':'), m[1]...)
	}
	return append(out, '}')
}
