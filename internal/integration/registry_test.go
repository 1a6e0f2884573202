package integration

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/internal/testenv"
)

const (
	keySchemaV1 = `{"type":"record","name":"ContactKey","namespace":"com.example.xk","fields":[
  {"name":"TenantID","type":"string"},{"name":"ContactID","type":"string"}]}`
	valueSchemaV1 = `{"type":"record","name":"Contact","namespace":"com.example.xk","fields":[
  {"name":"ContactID","type":"string"},
  {"name":"Name","type":["null","string"],"default":null}]}`
	// V2 adds a nullable field with a default: readers of V2 can read V1 data (BACKWARD).
	valueSchemaV2 = `{"type":"record","name":"Contact","namespace":"com.example.xk","fields":[
  {"name":"ContactID","type":"string"},
  {"name":"Name","type":["null","string"],"default":null},
  {"name":"EmailAddress","type":["null","string"],"default":null}]}`
	// V3 adds a required field without a default: V3 readers cannot read V2 data.
	valueSchemaV3 = `{"type":"record","name":"Contact","namespace":"com.example.xk","fields":[
  {"name":"ContactID","type":"string"},
  {"name":"Name","type":["null","string"],"default":null},
  {"name":"EmailAddress","type":["null","string"],"default":null},
  {"name":"AccountNumber","type":"string"}]}`
)

// schemaErr returns the registry's error code and HTTP status inside err.
func schemaErr(err error) (code, status int) {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return 0, 0
}

// TestRegistryAvro registers Avro schemas under TopicNameStrategy subjects through franz-go's
// sr client, as the connector does, and checks the Confluent behaviours it relies on.
func TestRegistryAvro(t *testing.T) {
	regURL := testenv.Registry(t)
	reg := testenv.RegistryClient(t, regURL)
	ctx := t.Context()
	topic := testenv.Prefix(t) + ".contacts"
	keySubject, valueSubject := topic+"-key", topic+"-value"
	avroSchema := func(s string) sr.Schema { return sr.Schema{Schema: s, Type: sr.TypeAvro} }

	key, err := reg.CreateSchema(ctx, keySubject, avroSchema(keySchemaV1))
	if err != nil {
		t.Fatalf("register %s: %v", keySubject, err)
	}
	v1, err := reg.CreateSchema(ctx, valueSubject, avroSchema(valueSchemaV1))
	if err != nil {
		t.Fatalf("register %s: %v", valueSubject, err)
	}
	if key.ID == v1.ID {
		t.Errorf("key and value schemas share id %d", key.ID)
	}

	t.Run("registering again returns the same id", func(t *testing.T) {
		again, err := reg.CreateSchema(ctx, valueSubject, avroSchema(valueSchemaV1))
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != v1.ID || again.Version != v1.Version {
			t.Errorf("re-registration: id %d version %d, want id %d version %d", again.ID, again.Version, v1.ID, v1.Version)
		}
		looked, err := reg.LookupSchema(ctx, valueSubject, avroSchema(valueSchemaV1))
		if err != nil {
			t.Fatal(err)
		}
		if looked.ID != v1.ID {
			t.Errorf("lookup: id %d, want %d", looked.ID, v1.ID)
		}
		versions, err := reg.SubjectVersions(ctx, valueSubject)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(versions, []int{v1.Version}) {
			t.Errorf("versions of %s: %v, want [%d]", valueSubject, versions, v1.Version)
		}
	})

	t.Run("schema by id", func(t *testing.T) {
		s, err := reg.SchemaByID(ctx, v1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Type != sr.TypeAvro {
			t.Errorf("schema %d has type %v, want AVRO", v1.ID, s.Type)
		}
		_, err = reg.SchemaByID(ctx, 1<<30)
		if code, status := schemaErr(err); code != sr.ErrSchemaNotFound.Code || status != http.StatusNotFound {
			t.Errorf("unknown id: error code %d, HTTP %d (%v); want %d, 404", code, status, err, sr.ErrSchemaNotFound.Code)
		}
		_, err = reg.SubjectVersions(ctx, topic+"-missing")
		if code, status := schemaErr(err); code != sr.ErrSubjectNotFound.Code || status != http.StatusNotFound {
			t.Errorf("unknown subject: error code %d, HTTP %d (%v); want %d, 404", code, status, err, sr.ErrSubjectNotFound.Code)
		}
	})

	t.Run("BACKWARD compatibility", func(t *testing.T) {
		if !testenv.RealRegistry() {
			t.Skip("srfake accepts every schema whatever the compatibility level")
		}
		global := reg.Compatibility(ctx)
		if len(global) != 1 || global[0].Err != nil {
			t.Fatalf("global compatibility: %+v", global)
		}
		t.Logf("global compatibility level: %v", global[0].Level)
		if global[0].Level != sr.CompatBackward {
			t.Errorf("global compatibility level %v, want BACKWARD (scripts/services.sh sets it)", global[0].Level)
		}
		set := reg.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, valueSubject)
		if len(set) != 1 || set[0].Err != nil {
			t.Fatalf("set compatibility of %s: %+v", valueSubject, set)
		}

		v2, err := reg.CreateSchema(ctx, valueSubject, avroSchema(valueSchemaV2))
		if err != nil {
			t.Fatalf("compatible change rejected: %v", err)
		}
		if v2.ID == v1.ID || v2.Version != v1.Version+1 {
			t.Errorf("compatible change: id %d version %d, want a new id and version %d", v2.ID, v2.Version, v1.Version+1)
		}

		check, err := reg.CheckCompatibility(ctx, valueSubject, -1, avroSchema(valueSchemaV3))
		if err != nil {
			t.Fatalf("check compatibility: %v", err)
		}
		if check.Is {
			t.Errorf("check compatibility of an added required field: compatible, want incompatible")
		}
		_, err = reg.CreateSchema(ctx, valueSubject, avroSchema(valueSchemaV3))
		code, status := schemaErr(err)
		t.Logf("incompatible registration: HTTP %d, error code %d: %v", status, code, err)
		if code != sr.ErrIncompatibleSchema.Code || status != http.StatusConflict {
			t.Errorf("incompatible change: error code %d, HTTP %d (%v); want %d, 409", code, status, err, sr.ErrIncompatibleSchema.Code)
		}
		versions, err := reg.SubjectVersions(ctx, valueSubject)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(versions, []int{v1.Version, v2.Version}) {
			t.Errorf("versions of %s after the rejection: %v, want [%d %d]", valueSubject, versions, v1.Version, v2.Version)
		}
	})

	t.Run("invalid schema", func(t *testing.T) {
		if !testenv.RealRegistry() {
			t.Skip("srfake does not parse Avro schemas")
		}
		_, err := reg.CreateSchema(ctx, topic+"-bad-value", avroSchema(`{"type":"record","name":"X","fields":[{"name":"a","type":"nosuchtype"}]}`))
		code, status := schemaErr(err)
		t.Logf("invalid schema: HTTP %d, error code %d: %v", status, code, err)
		if code != sr.ErrInvalidSchema.Code || status != http.StatusUnprocessableEntity {
			t.Errorf("invalid schema: error code %d, HTTP %d (%v); want %d, 422", code, status, err, sr.ErrInvalidSchema.Code)
		}
	})
}

