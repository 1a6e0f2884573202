package offsets

import (
	"slices"
	"testing"
	"time"
)

// TestOnResetTellsOfNewResets: a reset delivered while the instance runs is pending in its
// inbox before the function given to OnReset hears of it, once per reset, and an inbox takes
// room only while resets are pending.
func TestOnResetTellsOfNewResets(t *testing.T) {
	st := &State{inbox: newResetBoard(nil)}
	type heard struct{ tenant, stream string }
	var got []heard
	in := st.ResetInbox("t1", "invoices")
	st.OnReset(func(tenant, stream string) {
		if len(st.ResetInbox(tenant, stream).Pending()) == 0 {
			t.Errorf("told of a reset of %s/%s not pending yet", tenant, stream)
		}
		got = append(got, heard{tenant, stream})
	})
	r1, err := NewReset("t1", "invoices", time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r2, err := NewReset("t1", "invoices", time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.inbox.deliver(r1)
	st.inbox.deliver(r1) // read again by the watch: not new
	st.inbox.deliver(r2)
	if want := []heard{{"t1", "invoices"}, {"t1", "invoices"}}; !slices.Equal(got, want) {
		t.Errorf("heard %v, want %v", got, want)
	}
	if p := in.Pending(); len(p) != 2 || p[0].ID != r1.ID || p[1].ID != r2.ID {
		t.Errorf("pending %+v, want r1 then r2", p)
	}
	if p := st.ResetInbox("t1", "contacts").Pending(); len(p) != 0 {
		t.Errorf("another stream's inbox holds %+v", p)
	}
	in.Applied(in.Pending())
	if n := len(st.inbox.pending); n != 0 || len(in.Pending()) != 0 {
		t.Errorf("%d inboxes held after every reset was applied, want 0", n)
	}
	select {
	case <-in.Ready():
		t.Error("ready with nothing pending")
	default:
	}
	st.OnReset(nil)
	st.inbox.deliver(r1)
	if len(got) != 2 {
		t.Errorf("told of a reset after OnReset(nil)")
	}
	select {
	case <-in.Ready():
	default:
		t.Error("not ready with a reset pending")
	}
}
