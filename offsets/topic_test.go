package offsets

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

func TestCreateTopic(t *testing.T) {
	e := newEnv(t) // creates e.topic with CreateTopic

	t.Run("new topic", func(t *testing.T) {
		details, err := e.adm.ListTopics(t.Context(), e.topic)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(details[e.topic].Partitions); n != 1 {
			t.Errorf("%d partitions, want 1", n)
		}
		rcs, err := e.adm.DescribeTopicConfigs(t.Context(), e.topic)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On(e.topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, c := range rc.Configs {
			got[c.Key] = c.MaybeValue()
		}
		for k, want := range topicConfigs {
			if got[k] != want {
				t.Errorf("config %s = %q, want %q", k, got[k], want)
			}
		}
	})

	cases := []struct {
		name       string
		partitions int32
		configs    map[string]*string
		msg        string // "" = accepted
	}{
		{"compacted", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, ""},
		{"default policy", 1, nil, "has cleanup.policy=delete, it must be cleanup.policy=compact"},
		{"delete", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("delete")}, "has cleanup.policy=delete"},
		{"compact and delete", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact,delete")}, "has cleanup.policy=compact,delete"},
		{"three partitions", 3, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, "has 3 partitions"},
	}
	for _, c := range cases {
		t.Run("existing "+c.name, func(t *testing.T) {
			topic := uniqueName(t, "existing")
			e.deleteLater(topic)
			if _, err := e.adm.CreateTopic(t.Context(), c.partitions, 1, c.configs, topic); err != nil {
				t.Fatalf("create %s: %v", topic, err)
			}
			err := CreateTopic(t.Context(), e.adm, topic, 1)
			switch {
			case c.msg == "" && err != nil:
				t.Fatalf("CreateTopic on an existing compacted topic: %v", err)
			case c.msg != "" && err == nil:
				t.Fatal("CreateTopic accepted the topic")
			case c.msg != "" && (!strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), topic)):
				t.Fatalf("CreateTopic: %q, want the topic name and %q", err, c.msg)
			}
			// Load refuses the same topics, before writing anything.
			_, err = Load(t.Context(), e.producer(uniqueName(t, "txn")), e.consumerOpts(), topic, e.sealer)
			if c.msg != "" && (err == nil || !strings.Contains(err.Error(), c.msg)) {
				t.Fatalf("Load: %v, want an error containing %q", err, c.msg)
			}
			if c.msg == "" && err != nil {
				t.Fatalf("Load: %v", err)
			}
		})
	}

	t.Run("again", func(t *testing.T) {
		if err := CreateTopic(t.Context(), e.adm, e.topic, 1); err != nil {
			t.Fatalf("second CreateTopic: %v", err)
		}
	})
	t.Run("empty name", func(t *testing.T) {
		if err := CreateTopic(t.Context(), e.adm, "", 1); err == nil {
			t.Fatal("CreateTopic accepted an empty name")
		}
	})
}
