package avro

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	hamba "github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"golang.org/x/sync/errgroup"
)

// Registered holds the ids the Schema Registry gave a topic's key and value schemas. They go in
// the Confluent wire header of each record (sr.ConfluentHeader.AppendEncode).
type Registered struct {
	KeyID   int
	ValueID int
}

// Register registers the codec's key and value schemas, as their original JSON text, under the
// subjects of Confluent's TopicNameStrategy: <topic>-key and <topic>-value. Registering a schema
// that is already there returns its id, so Register is safe to call at every start. The registry
// refuses a schema that is not compatible with the subject's history under its compatibility
// setting; the error says which subject.
func Register(ctx context.Context, cl *sr.Client, topic string, c *Codec) (Registered, error) {
	ids, err := RegisterAll(ctx, cl, []Topic{{Name: topic, Codec: c}}, 1)
	if err != nil {
		return Registered{}, err
	}
	return ids[0], nil
}

// Compatibility is how a schema of the connector stands against a subject of the registry.
type Compatibility struct {
	Subject string
	// Registered is false when the subject does not exist yet: the connector creates it at
	// start, and nothing can conflict with it.
	Registered bool
	// Same is true when the schema is already one of the subject's versions.
	Same bool
	// Compatible is true when registering the schema would succeed under the subject's
	// compatibility setting.
	Compatible bool
	// Reasons are the registry's explanations of an incompatibility.
	Reasons []string
}

// Check compares the codec's key and value schemas with the subjects of topic, without changing
// the registry: it answers what Register would do at the next start.
func Check(ctx context.Context, cl *sr.Client, topic string, c *Codec) ([]Compatibility, error) {
	var out []Compatibility
	for _, s := range []struct{ subject, schema string }{
		{topic + "-key", c.KeySchema()},
		{topic + "-value", c.ValueSchema()},
	} {
		res, err := checkSubject(ctx, cl, s.subject, sr.Schema{Schema: s.schema, Type: sr.TypeAvro})
		if err != nil {
			return out, fmt.Errorf("check schema of %s: %w", s.subject, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func checkSubject(ctx context.Context, cl *sr.Client, subject string, schema sr.Schema) (Compatibility, error) {
	res := Compatibility{Subject: subject}
	_, err := cl.LookupSchema(ctx, subject, schema)
	var re *sr.ResponseError
	switch {
	case err == nil:
		res.Registered, res.Same, res.Compatible = true, true, true
		return res, nil
	case errors.As(err, &re) && re.ErrorCode == sr.ErrSubjectNotFound.Code:
		res.Compatible = true
		return res, nil
	case errors.As(err, &re) && (re.ErrorCode == sr.ErrSchemaNotFound.Code || re.StatusCode == http.StatusNotFound):
		// The subject exists, without this schema: ask whether it may be added.
	default:
		return res, fmt.Errorf("look up: %w", err)
	}
	res.Registered = true
	cc, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), subject, -1, schema)
	if err != nil {
		return res, fmt.Errorf("compatibility with the latest version: %w", err)
	}
	res.Compatible = cc.Is
	res.Reasons = cc.Messages
	if !cc.Is && len(cc.Messages) == 0 {
		// Apicurio answers without reasons: find one by reading the latest version's data with
		// the new schema, as a BACKWARD check does.
		res.Reasons = []string{explain(ctx, cl, subject, schema.Schema)}
	}
	return res, nil
}

// explain says why data written with subject's latest version cannot be read with schema.
func explain(ctx context.Context, cl *sr.Client, subject, schema string) string {
	latest, err := cl.SchemaByVersion(ctx, subject, -1)
	if err != nil {
		return fmt.Sprintf("the registry gave no reason, and its latest version could not be read: %v", err)
	}
	reader, err := hamba.ParseWithCache(schema, "", &hamba.SchemaCache{})
	if err != nil {
		return fmt.Sprintf("the schema does not parse: %v", err)
	}
	writer, err := hamba.ParseWithCache(latest.Schema.Schema, "", &hamba.SchemaCache{})
	if err != nil {
		return fmt.Sprintf("version %d does not parse: %v", latest.Version, err)
	}
	if err := hamba.NewSchemaCompatibility().Compatible(reader, writer); err != nil {
		return fmt.Sprintf("cannot read data of version %d: %v", latest.Version, err)
	}
	return fmt.Sprintf("it can read data of version %d; the subject's compatibility setting asks more (FORWARD, FULL or TRANSITIVE)", latest.Version)
}

// Topic is a topic with the codec of its records, for RegisterAll.
type Topic struct {
	Name  string
	Codec *Codec
}

// registerAttempts bounds the tries of one registration that timed out.
const registerAttempts = 3

// registerSchema registers one Avro schema and returns its id. A request that timed out is sent
// again (registering is idempotent): a registry busy with the other registrations of a start may
// answer one late.
func registerSchema(ctx context.Context, cl *sr.Client, subject, schema string) (int, error) {
	for attempt := 1; ; attempt++ {
		id, err := cl.RegisterSchema(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro}, -1, -1)
		var timeout interface{ Timeout() bool }
		if err == nil || attempt == registerAttempts || ctx.Err() != nil || !errors.As(err, &timeout) || !timeout.Timeout() {
			return id, err
		}
	}
}

// RegisterAll is Register for many topics at once, with at most parallel requests to the
// registry in flight (1 when parallel < 1): the subjects are independent, so a start need not
// wait for each answer in turn. The ids come back in the order of topics. The first failure
// stops what has not started and is returned, naming its subject.
func RegisterAll(ctx context.Context, cl *sr.Client, topics []Topic, parallel int) ([]Registered, error) {
	out := make([]Registered, len(topics))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	for i, t := range topics {
		for _, key := range []bool{true, false} {
			g.Go(func() error {
				subject, schema := t.Name+"-value", t.Codec.ValueSchema()
				if key {
					subject, schema = t.Name+"-key", t.Codec.KeySchema()
				}
				// One request: the id is all the wire header needs (CreateSchema would also
				// list every subject that shares the schema, and the key schemas are shared).
				id, err := registerSchema(gctx, cl, subject, schema)
				if err != nil {
					return fmt.Errorf("register schema of %s: %w", subject, err)
				}
				if key {
					out[i].KeyID = id
				} else {
					out[i].ValueID = id
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
