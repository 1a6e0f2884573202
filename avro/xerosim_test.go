package avro

import (
	"testing"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// TestSimulatorRecords transcodes the records the project's Xero simulator serves, for every
// stream of two tenants, and checks them field by field with an independent decoder: in the
// simulator's default shapes, and with every record in the shapes recorded from Xero's API.
func TestSimulatorRecords(t *testing.T) {
	t.Run("default", func(t *testing.T) { simulatorRecords(t) })
	t.Run("as recorded", func(t *testing.T) { simulatorRecords(t, xerosim.AsRecorded(1)) })
}

func simulatorRecords(t *testing.T, extra ...xerosim.Option) {
	opts := []xerosim.Option{xerosim.Seed(7), xerosim.Tenants(2), xerosim.ServeEmployees()}
	for _, name := range streams.Names() {
		opts = append(opts, xerosim.Volume(name, 30))
	}
	sim := xerosim.NewSim(append(opts, extra...)...)
	t.Cleanup(sim.Close)
	total := 0
	for _, st := range streams.All() {
		t.Run(st.Name, func(t *testing.T) {
			c := mustCodec(t, st.Name)
			s := parsedSchema(t, c)
			for _, tenant := range sim.Tenants() {
				records, err := sim.Truth(tenant, st.Name)
				if err != nil {
					t.Fatal(err)
				}
				for _, raw := range records {
					roundTrip(t, c, s, raw)
				}
				total += len(records)
			}
		})
	}
	if total == 0 {
		t.Fatal("the simulator served no records")
	}
	t.Logf("%d simulator records round-tripped", total)
}
