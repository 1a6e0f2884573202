package connector

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// Config is everything the connector needs to know, already read from wherever it came from
// (the environment, for cmd/xero-kafka). Zero values take the defaults below.
type Config struct {
	// Xero configures the API client.
	Xero xero.Config
	// RefreshToken is the refresh token given in the environment. It seeds the token chain
	// when the state has none, or when it differs from the token that seeded the stored chain.
	// Empty: the chain stored in the state topic goes on (see 'xero-kafka auth').
	RefreshToken string
	// Grant is how access tokens are obtained: GrantRefreshToken (the default: the
	// refresh-token chain) or GrantClientCredentials (a Xero custom connection, no refresh
	// token).
	Grant string
	// BroadScopes says the app has Xero's broad scopes (apps created before 2 March 2026);
	// false means granular scopes. It chooses the scope named for a refused stream.
	BroadScopes bool
	// Tenants are the organisations to read; empty means every organisation connected to the
	// app.
	Tenants []string
	// Streams are the streams to read; empty means all 26.
	Streams []string
	// StartDate skips records whose UpdatedDateUTC is earlier (keyset streams only).
	StartDate time.Time

	// TopicPrefix names the data topics: <TopicPrefix>.<stream>. Default "xero".
	TopicPrefix string
	// StateTopic is the compacted topic of bookmarks and the refresh token. Default
	// "_xero-kafka-state".
	StateTopic string
	// DeadLetterTopic receives the records that cannot be transcoded. Default
	// "<TopicPrefix>.dead_letters".
	DeadLetterTopic string
	// TransactionalID identifies this connector to Kafka; a second instance with the same id
	// fences the first. Default "xero-kafka".
	TransactionalID string
	// TopicPartitions and TopicReplicationFactor apply to topics the connector creates.
	// Defaults 1 and -1 (the broker's default.replication.factor).
	TopicPartitions        int32
	TopicReplicationFactor int16
	// TopicCleanupPolicy applies to the data topics the connector creates. Default "compact":
	// each topic keeps the latest version of every record.
	TopicCleanupPolicy string

	// PollInterval is the pause between two cycles of an incremental stream that caught up.
	// Zero plans it from DayLimit.
	PollInterval time.Duration
	// FullTableInterval is the pause between two reads of a full table. Default 6h.
	FullTableInterval time.Duration
	// DayLimit is Xero's daily call limit per organisation: 5000, or 1000 on the Starter tier.
	DayLimit int

	// MaxTransactionRecords bounds the records of one Kafka transaction. Default 20000.
	MaxTransactionRecords int
	// TransactionTimeout bounds one transaction, from its first record to its commit. Default 60s.
	TransactionTimeout time.Duration
	// KafkaLogLevel is the level from which the Kafka client's own logs are passed on: debug,
	// info, warn or error. Default warn. (Its debug output is very verbose.)
	KafkaLogLevel string

	// PerTenantMetrics adds a tenant label to the per-stream metrics (and the Xero client's
	// rate-limit gauges). Off, each series covers every organisation, so the number of series
	// stays the same however many organisations there are.
	PerTenantMetrics bool

	// PageMemoryLimit bounds the bytes of the pages read from Xero and not yet committed, over
	// every organisation and stream. Default DefaultPageMemoryLimit; negative: no limit.
	PageMemoryLimit int64
}

// kafkaLevels maps KafkaLogLevel to franz-go's levels.
var kafkaLevels = map[string]kgo.LogLevel{
	"debug": kgo.LogLevelDebug, "info": kgo.LogLevelInfo, "warn": kgo.LogLevelWarn, "error": kgo.LogLevelError,
}

