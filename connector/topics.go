package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"golang.org/x/sync/errgroup"

	"github.com/xero-kafka/xero-kafka/offsets"
)

// createTopicsTimeout is how long the controller may take to create the topics of one request.
const createTopicsTimeout = 30_000 // milliseconds

// ensureTopics creates the data topics, the dead-letter topic and the state topic when they are
// missing. Existing topics are left as they are, except that the state topic must be compacted.
// The data and dead-letter topics go in one CreateTopics request, sent while the state topic is
// created and checked.
func ensureTopics(ctx context.Context, cl *kgo.Client, c Config, data []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := offsets.CreateTopic(gctx, kadm.NewClient(cl), c.StateTopic, c.TopicReplicationFactor); err != nil {
			return fmt.Errorf("state topic: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		policies := make(map[string]string, len(data)+1)
		for _, t := range data {
			policies[t] = c.TopicCleanupPolicy
		}
		policies[c.DeadLetterTopic] = "delete"
		return createMissing(gctx, cl, c, policies)
	})
	return g.Wait()
}

// createMissing creates the topics of policies, each with its cleanup.policy, in one request.
// A topic that exists already is not an error.
func createMissing(ctx context.Context, cl *kgo.Client, c Config, policies map[string]string) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = createTopicsTimeout
	for name, policy := range policies {
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic = name
		t.NumPartitions = c.TopicPartitions
		t.ReplicationFactor = c.TopicReplicationFactor
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = "cleanup.policy", kmsg.StringPtr(policy)
		t.Configs = append(t.Configs, cfg)
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	var errs []error
	for _, t := range resp.Topics {
		err := kerr.ErrorForCode(t.ErrorCode)
		if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
			continue
		}
		if t.ErrorMessage != nil && *t.ErrorMessage != "" {
			err = fmt.Errorf("%w: %s", err, *t.ErrorMessage)
		}
		errs = append(errs, fmt.Errorf("create topic %s: %w", t.Topic, err))
	}
	return errors.Join(errs...)
}
