package faultproxy

import (
	"context"
	"net"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cluster starts a kfake cluster of three brokers (so that coordinators and leaders differ)
// and a proxy in front of it.
func cluster(t *testing.T) (*kfake.Cluster, *Proxy) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	p, err := New(7, nil, c.ListenAddrs()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return c, p
}

func client(t *testing.T, p *Proxy, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(p.Addrs(c.ListenAddrs()[0])...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestClientsStayBehindTheProxy: records go through, and every broker the client learns of is
// one of the proxy's addresses, never a broker's own.
func TestClientsStayBehindTheProxy(t *testing.T) {
	c, p := cluster(t)
	ctx := t.Context()
	dials := &dialed{}
	cl := client(t, p, c, kgo.WithHooks(dials), kgo.DefaultProduceTopic("t"), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, "t"); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	got := 0
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for got < 30 && rctx.Err() == nil {
		fs := cl.PollFetches(rctx)
		fs.EachError(func(_ string, _ int32, err error) {
			if rctx.Err() == nil {
				t.Fatalf("fetch: %v", err)
			}
		})
		got += fs.NumRecords()
	}
	if got != 30 {
		t.Fatalf("read %d records back, want 30", got)
	}

	proxied := p.Addrs(c.ListenAddrs()...)
	dials.mu.Lock()
	defer dials.mu.Unlock()
	nodes := map[int32]bool{}
	for _, m := range dials.metas {
		addr := net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port)))
		if !slices.Contains(proxied, addr) {
			t.Errorf("the client connected to broker %d at %s, not one of the proxy's addresses %v", m.NodeID, addr, proxied)
		}
		if m.NodeID >= 0 {
			nodes[m.NodeID] = true
		}
	}
	// Every broker that leads a partition of the topic was reached, through the proxy.
	topics, err := kadm.NewClient(cl).ListTopics(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range topics["t"].Partitions {
		if !nodes[part.Leader] {
			t.Errorf("the client never connected to broker %d, leader of partition %d; it connected to %v", part.Leader, part.Partition, nodes)
		}
	}
	if n := p.Counts().Forwarded["Metadata"]; n == 0 {
		t.Error("no Metadata response went through the proxy")
	}
}

// dialed records the brokers a client connects to.
type dialed struct {
	mu    sync.Mutex
	metas []kgo.BrokerMetadata
}

func (d *dialed) OnBrokerConnect(m kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		d.mu.Lock()
		d.metas = append(d.metas, m)
		d.mu.Unlock()
	}
}

// TestDroppedAnswerAfterTheBrokerActed: the proxy loses a response only once the broker has
// acted on the request. A committed transaction whose EndTxn answer was lost is visible to a
// read_committed reader; a topic whose CreateTopics answer was lost exists.
func TestDroppedAnswerAfterTheBrokerActed(t *testing.T) {
	c, p := cluster(t)
	ctx := t.Context()
	admin := kadm.NewClient(client(t, p, c))

	p.DropNext(kmsg.CreateTopics, 1)
	_, createErr := admin.CreateTopic(ctx, 1, 1, nil, "created")
	topics, err := admin.ListTopics(ctx, "created")
	if err != nil {
		t.Fatal(err)
	}
	if !topics.Has("created") {
		t.Fatalf("the topic whose creation answer was lost does not exist (CreateTopic: %v)", createErr)
	}
	t.Logf("CreateTopic with its answer lost returned %v", createErr)

	if _, err := admin.CreateTopic(ctx, 1, 1, nil, "txn"); err != nil {
		t.Fatal(err)
	}
	prod := client(t, p, c, kgo.TransactionalID("lost-answer"), kgo.DefaultProduceTopic("txn"))
	if err := prod.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("once")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p.DropNext(kmsg.EndTxn, 1)
	endErr := prod.EndTransaction(ctx, kgo.TryCommit)
	t.Logf("EndTransaction with its first answer lost returned %v", endErr)

	reader := client(t, p, c, kgo.ConsumeTopics("txn"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var values []string
	for len(values) == 0 && rctx.Err() == nil {
		reader.PollFetches(rctx).EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
	}
	if !slices.Equal(values, []string{"once"}) {
		t.Fatalf("read_committed reader saw %q, want the committed record once", values)
	}
	counts := p.Counts()
	if counts.Dropped["EndTxn"] != 1 || counts.Dropped["CreateTopics"] != 1 {
		t.Errorf("dropped %v, want one EndTxn and one CreateTopics answer", counts.Dropped)
	}
}

// TestDropsAreSeeded: the same seed loses the same responses; the rate is about the one asked.
func TestDropsAreSeeded(t *testing.T) {
	draws := func(seed uint64) []bool {
		p := &Proxy{rates: map[int16]float64{}, next: map[int16]int{}, dropped: map[int16]int{}, forwarded: map[int16]int{}}
		p.rng = newRNG(seed)
		p.Drop(kmsg.EndTxn, 0.3)
		out := make([]bool, 1000)
		for i := range out {
			out[i] = p.drop(int16(kmsg.EndTxn))
		}
		return out
	}
	a, b := draws(1), draws(1)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed dropped different responses")
	}
	if slices.Equal(a, draws(2)) {
		t.Fatal("two seeds dropped the same responses")
	}
	n := 0
	for _, d := range a {
		if d {
			n++
		}
	}
	if n < 230 || n > 370 {
		t.Errorf("dropped %d of 1000 at rate 0.3", n)
	}
}
