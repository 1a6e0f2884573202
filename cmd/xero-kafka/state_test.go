package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/internal/testenv"
	"github.com/xero-kafka/xero-kafka/offsets"
)

const (
	tenantA = "3f2a9c4e-0b1d-4c55-9e7a-1f0c2b3d4e5f"
	tenantB = "b7e4d2a1-6c3f-4e8b-a9d0-5f1e2c3b4a6d"
)

// stateFixture is a state topic on the test's Kafka and the environment of the state commands.
type stateFixture struct {
	t      *testing.T
	kafka  testenv.Cluster
	env    map[string]string
	topic  string
	sealer offsets.Sealer
	// connector is a producer with the connector's transactional id that has loaded the state,
	// as a running instance has.
	connector *kgo.Client
}

func newStateFixture(t *testing.T) *stateFixture {
	t.Helper()
	kafka := testenv.Kafka(t)
	prefix := testenv.Prefix(t)
	env := validEnv()
	env["KAFKA_BOOTSTRAP_SERVERS"] = strings.Join(kafka.Brokers, ",")
	env["KAFKA_STATE_TOPIC"] = prefix + "._state"
	env["KAFKA_TRANSACTIONAL_ID"] = prefix + "-connector"
	key, err := offsets.ParseKey(env["XERO_STATE_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := offsets.NewAESGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &stateFixture{t: t, kafka: kafka, env: env, topic: env["KAFKA_STATE_TOPIC"], sealer: sealer}
	adm := kafka.Admin(t)
	if err := offsets.CreateTopic(t.Context(), adm, f.topic, testenv.ReplicationFactor); err != nil {
		t.Fatal(err)
	}
	if testenv.Real() {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := adm.DeleteTopic(ctx, f.topic); err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
				t.Logf("delete %s: %v", f.topic, err)
			}
		})
	}
	f.connector = kafka.Client(t, kgo.TransactionalID(env["KAFKA_TRANSACTIONAL_ID"]))
	return f
}

// commit writes recs in a transaction of the connector's producer.
func (f *stateFixture) commit(recs ...*kgo.Record) {
	f.t.Helper()
	for _, r := range recs {
		r.Topic = f.topic
	}
	if err := offsets.Commit(f.t.Context(), f.connector, recs...); err != nil {
		f.t.Fatalf("commit: %v", err)
	}
}

func (f *stateFixture) bookmark(tenant, stream string, b offsets.Bookmark) []*kgo.Record {
	f.t.Helper()
	recs, err := offsets.BookmarkRecords(f.topic, tenant, stream, b)
	if err != nil {
		f.t.Fatal(err)
	}
	return recs
}

// seed writes a state like the connector's: three bookmarks of two kinds for tenant A, one for
// tenant B, and a token of the chain seeded by XERO_REFRESH_TOKEN, saved at saved.
func (f *stateFixture) seed(saved time.Time) {
	f.t.Helper()
	var recs []*kgo.Record
	recs = append(recs, f.bookmark(tenantA, "invoices", offsets.Bookmark{Watermark: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC).UnixMilli(), Window: map[string]int64{"a": 1}})...)
	recs = append(recs, f.bookmark(tenantA, "journals", offsets.Bookmark{Watermark: 4821})...)
	recs = append(recs, f.bookmark(tenantA, "tax_rates", offsets.Bookmark{Hashes: map[string]uint64{"INPUT": 1, "OUTPUT": 2}})...)
	recs = append(recs, f.bookmark(tenantB, "contacts", offsets.Bookmark{Watermark: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC).UnixMilli()})...)
	tok, err := offsets.TokenRecord(f.topic, offsets.Token{
		RefreshToken: "the-rotated-refresh-token", SeedHash: offsets.HashSeed(f.env["XERO_REFRESH_TOKEN"]), SavedAt: saved,
	}, f.sealer)
	if err != nil {
		f.t.Fatal(err)
	}
	f.commit(append(recs, tok)...)
	if _, err := offsets.Load(f.t.Context(), f.connector, []kgo.Opt{kgo.SeedBrokers(f.kafka.Brokers...)}, f.topic, f.sealer); err != nil {
		f.t.Fatalf("Load: %v", err)
	}
}

