package avro

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
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
	key, err := cl.CreateSchema(ctx, topic+"-key", sr.Schema{Schema: c.KeySchema(), Type: sr.TypeAvro})
	if err != nil {
		return Registered{}, fmt.Errorf("register schema of %s-key: %w", topic, err)
	}
	value, err := cl.CreateSchema(ctx, topic+"-value", sr.Schema{Schema: c.ValueSchema(), Type: sr.TypeAvro})
	if err != nil {
		return Registered{}, fmt.Errorf("register schema of %s-value: %w", topic, err)
	}
	return Registered{KeyID: key.ID, ValueID: value.ID}, nil
}
