package connector_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// TestDayBudgetOverThreeDays runs one organisation for three simulated days, under Xero's day
// limit and under the Starter tier's: 5,000 linked transactions (read by a scan of 50 pages),
// every other stream at a small business's volume, a few hundred changes a day. No call is
// refused for the day limit, and every stream is read every day.
//
// The connector, kfake, the schema registry and the simulator run in a testing/synctest bubble
// on in-memory connections: the three days pass as fast as the machine runs the calls.
func TestDayBudgetOverThreeDays(t *testing.T) {
	if testenv.Real() {
		t.Skip("simulated days need every part in one synctest bubble, on in-process fakes; a real broker keeps real time")
	}
	t.Parallel()
	// The offsets package builds its zstd encoder once per process, on first use. Built inside
	// a bubble, its channels belong to that bubble, and the other could not use it: build it
	// here, outside both.
	hashes := make(map[string]uint64, 100)
	for i := range 100 {
		hashes[fmt.Sprint("record-", i)] = uint64(i)
	}
	if _, err := offsets.BookmarkRecords("state", "tenant", "stream", offsets.Bookmark{Hashes: hashes}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{5000, 1000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) { runDays(t, limit, 3) })
		})
	}
}

// smallBusiness is a small business's volume of each stream beside the linked transactions;
// the reference tables keep the simulator's fixed sizes.
var smallBusiness = map[string]int{
	"invoices": 3000, "contacts": 1200, "payments": 2000, "bank_transactions": 4000, "journals": 10000,
	"credit_notes": 150, "items": 300, "quotes": 200, "purchase_orders": 300, "manual_journals": 100,
	"bank_transfers": 100, "overpayments": 20, "prepayments": 20, "receipts": 50, "expense_claims": 30,
	"repeating_invoices": 40, "users": 10, "contact_groups": 10, "branding_themes": 3,
	"linked_transactions": 5000,
}

func runDays(t *testing.T, limit, days int) {
	opts := []xerosim.Option{xerosim.Seed(13), xerosim.Tenants(1), xerosim.DayLimit(limit)}
	for name, n := range smallBusiness {
		opts = append(opts, xerosim.Volume(name, n))
	}
	sim := xerosim.NewSim(opts...)
	defer sim.Close()
	simHTTP, stopSim := serveInMemory(sim.Handler())
	defer stopSim()
	calls := &callBook{next: simHTTP, start: time.Now()}

	var vn kfake.VirtualNetwork
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(9092), kfake.ListenFn(vn.Listen))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	fakeRegistry := srfake.NewRegistry()
	testenv.QuickRegistrations(fakeRegistry)
	registryHTTP, stopRegistry := serveInMemory(fakeRegistry.Handler())
	defer stopRegistry()
	registry, err := sr.NewClient(sr.URLs("http://registry.test"), sr.HTTPClient(&http.Client{Transport: registryHTTP}))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := offsets.NewAESGCM([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := connector.New(connector.Config{
		Xero: xero.Config{
			APIURL: "http://xero.test", IdentityURL: "http://xero.test",
			ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), Transport: calls,
		},
		RefreshToken:           sim.RefreshToken(),
		DayLimit:               limit,
		TopicReplicationFactor: 1,
		// Data topics that are not compacted spare kfake's cleaner three days of work.
		TopicCleanupPolicy: "delete",
	}, connector.Deps{
		Kafka: []kgo.Opt{
			kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.Dialer(vn.DialContext),
			// Fewer idle requests in three days: the work of the test is Xero's calls.
			kgo.DisableClientMetrics(), kgo.FetchMaxWait(time.Minute), kgo.MetadataMaxAge(time.Hour),
		},
		Registry: registry,
		Sealer:   sealer,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	// A few hundred changes a day, every ten minutes.
	for range days * 24 * 6 {
		select {
		case err := <-done:
			t.Fatalf("the connector stopped by itself: %v", err)
		case <-time.After(10 * time.Minute):
		}
		sim.Mutate(3)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	st := sim.Stats()
	if n := st.RateLimited["day"]; n > 0 {
		t.Errorf("%d calls refused for the day limit", n)
	}
	tenant := sim.Tenants()[0]
	for _, s := range c.Status().Tenants[0].Streams {
		if s.PausedUntil != nil {
			t.Errorf("%s: paused until %v", s.Stream, s.PausedUntil)
		}
		if s.LastError != "" {
			t.Errorf("%s: last error %s", s.Stream, s.LastError)
		}
		if s.Stream == "linked_transactions" || s.Stream == "journals" || s.Stream == "invoices" {
			t.Logf("%s: plan %+v", s.Stream, *s.Plan)
		}
	}
	perDay := calls.perDay(days)
	for d, byPath := range perDay {
		total := 0
		for _, n := range byPath {
			total += n
		}
		t.Logf("day %d: %d calls of %d", d+1, total, limit)
		for _, name := range streams.Names() {
			s, _ := streams.ByName(name)
			if byPath[s.Path] == 0 {
				t.Errorf("day %d: %s (%s) not read", d+1, name, s.Path)
			}
		}
	}
	// The scan reads all of its pages, every day: its last complete cycle began on the last day.
	truth, err := sim.Truth(tenant, "linked_transactions")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Status().Tenants[0].Streams {
		if s.Stream != "linked_transactions" {
			continue
		}
		if s.CaughtUpAt == nil || s.CaughtUpAt.Before(calls.start.Add(time.Duration(days-1)*24*time.Hour)) {
			t.Errorf("linked transactions: the last complete scan began at %v, before the last day", s.CaughtUpAt)
		}
		if s.Bookmark.Records < len(truth)*95/100 {
			t.Errorf("linked transactions: %d tracked, the simulator holds %d", s.Bookmark.Records, len(truth))
		}
	}
}

// callBook passes calls to the simulator and counts them per simulated day and path.
type callBook struct {
	next  http.RoundTripper
	start time.Time

	mu    sync.Mutex
	calls []bookedCall
}

type bookedCall struct {
	at   time.Time
	path string
}

func (b *callBook) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if path, ok := strings.CutPrefix(req.URL.Path, "/api.xro/2.0"); ok && err == nil && resp.StatusCode != http.StatusTooManyRequests {
		b.mu.Lock()
		b.calls = append(b.calls, bookedCall{at: time.Now(), path: path})
		b.mu.Unlock()
	}
	return resp, err
}

// perDay returns the calls of each of the first days, per path.
func (b *callBook) perDay(days int) []map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]map[string]int, days)
	for d := range out {
		out[d] = map[string]int{}
	}
	for _, c := range b.calls {
		if d := int(c.at.Sub(b.start) / (24 * time.Hour)); d < days {
			out[d][c.path]++
		}
	}
	return out
}

// serveInMemory serves h on in-memory connections and returns a transport that reaches it,
// whatever the host asked for: inside a synctest bubble, goroutines waiting on them are durably
// blocked, so the bubble's clock can advance.
func serveInMemory(h http.Handler) (*http.Transport, func()) {
	ln := &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tr := &http.Transport{DialContext: ln.dial}
	return tr, func() {
		tr.CloseIdleConnections()
		_ = srv.Close()
		<-done
	}
}

// memListener is a net.Listener whose connections are net.Pipe pairs.
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

func (l *memListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "memory" }