// run runs `xero-kafka state args...` with stdin and returns its output and error.
func (f *stateFixture) run(stdin string, args ...string) (string, error) {
	f.t.Helper()
	var stdout, stderr bytes.Buffer
	err := stateCmd(f.t.Context(), args, envconfig.MapLookuper(f.env), strings.NewReader(stdin), &stdout, &stderr)
	out := stdout.String() + stderr.String()
	for _, secret := range []string{"the-rotated-refresh-token", f.env["XERO_REFRESH_TOKEN"], f.env["XERO_STATE_KEY"]} {
		if strings.Contains(out, secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			f.t.Errorf("state %v shows a secret: %s %v", args, out, err)
		}
	}
	return out, err
}

func (f *stateFixture) showJSON() stateJSON {
	f.t.Helper()
	out, err := f.run("", "show", "--json")
	if err != nil {
		f.t.Fatalf("state show --json: %v", err)
	}
	var v stateJSON
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		f.t.Fatalf("state show --json printed no JSON: %v\n%s", err, out)
	}
	return v
}

// TestStateShow: bookmarks per organisation and stream with the time of their commit, the
// token's age and which token seeded the chain, in a table and in JSON, never a secret.
func TestStateShow(t *testing.T) {
	f := newStateFixture(t)
	saved := time.Now().Add(-90 * time.Minute).UTC().Truncate(time.Millisecond)
	f.seed(saved)

	v := f.showJSON()
	if len(v.Bookmarks) != 4 {
		t.Fatalf("%d bookmarks, want 4: %+v", len(v.Bookmarks), v.Bookmarks)
	}
	byName := map[string]bookmarkJSON{}
	for _, b := range v.Bookmarks {
		byName[b.Tenant+"/"+b.Stream] = b
		if time.Since(b.CommittedAt) > time.Hour || b.CommittedAt.After(time.Now().Add(time.Minute)) {
			t.Errorf("%s/%s committed at %v, want the time of the commit", b.Tenant, b.Stream, b.CommittedAt)
		}
	}
	if b := byName[tenantA+"/invoices"]; b.Sync != "keyset" || b.Watermark == nil || !b.Watermark.Equal(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)) || b.Window != 1 {
		t.Errorf("invoices: %+v", b)
	}
	if b := byName[tenantA+"/journals"]; b.Offset == nil || *b.Offset != 4821 {
		t.Errorf("journals: %+v", b)
	}
	if b := byName[tenantA+"/tax_rates"]; b.Records == nil || *b.Records != 2 {
		t.Errorf("tax_rates: %+v", b)
	}
	tok := v.Token
	if !tok.Stored || !tok.Readable || tok.SavedAt == nil || !tok.SavedAt.Equal(saved) || tok.AgeSeconds == nil || *tok.AgeSeconds < 89*60 {
		t.Errorf("token: %+v, want readable, saved at %v, 90 minutes old", tok, saved)
	}
	if tok.SeedHash != offsets.HashSeed(f.env["XERO_REFRESH_TOKEN"]) || tok.SeededByEnv == nil || !*tok.SeededByEnv {
		t.Errorf("token: %+v, want seeded by XERO_REFRESH_TOKEN", tok)
	}

	f.env["XERO_REFRESH_TOKEN"] = "a-new-refresh-token"
	if v := f.showJSON(); v.Token.SeededByEnv == nil || *v.Token.SeededByEnv {
		t.Errorf("with another XERO_REFRESH_TOKEN: %+v, want seeded by another token", v.Token)
	}

	table, err := f.run("", "show")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		tenantA + "  invoices", "updated up to 2025-03-01T10:00:00Z", "journal number 4821", "2 records",
		tenantB, "Refresh token: saved " + saved.Format(time.RFC3339) + " (1h3", "another token than XERO_REFRESH_TOKEN",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("the table does not show %q:\n%s", want, table)
		}
	}
	t.Logf("state show:\n%s", table)
}

