package offsets

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topicConfigs are the configs CreateTopic sets on a new state topic.
//
//   - cleanup.policy=compact: the state is the last record of each key, kept for as long as the
//     topic lives. Never "delete" or "compact,delete": retention would drop the token and every
//     bookmark that has not changed lately.
//   - segment.ms=3600000 (1 hour; Kafka's default is 7 days) and segment.bytes=67108864 (64 MiB;
//     default 1 GiB): the active segment is never compacted, so a smaller one bounds what each
//     start has to replay when large bookmarks are rewritten often.
//   - min.cleanable.dirty.ratio=0.1 (default 0.5): compact once a tenth of the log is superseded.
//
// The brokers' defaults are kept for the rest, including max.message.bytes (1 MiB by default):
// no record of this package exceeds MaxValueSize. Operators may change these configs later,
// except cleanup.policy, which Load checks.
var topicConfigs = map[string]string{
	"cleanup.policy":            "compact",
	"segment.ms":                "3600000",
	"segment.bytes":             "67108864",
	"min.cleanable.dirty.ratio": "0.1",
}

// CreateTopic creates the state topic: one partition, compacted (see topicConfigs for every
// config set). A replicationFactor of 0 or less takes the brokers' default. An existing topic is
// accepted only if it has one partition and cleanup.policy=compact; otherwise the error names the
// topic and what is wrong. CreateTopic returns once the topic's metadata can be read, so Load may
// follow at once.
func CreateTopic(ctx context.Context, adm *kadm.Client, topic string, replicationFactor int16) error {
	if topic == "" {
		return errors.New("create state topic: empty topic name")
	}
	if replicationFactor <= 0 {
		replicationFactor = -1
	}
	configs := make(map[string]*string, len(topicConfigs))
	for k, v := range topicConfigs {
		configs[k] = kadm.StringPtr(v)
	}
	_, err := adm.CreateTopic(ctx, 1, replicationFactor, configs, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create state topic %s: %w", topic, err)
	}
	if err := waitForTopic(ctx, adm, topic); err != nil {
		return err
	}
	return checkTopic(ctx, adm, topic)
}

// waitForTopic polls the metadata until topic shows its partition with a leader: a broker may
// learn of a new topic a moment after the controller created it. The wait ends with ctx, and
// after 30 seconds at most.
func waitForTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		details, err := adm.ListTopics(ctx, topic)
		if err == nil {
			d, ok := details[topic]
			if ok && d.Err == nil && len(d.Partitions) > 0 && allLed(d) {
				return nil
			}
			if ok && d.Err != nil && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) && !errors.Is(d.Err, kerr.LeaderNotAvailable) {
				return fmt.Errorf("state topic %s: metadata: %w", topic, d.Err)
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("state topic %s: waiting for its metadata: %w", topic, err)
		case <-tick.C:
		}
	}
}

func allLed(d kadm.TopicDetail) bool {
	for _, p := range d.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// checkTopic makes sure an existing topic can hold the state: one partition (the state and the
// startup marker must be in one ordered log) and cleanup.policy=compact.
func checkTopic(ctx context.Context, adm *kadm.Client, topic string) error {
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return fmt.Errorf("state topic %s: metadata: %w", topic, err)
	}
	d, ok := details[topic]
	switch {
	case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("state topic %s does not exist (CreateTopic creates it)", topic)
	case d.Err != nil:
		return fmt.Errorf("state topic %s: metadata: %w", topic, d.Err)
	case len(d.Partitions) != 1:
		return fmt.Errorf("state topic %s has %d partitions, it must have exactly 1", topic, len(d.Partitions))
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fmt.Errorf("state topic %s: describe configs: %w", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("state topic %s: describe configs: %w", topic, err)
	}
	policy := "delete" // Kafka's default when the config is absent
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			policy = *c.Value
		}
	}
	if policy != "compact" {
		return fmt.Errorf("state topic %s has cleanup.policy=%s, it must be cleanup.policy=compact "+
			"(the state is the last record of each key and must never expire)", topic, policy)
	}
	return nil
}
