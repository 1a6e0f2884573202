package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
	"github.com/xero-kafka/xero-kafka/xerosim"
)

// fixedPage is a lister that answers every call with the same records.
type fixedPage []string

func (f fixedPage) List(context.Context, xero.Request) (*xero.Page, error) {
	pg := &xero.Page{Pagination: &xero.Pagination{Page: 1, PageSize: 1000, PageCount: 1, ItemCount: len(f)}}
	for _, r := range f {
		pg.Records = append(pg.Records, json.RawMessage(r))
	}
	return pg, nil
}

// TestRecordsWrittenExcludesDeadLetters: the status counts the records written to the stream's
// topic, not those sent to the dead-letter topic.
func TestRecordsWrittenExcludesDeadLetters(t *testing.T) {
	log := &memLog{}
	p := newTestPoller(t, "invoices", fixedPage{
		`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`,
		`{"UpdatedDateUTC":"/Date(1700000001000+0000)/"}`, // no primary key: a dead letter
		`{"InvoiceID":"b","UpdatedDateUTC":"/Date(1700000002000+0000)/"}`,
	}, log)
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := p.status.snapshot(); got.RecordsWritten != 2 || got.DeadLetters != 1 {
		t.Errorf("records written %d, dead letters %d; want 2 and 1", got.RecordsWritten, got.DeadLetters)
	}
}