// TestStateReset: a reset names a known organisation and stream, asks for confirmation, and is
// committed without fencing the running instance; an unknown one is refused with the known names.
func TestStateReset(t *testing.T) {
	f := newStateFixture(t)
	f.seed(time.Now())
	refused := []struct {
		args []string
		msg  string
	}{
		{[]string{"--tenant", "nobody", "--stream", "invoices"}, "unknown tenant \"nobody\"; the state knows: " + tenantA + ", " + tenantB},
		{[]string{"--tenant", tenantA, "--stream", "widgets"}, "unknown stream \"widgets\" of tenant " + tenantA + "; its streams in the state: invoices, journals, tax_rates"},
		{[]string{"--tenant", tenantB, "--stream", "invoices"}, "its streams in the state: contacts"},
		{[]string{"--tenant", tenantA, "--stream", "journals", "--from", "2025-01-01"}, "--from applies to streams read by UpdatedDateUTC"},
		{[]string{"--tenant", tenantA, "--stream", "invoices", "--from", "2025-04-01"}, "never skips ahead"},
		{[]string{"--tenant", tenantA, "--stream", "invoices"}, "not confirmed"}, // answered no
	}
	for _, c := range refused {
		_, err := f.run("n\n", append([]string{"reset"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("state reset %v: %v, want an error containing %q", c.args, err, c.msg)
		}
	}
	if _, err := f.run("", "reset", "--tenant", tenantA); err == nil || !strings.Contains(err.Error(), "--stream is required") {
		t.Errorf("reset without --stream: %v", err)
	}
	if v := f.showJSON(); len(v.Resets) != 0 {
		t.Fatalf("refused resets were written: %+v", v.Resets)
	}

	out, err := f.run("y\n", "reset", "--tenant", tenantA, "--stream", "invoices", "--from", "2025-02-15")
	if err != nil {
		t.Fatalf("state reset: %v\n%s", err, out)
	}
	if _, err := f.run("", "reset", "--tenant", tenantA, "--stream", "tax_rates", "--yes"); err != nil {
		t.Fatalf("state reset --yes: %v", err)
	}
	v := f.showJSON()
	if len(v.Resets) != 2 || v.Resets[0].Stream != "invoices" || v.Resets[0].From == nil ||
		!v.Resets[0].From.Equal(time.Date(2025, 2, 15, 0, 0, 0, 0, time.UTC)) || v.Resets[1].Stream != "tax_rates" || v.Resets[1].From != nil {
		t.Fatalf("pending resets %+v, want invoices from 2025-02-15 and tax_rates from the start", v.Resets)
	}
	if !v.Token.Readable || v.Token.SavedAt == nil {
		t.Errorf("the token changed: %+v", v.Token)
	}
	// The running instance is not fenced: it commits as before.
	f.commit(f.bookmark(tenantA, "journals", offsets.Bookmark{Watermark: 4900})...)
}

// TestStateRemoveUnreadable: for each record a start cannot read (random bytes, a JSON record of
// another application, a token sealed with another key, a record of a future format version),
// remove-unreadable lists it, removes it once confirmed and nothing else, and the next start goes
// on with the rest of the state.
func TestStateRemoveUnreadable(t *testing.T) {
	other, err := offsets.NewAESGCM([]byte("another state key, 32 bytes long"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		rec  func(f *stateFixture) *kgo.Record
		msg  string
	}{
		{"random bytes", func(*stateFixture) *kgo.Record {
			return &kgo.Record{Key: []byte{0xff, 0x13, 0x00, 0x7f}, Value: []byte{0x00, 0xfe, 0x10, 0x99, 0x42}}
		}, "unknown key"},
		{"JSON of another application", func(*stateFixture) *kgo.Record {
			return &kgo.Record{Key: []byte("order-4711"), Value: []byte(`{"order":4711}`)}
		}, "unknown key"},
		{"token sealed with another key", func(f *stateFixture) *kgo.Record {
			r, err := offsets.TokenRecord(f.topic, offsets.Token{RefreshToken: "the-rotated-refresh-token", SeedHash: offsets.HashSeed(f.env["XERO_REFRESH_TOKEN"])}, other)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}, "state key does not match"},
		{"future format version", func(f *stateFixture) *kgo.Record {
			r := f.bookmark(tenantB, "items", offsets.Bookmark{Watermark: 1})[0]
			r.Value[2] = 99
			return r
		}, "newer release"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newStateFixture(t)
			f.seed(time.Now())
			bad := c.rec(f)
			f.commit(bad)

			if out, err := f.run("no\n", "remove-unreadable"); err == nil || !strings.Contains(out, c.msg) {
				t.Fatalf("unconfirmed: %v\n%s", err, out)
			}
			if v := f.showJSON(); len(v.Unreadable) != 1 || v.Unreadable[0].Offset != bad.Offset ||
				(v.Unreadable[0].Key != string(bad.Key) && v.Unreadable[0].KeyHex != hex.EncodeToString(bad.Key)) {
				t.Fatalf("unreadable after a refusal: %+v, want offset %d key %q", v.Unreadable, bad.Offset, bad.Key)
			}
			out, err := f.run("y\n", "remove-unreadable")
			if err != nil {
				t.Fatalf("remove-unreadable: %v\n%s", err, out)
			}
			t.Logf("remove-unreadable:\n%s", out)
			if out, err := f.run("", "remove-unreadable"); err != nil || !strings.Contains(out, "nothing to remove") {
				t.Errorf("a second run: %v\n%s", err, out)
			}

			// The next start reads the state, and everything readable is still there.
			st, err := offsets.Load(t.Context(), f.kafka.Client(t, kgo.TransactionalID(f.env["KAFKA_TRANSACTIONAL_ID"])),
				[]kgo.Opt{kgo.SeedBrokers(f.kafka.Brokers...)}, f.topic, f.sealer)
			if err != nil {
				t.Fatalf("Load after the removal: %v", err)
			}
			if got := len(st.Bookmarks()); got != 4 {
				t.Errorf("%d bookmarks after the removal, want the 4 readable ones", got)
			}
			_, hasToken := st.Token()
			if wantToken := c.name != "token sealed with another key"; hasToken != wantToken {
				t.Errorf("token loaded: %t, want %t", hasToken, wantToken)
			}
		})
	}
}

// TestStateConfigErrors: the state commands name a missing or malformed variable and need only
// Kafka's and the state key.
func TestStateConfigErrors(t *testing.T) {
	for _, c := range []struct {
		unset, set, value, want string
	}{
		{unset: "KAFKA_BOOTSTRAP_SERVERS", want: "KAFKA_BOOTSTRAP_SERVERS: missing required value"},
		{unset: "XERO_STATE_KEY", want: "XERO_STATE_KEY: missing required value"},
		{set: "XERO_STATE_KEY", value: "c2hvcnQ=", want: "XERO_STATE_KEY"},
		{set: "KAFKA_SASL_MECHANISM", value: "GSSAPI", want: "KAFKA_SASL_MECHANISM"},
		{set: "KAFKA_TRANSACTION_TIMEOUT", value: "soon", want: "KAFKA_TRANSACTION_TIMEOUT"},
	} {
		env := map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "XERO_STATE_KEY": validEnv()["XERO_STATE_KEY"]}
		delete(env, c.unset)
		if c.set != "" {
			env[c.set] = c.value
		}
		var stdout, stderr bytes.Buffer
		code := realMainState(env, &stdout, &stderr, "state", "show")
		if code != exitConfig || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want %d naming %s", env, code, stderr.String(), exitConfig, c.want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := realMainState(nil, &stdout, &stderr, "state", "rewind"); code != exitConfig || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("state rewind: exit %d, %q", code, stderr.String())
	}
}

func realMainState(env map[string]string, stdout, stderr *bytes.Buffer, args ...string) int {
	return realMain(args, envconfig.MapLookuper(env), stdout, stderr)
}
