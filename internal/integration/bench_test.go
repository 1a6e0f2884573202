package integration

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

// BenchmarkTransaction measures one committed transaction of 10 records of 1 KiB on one
// partition: begin, produce, commit. Run it on the real broker to see what a transaction costs
// there (make services-up; eval "$(scripts/services.sh env)"; go test -run '^$' -bench .).
func BenchmarkTransaction(b *testing.B) {
	k := testenv.Kafka(b)
	p := testenv.Prefix(b)
	topic := p + ".data"
	k.CreateTopic(b, topic, 1, nil)
	cl := k.Client(b, kgo.TransactionalID(p+"-txn"), kgo.DefaultProduceTopic(topic))
	value := make([]byte, 1024)
	recs := func(n int) []*kgo.Record {
		out := make([]*kgo.Record, 10)
		for i := range out {
			out[i] = &kgo.Record{Key: fmt.Appendf(nil, "%d-%d", n, i), Value: value}
		}
		return out
	}
	ctx := context.Background()
	if err := commitTxn(ctx, cl, recs(-1)...); err != nil { // producer id, coordinator, metadata
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(10 * 1024)
	n := 0
	for b.Loop() {
		if err := commitTxn(ctx, cl, recs(n)...); err != nil {
			b.Fatal(err)
		}
		n++
	}
}