// TestFetchErrorNamesTheCall: a failed call says which endpoint failed, and names a page only
// for paged endpoints.
func TestFetchErrorNamesTheCall(t *testing.T) {
	sim := xerosim.New(xerosim.Seed(1), xerosim.Tenants(1), xerosim.Fast(), xerosim.GateJournals())
	t.Cleanup(sim.Close)
	api, err := xero.NewClient(xero.Config{APIURL: sim.URL(), IdentityURL: sim.URL(), ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret()},
		sim.RefreshToken(), discardTokens{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := newTestPoller(t, "journals", api, &memLog{})
	p.tenant = sim.Tenants()[0]
	err = p.cycle(context.Background())
	if err == nil {
		t.Fatal("journals are gated: the cycle should fail")
	}
	msg := err.Error()
	if !strings.Contains(msg, "/Journals") || strings.Contains(msg, "page") {
		t.Errorf("error %q: want the endpoint named and no page (journals are read by offset)", msg)
	}
}

type discardTokens struct{}

func (discardTokens) SaveRefreshToken(context.Context, string) error { return nil }

// TestDebugLogShowsDecisions: at debug level the poller says what it read and committed.
func TestDebugLogShowsDecisions(t *testing.T) {
	var buf bytes.Buffer
	p := newTestPoller(t, "invoices", fixedPage{`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`}, &memLog{})
	p.log = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := p.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="keyset page read"`, "new=1", `msg=committed`, "records=1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("debug log lacks %s:\n%s", want, buf.String())
		}
	}
}

// TestKafkaLogLevel: with the connector logging at debug, the Kafka client's own logs start at
// warnings unless asked for.
func TestKafkaLogLevel(t *testing.T) {
	debug := kslog.New(slog.New(slog.NewTextHandler(new(bytes.Buffer), &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, c := range []struct {
		level string // "" is the default
		want  kgo.LogLevel
	}{{"", kgo.LogLevelWarn}, {"debug", kgo.LogLevelDebug}, {"error", kgo.LogLevelError}} {
		cfg, err := Config{RefreshToken: "x", KafkaLogLevel: c.level}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := (kafkaLogger{debug, kafkaLevels[cfg.KafkaLogLevel]}).Level(); got != c.want {
			t.Errorf("KafkaLogLevel %q: franz-go logs from %s, want %s", c.level, got, c.want)
		}
	}
	if _, err := (Config{RefreshToken: "x", KafkaLogLevel: "loud"}).withDefaults(); err == nil {
		t.Error("an unknown Kafka log level was accepted")
	}
}

// scripted is a lister that answers call n (from 0) with answer(n), and records when each call
// came, on the clock of the synctest bubble it runs in.
type scripted struct {
	mu     sync.Mutex
	start  time.Time
	calls  []time.Duration
	answer func(n int) (*xero.Page, error)
}

func (s *scripted) List(context.Context, xero.Request) (*xero.Page, error) {
	s.mu.Lock()
	n := len(s.calls)
	s.calls = append(s.calls, time.Since(s.start))
	s.mu.Unlock()
	return s.answer(n)
}

func (s *scripted) times() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// emptyPage is a complete answer with no record.
func emptyPage() *xero.Page {
	return &xero.Page{Pagination: &xero.Pagination{Page: 1, PageSize: 1000, PageCount: 1}}
}

// runFor runs p alone on a scheduler for d of the bubble's time, then stops it and waits for
// the scheduler to return.
func runFor(t *testing.T, p *poller, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runAlone(ctx, p) }()
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// runAlone runs p's cycles on a scheduler of its own until ctx ends or a cycle fails for good; a
// fakeInbox of p's wakes it.
func runAlone(ctx context.Context, p *poller) error {
	s := newScheduler(1, nil)
	s.add(p)
	if in, ok := p.resets.(*fakeInbox); ok {
		in.setWake(func() { s.wake(p.tenant, p.stream.Name) })
	}
	return s.run(ctx)
}

// TestPollerBacksOff: after failed cycles the poller waits 5s, 10s, 20s, ... and after a cycle
// that succeeds it waits the poll interval again.
func TestPollerBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &scripted{start: time.Now(), answer: func(n int) (*xero.Page, error) {
			if n < 3 {
				return nil, errors.New("injected failure")
			}
			return emptyPage(), nil
		}}
		p := newTestPoller(t, "invoices", src, &memLog{})
		p.interval = time.Minute
		runFor(t, p, 3*time.Minute)
		want := []time.Duration{0, 5 * time.Second, 15 * time.Second, 35 * time.Second, 95 * time.Second, 155 * time.Second}
		if got := src.times(); !slices.Equal(got, want) {
			t.Errorf("calls at %v, want %v", got, want)
		}
	})
}

// TestPollerDayLimitPauses: when Xero's daily limit is spent the stream pauses for the time Xero
// names, and says until when in its status.
func TestPollerDayLimitPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &scripted{start: time.Now(), answer: func(n int) (*xero.Page, error) {
			if n == 0 {
				return nil, &xero.APIError{StatusCode: 429, Problem: xero.ProblemDay, RetryAfter: 3 * time.Hour}
			}
			return emptyPage(), nil
		}}
		p := newTestPoller(t, "invoices", src, &memLog{})
		p.interval = 2 * time.Hour
		runFor(t, p, 4*time.Hour)
		want := []time.Duration{0, 3 * time.Hour}
		if got := src.times(); !slices.Equal(got, want) {
			t.Errorf("calls at %v, want %v", got, want)
		}
	})
}

// fakeInbox holds resets for one stream, as offsets.ResetInbox does, and calls wake for each
// new one, as offsets.State.OnReset does.
type fakeInbox struct {
	mu      sync.Mutex
	pending []offsets.Reset
	wake    func()
}

func (in *fakeInbox) setWake(f func()) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.wake = f
}

func (in *fakeInbox) Pending() []offsets.Reset {
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.pending)
}

func (in *fakeInbox) Applied(done []offsets.Reset) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.pending = in.pending[len(done):]
}

func (in *fakeInbox) add(r offsets.Reset) {
	in.mu.Lock()
	in.pending = append(in.pending, r)
	wake := in.wake
	in.mu.Unlock()
	if wake != nil {
		wake()
	}
}

// TestPollerResetWakes: a reset arriving while the poller waits for its next cycle is applied at
// once, in a transaction with its tombstone, and the stream is read again from the reset's date
// without waiting for the interval.
func TestPollerResetWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &scripted{start: time.Now(), answer: func(int) (*xero.Page, error) { return emptyPage(), nil }}
		log := &memLog{}
		p := newTestPoller(t, "invoices", src, log)
		p.interval = time.Hour
		p.bm.Watermark = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
		inbox := &fakeInbox{}
		p.resets = inbox
		from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		go func() {
			time.Sleep(10 * time.Minute)
			inbox.add(offsets.Reset{BookmarkID: offsets.BookmarkID{Tenant: "t1", Stream: "invoices"}, ID: "r1", From: from})
		}()
		runFor(t, p, 30*time.Minute)
		want := []time.Duration{0, 10 * time.Minute}
		if got := src.times(); !slices.Equal(got, want) {
			t.Errorf("calls at %v, want %v", got, want)
		}
		if p.bm.Watermark != from.UnixMilli() {
			t.Errorf("watermark %v after the reset, want %v", time.UnixMilli(p.bm.Watermark).UTC(), from)
		}
		if len(inbox.Pending()) != 0 || log.commits != 1 {
			t.Errorf("%d resets pending, %d commits; want 0 and 1", len(inbox.Pending()), log.commits)
		}
	})
}

// TestPollerStopsOnFatal: a commit whose outcome is unknown ends the poller with the error, so
// that the session ends and the state is loaded again; it does not retry by itself.
func TestPollerStopsOnFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &scripted{start: time.Now(), answer: func(int) (*xero.Page, error) {
			return fixedPage{`{"InvoiceID":"a","UpdatedDateUTC":"/Date(1700000000000+0000)/"}`}.List(context.Background(), xero.Request{})
		}}
		out := committerFunc(func(context.Context, []*kgo.Record) error {
			return fmt.Errorf("%w: injected", errOutcomeUnknown)
		})
		p := newTestPoller(t, "invoices", src, out)
		err := runAlone(t.Context(), p)
		if !errors.Is(err, errOutcomeUnknown) {
			t.Fatalf("run: %v, want the unknown outcome", err)
		}
		if got := len(src.times()); got != 1 {
			t.Errorf("%d calls, want 1", got)
		}
	})
}

type committerFunc func(context.Context, []*kgo.Record) error

func (f committerFunc) commit(ctx context.Context, recs []*kgo.Record) error { return f(ctx, recs) }