// Grants.
const (
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Defaults.
const (
	DefaultTopicPrefix        = "xero"
	DefaultStateTopic         = "_xero-kafka-state"
	DefaultTransactionalID    = "xero-kafka"
	DefaultFullTableInterval  = 6 * time.Hour
	DefaultDayLimit           = 5000
	DefaultPageMemoryLimit    = 16 << 20
	defaultMaxTxnRecords      = 20000
	defaultTransactionTimeout = time.Minute
)

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// withDefaults returns c with every zero value replaced by its default, and an error naming
// the first setting that is wrong.
func (c Config) withDefaults() (Config, error) {
	c.Xero.PerTenantMetrics = c.Xero.PerTenantMetrics || c.PerTenantMetrics
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.StateTopic == "" {
		c.StateTopic = DefaultStateTopic
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = c.TopicPrefix + ".dead_letters"
	}
	if c.TransactionalID == "" {
		c.TransactionalID = DefaultTransactionalID
	}
	if c.TopicPartitions == 0 {
		c.TopicPartitions = 1
	}
	if c.TopicReplicationFactor == 0 {
		c.TopicReplicationFactor = -1
	}
	if c.TopicCleanupPolicy == "" {
		c.TopicCleanupPolicy = "compact"
	}
	if c.FullTableInterval == 0 {
		c.FullTableInterval = DefaultFullTableInterval
	}
	if c.DayLimit == 0 {
		c.DayLimit = DefaultDayLimit
	}
	if c.MaxTransactionRecords == 0 {
		c.MaxTransactionRecords = defaultMaxTxnRecords
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = defaultTransactionTimeout
	}
	if c.PageMemoryLimit == 0 {
		c.PageMemoryLimit = DefaultPageMemoryLimit
	}
	if len(c.Streams) == 0 {
		c.Streams = streams.Names()
	}
	if c.KafkaLogLevel == "" {
		c.KafkaLogLevel = "warn"
	}

	if c.Grant == "" {
		c.Grant = GrantRefreshToken
	}

	var errs []error
	switch c.Grant {
	case GrantRefreshToken:
	case GrantClientCredentials:
		if c.Xero.ClientSecret == "" {
			errs = append(errs, errors.New("grant client_credentials: the client secret is missing"))
		}
	default:
		errs = append(errs, fmt.Errorf("grant %q: want refresh_token or client_credentials", c.Grant))
	}
	for _, t := range []struct{ what, name string }{
		{"topic prefix", c.TopicPrefix}, {"state topic", c.StateTopic}, {"dead-letter topic", c.DeadLetterTopic},
	} {
		if !topicName.MatchString(t.name) {
			errs = append(errs, fmt.Errorf("%s %q: only letters, digits, '.', '_' and '-' are allowed", t.what, t.name))
		}
	}
	for _, name := range c.Streams {
		if _, ok := streams.ByName(name); !ok {
			errs = append(errs, fmt.Errorf("stream %q: unknown (known: %v)", name, streams.Names()))
		}
	}
	switch c.TopicCleanupPolicy {
	case "compact", "delete", "compact,delete", "delete,compact":
	default:
		errs = append(errs, fmt.Errorf("cleanup policy %q: want compact, delete or compact,delete", c.TopicCleanupPolicy))
	}
	if c.TopicPartitions < 1 {
		errs = append(errs, fmt.Errorf("topic partitions %d: must be at least 1", c.TopicPartitions))
	}
	if _, ok := kafkaLevels[c.KafkaLogLevel]; !ok {
		errs = append(errs, fmt.Errorf("kafka log level %q: want debug, info, warn or error", c.KafkaLogLevel))
	}
	if c.DayLimit < 1 {
		errs = append(errs, fmt.Errorf("day limit %d: must be positive", c.DayLimit))
	}
	if c.PollInterval < 0 || c.FullTableInterval < 0 || c.TransactionTimeout < 0 {
		errs = append(errs, errors.New("intervals and timeouts must not be negative"))
	}
	return c, errors.Join(errs...)
}

// planIntervals returns the pause between cycles of incremental streams and of full tables.
//
// Each cycle of a stream that has nothing new costs one call, and every organisation has its
// own daily budget. Unless told otherwise, routine polling of the incremental streams spends at
// most half of it, leaving the rest for the pages that changes bring and for retries: with
// 5,000 calls a day and 19 incremental streams that is a cycle every 11 minutes; on the Starter
// tier (1,000) every 55 minutes.
func planIntervals(c Config, incremental int) time.Duration {
	if c.PollInterval > 0 || incremental == 0 {
		return c.PollInterval
	}
	budget := c.DayLimit / 2
	iv := time.Duration(incremental) * 24 * time.Hour / time.Duration(max(budget, 1))
	return max(iv.Round(time.Second), time.Minute)
}
