package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// ensureTopics creates the data topics, the dead-letter topic and the state topic when they are
// missing. Existing topics are left as they are, except that the state topic must be compacted.
func ensureTopics(ctx context.Context, adm *kadm.Client, c Config, data []string) error {
	dataConfigs := map[string]*string{"cleanup.policy": &c.TopicCleanupPolicy}
	if err := createMissing(ctx, adm, c, dataConfigs, data...); err != nil {
		return err
	}
	deletePolicy := "delete"
	if err := createMissing(ctx, adm, c, map[string]*string{"cleanup.policy": &deletePolicy}, c.DeadLetterTopic); err != nil {
		return err
	}
	if err := offsets.CreateTopic(ctx, adm, c.StateTopic, c.TopicReplicationFactor); err != nil {
		return fmt.Errorf("state topic: %w", err)
	}
	return nil
}

func createMissing(ctx context.Context, adm *kadm.Client, c Config, configs map[string]*string, topics ...string) error {
	resps, err := adm.CreateTopics(ctx, c.TopicPartitions, c.TopicReplicationFactor, configs, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var errs []error
	for _, r := range resps.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("create topic %s: %w", r.Topic, r.Err))
		}
	}
	return errors.Join(errs...)
}
