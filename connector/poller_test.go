package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kslog"

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
