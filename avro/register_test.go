package avro

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"
	"github.com/hamba/avro/v2/registry"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"github.com/xero-kafka/xero-kafka/internal/avrocheck"
	"github.com/xero-kafka/xero-kafka/streams"
)

func newRegistry(tb testing.TB) (*srfake.Registry, *sr.Client) {
	tb.Helper()
	reg := srfake.New()
	tb.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		tb.Fatal(err)
	}
	return reg, cl
}

// TestRegisterAndWireFormat registers a stream's schemas, frames a key and a value in the
// Confluent wire format and reads them back with hamba's registry decoder, which fetches the
// schemas by the ids in the headers.
func TestRegisterAndWireFormat(t *testing.T) {
	ctx := context.Background()
	reg, cl := newRegistry(t)
	c := mustCodec(t, "invoices")
	ids, err := Register(ctx, cl, "xero.invoices", c)
	if err != nil {
		t.Fatal(err)
	}
	if ids.KeyID == ids.ValueID || ids.KeyID == 0 || ids.ValueID == 0 {
		t.Fatalf("ids %+v", ids)
	}

	// The registry holds the original text under the TopicNameStrategy subjects.
	for subject, want := range map[string]string{"xero.invoices-key": c.KeySchema(), "xero.invoices-value": c.ValueSchema()} {
		got, err := cl.SchemaByVersion(ctx, subject, -1)
		if err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		if got.Schema.Schema != want {
			t.Errorf("%s does not hold the schema's original text", subject)
		}
	}

	// Registering again is idempotent.
	again, err := Register(ctx, cl, "xero.invoices", c)
	if err != nil || again != ids {
		t.Fatalf("second Register = %+v, %v; want %+v", again, err, ids)
	}

	raw := []byte(`{"InvoiceID":"d4956132-ed94-4dd7-9eaa-aa22dfdf06f2","Total":46.00,"Date":"\/Date(1539993600000+0000)\/"}`)
	var h sr.ConfluentHeader
	value, err := h.AppendEncode(nil, ids.ValueID, nil)
	if err != nil {
		t.Fatal(err)
	}
	value, err = c.AppendValue(value, raw, "tenant-1", time.UnixMilli(1000))
	if err != nil {
		t.Fatal(err)
	}
	key, err := h.AppendEncode(nil, ids.KeyID, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err = c.AppendKey(key, "tenant-1", "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2")
	if err != nil {
		t.Fatal(err)
	}
	if value[0] != 0 || key[0] != 0 {
		t.Fatal("no magic byte")
	}
	if id, _, err := h.DecodeID(value); err != nil || id != ids.ValueID {
		t.Fatalf("value header id %d, %v", id, err)
	}

	hc, err := registry.NewClient(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	dec := registry.NewDecoder(hc)
	var gotValue map[string]any
	if err := dec.Decode(ctx, value, &gotValue); err != nil {
		t.Fatal(err)
	}
	s, err := hamba.Parse(c.ValueSchema())
	if err != nil {
		t.Fatal(err)
	}
	if diffs := avrocheck.Compare(s, parseJSON(t, raw), gotValue, avrocheck.Meta{TenantID: "tenant-1", ExtractedAt: time.UnixMilli(1000)}); len(diffs) > 0 {
		t.Errorf("value read through the registry differs: %v", diffs)
	}
	var gotKey map[string]any
	if err := dec.Decode(ctx, key, &gotKey); err != nil {
		t.Fatal(err)
	}
	if gotKey["TenantID"] != "tenant-1" || gotKey["InvoiceID"] != "d4956132-ed94-4dd7-9eaa-aa22dfdf06f2" {
		t.Errorf("key read through the registry: %v", gotKey)
	}
}

func TestRegisterError(t *testing.T) {
	reg, cl := newRegistry(t)
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.Contains(r.URL.Path, "-value") {
			http.Error(w, `{"error_code":409,"message":"incompatible"}`, http.StatusConflict)
			return true
		}
		return false
	})
	_, err := Register(context.Background(), cl, "xero.users", mustCodec(t, "users"))
	var re *sr.ResponseError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "xero.users-value") {
		t.Fatalf("error %v, want a registry error naming the subject", err)
	}
}

// TestRegisterAllConcurrently registers every stream's subjects with at most four requests in
// flight, and checks that four were (the registry holds the first ones until the fourth
// arrives), that no more were, and that the ids are those the registry keeps.
func TestRegisterAllConcurrently(t *testing.T) {
	const parallel = 4
	reg, cl := newRegistry(t)
	var (
		inflight, most atomic.Int32
		full           = make(chan struct{})
		fullOnce       sync.Once
	)
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost {
			return false
		}
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n == parallel {
			fullOnce.Do(func() { close(full) })
		}
		select {
		case <-full:
		case <-time.After(30 * time.Second): // generous: only a registration in series waits
		}
		return false
	})
	var topics []Topic
	for _, name := range streams.Names()[:8] { // enough to queue; every stream is slow on srfake
		topics = append(topics, Topic{Name: "xero." + name, Codec: mustCodec(t, name)})
	}
	ids, err := RegisterAll(t.Context(), cl, topics, parallel)
	if err != nil {
		t.Fatal(err)
	}
	if got := most.Load(); got != parallel {
		t.Errorf("at most %d registrations in flight, want %d", got, parallel)
	}
	if len(ids) != len(topics) {
		t.Fatalf("%d ids for %d topics", len(ids), len(topics))
	}
	for i, tp := range topics {
		for subject, id := range map[string]int{tp.Name + "-key": ids[i].KeyID, tp.Name + "-value": ids[i].ValueID} {
			s, err := cl.SchemaByVersion(t.Context(), subject, -1)
			if err != nil {
				t.Fatalf("%s: %v", subject, err)
			}
			if s.ID != id {
				t.Errorf("%s: id %d, the registry holds %d", subject, id, s.ID)
			}
		}
	}
}