// TestSchemasCheck: avro.Check (behind `xero-kafka schemas --check`) tells a subject that does
// not exist, one that already holds the connector's schema, and one whose history the schema
// cannot follow, with the registry's reason. The last needs a registry that checks
// compatibility: srfake answers every check with "compatible".
func TestSchemasCheck(t *testing.T) {
	regURL := testenv.Registry(t)
	reg := testenv.RegistryClient(t, regURL)
	ctx := t.Context()
	codec, err := avro.NewCodec("invoices")
	if err != nil {
		t.Fatal(err)
	}
	topic := testenv.Prefix(t) + ".invoices"

	got, err := avro.Check(ctx, reg, topic, codec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Registered || c.Same || !c.Compatible {
			t.Errorf("before registration: %+v, want not registered and compatible", c)
		}
	}

	// A key schema this topic once had: without InvoiceID, which the connector's key needs and
	// has no default for, so the connector's key cannot read the old keys.
	old := `{"type":"record","name":"InvoiceKey","namespace":"xerokafka.accounting","fields":[{"name":"TenantID","type":"string"}]}`
	if _, err := reg.CreateSchema(ctx, topic+"-key", sr.Schema{Schema: old, Type: sr.TypeAvro}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.CreateSchema(ctx, topic+"-value", sr.Schema{Schema: codec.ValueSchema(), Type: sr.TypeAvro}); err != nil {
		t.Fatal(err)
	}
	got, err = avro.Check(ctx, reg, topic, codec)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Subject != topic+"-key" || got[1].Subject != topic+"-value" {
		t.Fatalf("subjects %+v", got)
	}
	if v := got[1]; !v.Registered || !v.Same || !v.Compatible {
		t.Errorf("value: %+v, want registered, the same schema", v)
	}
	k := got[0]
	if !k.Registered || k.Same {
		t.Errorf("key: %+v, want registered with another schema", k)
	}
	if !testenv.RealRegistry() {
		t.Skip("srfake answers every compatibility check with compatible; the incompatible key is checked on Apicurio")
	}
	if k.Compatible {
		t.Errorf("key: %+v, want incompatible", k)
	}
	if len(k.Reasons) == 0 || !strings.Contains(strings.Join(k.Reasons, " "), "InvoiceID") {
		t.Errorf("key: reasons %q do not name the field InvoiceID", k.Reasons)
	}
	t.Logf("registry's reasons: %q", k.Reasons)
}
