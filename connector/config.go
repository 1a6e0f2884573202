package connector

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// Config is everything the connector needs to know, already read from wherever it came from
// (the environment, for cmd/xero-kafka). Zero values take their defaults from Settings (see
// DefaultConfig); the comments name the environment variable of each field.
type Config struct {
	// Xero configures the API client (XERO_API_URL, XERO_IDENTITY_URL, XERO_LOGIN_URL,
	// XERO_CLIENT_ID, XERO_CLIENT_SECRET, XERO_REQUEST_TIMEOUT; its DayLimit is DayLimit's).
	Xero xero.Config
	// RefreshToken (XERO_REFRESH_TOKEN) is the refresh token given in the environment. It seeds the token chain
	// when the state has none, or when it differs from the token that seeded the stored chain.
	// Empty: the chain stored in the state topic goes on (see 'xero-kafka auth').
	RefreshToken string
	// Grant (XERO_GRANT) is how access tokens are obtained: GrantRefreshToken (the default: the
	// refresh-token chain) or GrantClientCredentials (a Xero custom connection, no refresh
	// token).
	Grant string
	// BroadScopes (XERO_SCOPES=broad) says the app has Xero's broad scopes (apps created before 2 March 2026);
	// false means granular scopes. It chooses the scope named for a refused stream.
	BroadScopes bool
	// Tenants (XERO_TENANT_ID) are the organisations to read; empty means every organisation connected to the
	// app.
	Tenants []string
	// Streams (XERO_STREAMS) are the streams to read; empty means all 26.
	Streams []string
	// StartDate (XERO_START_DATE) skips records whose UpdatedDateUTC is earlier (keyset streams only).
	StartDate time.Time

	// TopicPrefix (KAFKA_TOPIC_PREFIX) names the data topics: <TopicPrefix>.<stream>.
	TopicPrefix string
	// StateTopic (KAFKA_STATE_TOPIC) is the compacted topic of bookmarks and the refresh token.
	StateTopic string
	// DeadLetterTopic (KAFKA_DEAD_LETTER_TOPIC) receives the records that cannot be transcoded;
	// empty: "<TopicPrefix>.dead_letters".
	DeadLetterTopic string
	// TransactionalID (KAFKA_TRANSACTIONAL_ID) identifies this connector to Kafka; a second instance with the same id
	// fences the first.
	TransactionalID string
	// TopicPartitions and TopicReplicationFactor (KAFKA_TOPIC_PARTITIONS,
	// KAFKA_TOPIC_REPLICATION_FACTOR) apply to topics the connector creates.
	// -1 is the broker's default.replication.factor.
	TopicPartitions        int32
	TopicReplicationFactor int16
	// TopicCleanupPolicy (KAFKA_TOPIC_CLEANUP_POLICY) applies to the data topics the connector
	// creates; with compact, each topic keeps the latest version of every record.
	TopicCleanupPolicy string

	// PollInterval (XERO_POLL_INTERVAL) is the pause between two cycles of an incremental stream
	// that caught up, used as it is. Zero plans it from DayLimit and what each stream's cycles
	// cost (plan.go).
	PollInterval time.Duration
	// FullTableInterval (XERO_FULL_TABLE_INTERVAL) is the pause between two reads of a full
	// table, used as it is.
	FullTableInterval time.Duration
	// DayLimit (XERO_DAY_LIMIT) is Xero's daily call limit per organisation: 5000, or 1000 on
	// the Starter tier. It plans the polling, and is the Xero client's first estimate of the
	// calls left until Xero's headers report them.
	DayLimit int

	// MaxTransactionRecords (KAFKA_MAX_TRANSACTION_RECORDS) bounds the records of one Kafka transaction.
	MaxTransactionRecords int
	// TransactionTimeout (KAFKA_TRANSACTION_TIMEOUT) bounds one transaction, from its first record to its commit.
	TransactionTimeout time.Duration
	// Compression (KAFKA_COMPRESSION) is the codec of the record batches the connector
	// produces: none, gzip, snappy, lz4 or zstd (producer.go says why the default).
	Compression string
	// KafkaLogLevel (KAFKA_LOG_LEVEL) is the level from which the Kafka client's own logs are passed on: debug,
	// info, warn or error. (Its debug output is very verbose.)
	KafkaLogLevel string

	// PerTenantMetrics (METRICS_PER_TENANT) adds a tenant label to the per-stream metrics (and the Xero client's
	// rate-limit gauges). Off, each series covers every organisation, so the number of series
	// stays the same however many organisations there are.
	PerTenantMetrics bool

	// PageMemoryLimit (PAGE_MEMORY_MIB, in MiB there) bounds the bytes of the pages read from
	// Xero and not yet committed, over every organisation and stream. Negative: no limit.
	PageMemoryLimit int64

	// MemoryLimit (MEMORY_LIMIT_MIB, in MiB there) is the soft memory limit the connector gives
	// the Go runtime, through Deps.SetMemoryLimit (memlimit.go). Zero derives it from the number
	// of (organisation, stream) pairs and PageMemoryLimit; negative: none.
	MemoryLimit int64

	// Workers (SYNC_WORKERS) bounds the sync cycles that run at once, over every organisation
	// and stream: the pollers share that many goroutines (schedule.go).
	Workers int
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

// Defaults that other packages name; Settings is the table they are used in.
const (
	DefaultTopicPrefix     = "xero"
	DefaultStateTopic      = "_xero-kafka-state"
	DefaultTransactionalID = "xero-kafka"
)

// Setting is one environment variable of the program.
type Setting struct {
	// Var is the variable's name.
	Var string
	// Default is the value an unset variable takes, as it would be written in the
	// environment; "" when it has none (Required, or the setting is left out).
	Default string
	// Required says the program does not start without it (SCHEMA_REGISTRY_URL: except 'auth').
	Required bool
	// Usage says what it sets, for 'xero-kafka help'.
	Usage string
}

// Settings returns every environment variable of the program, in the order 'xero-kafka help'
// lists them. It is the one table of defaults: cmd/xero-kafka reads the environment with it,
// DefaultConfig and Config's zero values take their defaults from it, and its tests check that
// the help text and the README agree with it.
func Settings() []Setting {
	return []Setting{
		{Var: "XERO_CLIENT_ID", Required: true, Usage: "the Xero app's client id"},
		{Var: "XERO_CLIENT_SECRET", Usage: "the Xero app's client secret; empty: a public app, which 'auth' authorises with PKCE"},
		{Var: "XERO_REFRESH_TOKEN", Usage: "a refresh token of the app (offline_access) to seed the token chain; empty: the chain 'auth' stored in the state topic"},
		{Var: "XERO_GRANT", Default: GrantRefreshToken, Usage: "refresh_token or client_credentials (a Xero custom connection: no refresh token; needs the client secret)"},
		{Var: "XERO_SCOPES", Default: "granular", Usage: "granular (apps created since 2 March 2026) or broad"},
		{Var: "XERO_AUTH_PORT", Default: "8765", Usage: "port of auth's redirect URI http://localhost:PORT/callback (0: any free port)"},
		{Var: "XERO_STATE_KEY", Required: true, Usage: "32 random bytes in base64 (openssl rand -base64 32): encrypts the refresh token in the state topic"},
		{Var: "XERO_TENANT_ID", Usage: "organisation ids, comma-separated; empty: every connected one"},
		{Var: "XERO_STREAMS", Usage: "streams to read, comma-separated; empty: all 26"},
		{Var: "XERO_START_DATE", Usage: "skip records last updated before this date (2006-01-02 or RFC 3339)"},
		{Var: "XERO_API_URL", Default: xero.DefaultAPIURL, Usage: "the API host"},
		{Var: "XERO_IDENTITY_URL", Default: xero.DefaultIdentityURL, Usage: "the identity host (token endpoint)"},
		{Var: "XERO_LOGIN_URL", Default: xero.DefaultLoginURL, Usage: "the host of the authorise page"},
		{Var: "XERO_DAY_LIMIT", Default: strconv.Itoa(xero.DefaultDayLimit), Usage: "Xero's daily calls per organisation (Starter tier: 1000): plans the polling; the first estimate of the calls left until Xero reports them"},
		{Var: "XERO_POLL_INTERVAL", Usage: "pause between polls of an incremental stream; empty: planned from the day limit"},
		{Var: "XERO_FULL_TABLE_INTERVAL", Default: "6h", Usage: "pause between reads of the reference tables"},
		{Var: "XERO_REQUEST_TIMEOUT", Default: "60s", Usage: "one attempt of one call"},
		{Var: "KAFKA_BOOTSTRAP_SERVERS", Required: true, Usage: "host:port, comma-separated"},
		{Var: "KAFKA_TOPIC_PREFIX", Default: DefaultTopicPrefix, Usage: "topics are <prefix>.<stream>"},
		{Var: "KAFKA_STATE_TOPIC", Default: DefaultStateTopic, Usage: "the compacted state topic"},
		{Var: "KAFKA_DEAD_LETTER_TOPIC", Usage: "records that do not fit their schema; empty: <prefix>.dead_letters"},
		{Var: "KAFKA_TRANSACTIONAL_ID", Default: DefaultTransactionalID, Usage: "a second instance with the same id takes over"},
		{Var: "KAFKA_TRANSACTION_TIMEOUT", Default: "60s", Usage: "one transaction, from its first record to its commit"},
		{Var: "KAFKA_TOPIC_PARTITIONS", Default: "1", Usage: "for the topics the connector creates"},
		{Var: "KAFKA_TOPIC_REPLICATION_FACTOR", Default: "-1", Usage: "for the topics the connector creates (-1: the broker's default)"},
		{Var: "KAFKA_TOPIC_CLEANUP_POLICY", Default: "compact", Usage: "for the data topics the connector creates: compact, delete or compact,delete"},
		{Var: "KAFKA_TLS", Default: "false", Usage: "true to connect with TLS"},
		{Var: "KAFKA_TLS_CA_FILE", Usage: "PEM file of the CA to trust (implies KAFKA_TLS)"},
		{Var: "KAFKA_SASL_MECHANISM", Usage: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{Var: "KAFKA_SASL_USERNAME", Usage: "with KAFKA_SASL_MECHANISM"},
		{Var: "KAFKA_SASL_PASSWORD", Usage: "with KAFKA_SASL_MECHANISM"},
		{Var: "KAFKA_MAX_TRANSACTION_RECORDS", Default: "20000", Usage: "records per transaction at most"},
		{Var: "KAFKA_COMPRESSION", Default: "lz4", Usage: "codec of the batches produced: none, gzip, snappy, lz4 or zstd"},
		{Var: "SCHEMA_REGISTRY_URL", Required: true, Usage: "Confluent-compatible Schema Registry (not needed by auth)"},
		{Var: "SCHEMA_REGISTRY_USERNAME", Usage: "basic auth, with SCHEMA_REGISTRY_PASSWORD"},
		{Var: "SCHEMA_REGISTRY_PASSWORD", Usage: "basic auth, with SCHEMA_REGISTRY_USERNAME"},
		{Var: "HTTP_ADDR", Default: ":8080", Usage: "serves /status, /metrics, /healthz, /readyz"},
		{Var: "PAGE_MEMORY_MIB", Default: "16", Usage: "pages read from Xero and not yet committed, over every organisation, in MiB (0: no limit)"},
		{Var: "MEMORY_LIMIT_MIB", Default: "auto", Usage: "soft memory limit of the Go runtime, in MiB; auto: derived from the streams and PAGE_MEMORY_MIB; 0: none (GOMEMLIMIT, when set, replaces it)"},
		{Var: "SYNC_WORKERS", Default: "200", Usage: "sync cycles run at once, over every organisation and stream"},
		{Var: "METRICS_PER_TENANT", Default: "false", Usage: "true: per-organisation metric series besides the totals (they grow with the organisations)"},
		{Var: "LOG_LEVEL", Default: "info", Usage: "debug, info, warn or error"},
		{Var: "LOG_FORMAT", Default: "text", Usage: "text or json"},
		{Var: "KAFKA_LOG_LEVEL", Default: "warn", Usage: "the Kafka client's own logs from this level: debug, info, warn or error"},
	}
}

// Defaults returns the default of every variable that has one, by name.
func Defaults() map[string]string {
	m := map[string]string{}
	for _, s := range Settings() {
		if s.Default != "" {
			m[s.Var] = s.Default
		}
	}
	return m
}

// DefaultConfig returns the configuration the defaults of Settings make, with nothing of an
// app or an organisation in it. The program, the demo and the tests start from it.
func DefaultConfig() Config {
	d := Defaults()
	dur := func(name string) time.Duration {
		v, err := time.ParseDuration(d[name])
		if err != nil {
			panic(fmt.Sprintf("the default of %s: %v", name, err))
		}
		return v
	}
	num := func(name string) int {
		v, err := strconv.Atoi(d[name])
		if err != nil {
			panic(fmt.Sprintf("the default of %s: %v", name, err))
		}
		return v
	}
	c := Config{
		Xero: xero.Config{
			APIURL:         d["XERO_API_URL"],
			IdentityURL:    d["XERO_IDENTITY_URL"],
			LoginURL:       d["XERO_LOGIN_URL"],
			RequestTimeout: dur("XERO_REQUEST_TIMEOUT"),
			DayLimit:       num("XERO_DAY_LIMIT"),
		},
		Grant:                  d["XERO_GRANT"],
		BroadScopes:            d["XERO_SCOPES"] == "broad",
		TopicPrefix:            d["KAFKA_TOPIC_PREFIX"],
		StateTopic:             d["KAFKA_STATE_TOPIC"],
		TransactionalID:        d["KAFKA_TRANSACTIONAL_ID"],
		TopicPartitions:        int32(num("KAFKA_TOPIC_PARTITIONS")),
		TopicReplicationFactor: int16(num("KAFKA_TOPIC_REPLICATION_FACTOR")),
		TopicCleanupPolicy:     d["KAFKA_TOPIC_CLEANUP_POLICY"],
		FullTableInterval:      dur("XERO_FULL_TABLE_INTERVAL"),
		DayLimit:               num("XERO_DAY_LIMIT"),
		MaxTransactionRecords:  num("KAFKA_MAX_TRANSACTION_RECORDS"),
		TransactionTimeout:     dur("KAFKA_TRANSACTION_TIMEOUT"),
		KafkaLogLevel:          d["KAFKA_LOG_LEVEL"],
		Compression:            d["KAFKA_COMPRESSION"],
		PerTenantMetrics:       d["METRICS_PER_TENANT"] == "true",
		PageMemoryLimit:        int64(num("PAGE_MEMORY_MIB")) << 20,
		Workers:                num("SYNC_WORKERS"),
	}
	limit, err := ParseMemoryLimit(d["MEMORY_LIMIT_MIB"])
	if err != nil {
		panic(fmt.Sprintf("the default of MEMORY_LIMIT_MIB: %v", err))
	}
	c.MemoryLimit = limit
	return c
}

// ParseMemoryLimit reads a value of MEMORY_LIMIT_MIB as Config.MemoryLimit: auto is 0 (derived),
// 0 is -1 (none), and a positive number is MiB.
func ParseMemoryLimit(v string) (int64, error) {
	if v == "auto" {
		return 0, nil
	}
	mib, err := strconv.ParseInt(v, 10, 32)
	switch {
	case err != nil || mib < 0:
		return 0, fmt.Errorf("%q: want auto, 0 (none) or a number of MiB", v)
	case mib == 0:
		return -1, nil
	}
	return mib << 20, nil
}

var (
	topicName    = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)
	tenantIDForm = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// withDefaults returns c with every zero value replaced by its default (DefaultConfig), and
// the errors of Validate.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	zero := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.Xero.APIURL, d.Xero.APIURL)
	set(&c.Xero.IdentityURL, d.Xero.IdentityURL)
	set(&c.Xero.LoginURL, d.Xero.LoginURL)
	zero(&c.Xero.RequestTimeout, d.Xero.RequestTimeout)
	set(&c.Grant, d.Grant)
	set(&c.TopicPrefix, d.TopicPrefix)
	set(&c.StateTopic, d.StateTopic)
	set(&c.DeadLetterTopic, c.TopicPrefix+".dead_letters")
	set(&c.TransactionalID, d.TransactionalID)
	set(&c.TopicCleanupPolicy, d.TopicCleanupPolicy)
	set(&c.KafkaLogLevel, d.KafkaLogLevel)
	set(&c.Compression, d.Compression)
	zero(&c.FullTableInterval, d.FullTableInterval)
	zero(&c.TransactionTimeout, d.TransactionTimeout)
	if c.TopicPartitions == 0 {
		c.TopicPartitions = d.TopicPartitions
	}
	if c.TopicReplicationFactor == 0 {
		c.TopicReplicationFactor = d.TopicReplicationFactor
	}
	if c.DayLimit == 0 {
		c.DayLimit = d.DayLimit
	}
	if c.Xero.DayLimit == 0 {
		c.Xero.DayLimit = c.DayLimit
	}
	if c.MaxTransactionRecords == 0 {
		c.MaxTransactionRecords = d.MaxTransactionRecords
	}
	if c.PageMemoryLimit == 0 {
		c.PageMemoryLimit = d.PageMemoryLimit
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if len(c.Streams) == 0 {
		c.Streams = streams.Names()
	}
	c.Xero.PerTenantMetrics = c.Xero.PerTenantMetrics || c.PerTenantMetrics
	return c, c.Validate()
}

// Check returns the errors of Validate for c with its defaults set: what New would refuse.
func (c Config) Check() error {
	_, err := c.withDefaults()
	return err
}

// Validate checks a configuration as it is, zero values included: one read from the
// environment, whose unset variables took their defaults from Settings, or one that started
// from DefaultConfig. (An empty DeadLetterTopic or Streams stands for its default.) Each error names the environment variable that sets the value and the value,
// as in "XERO_DAY_LIMIT=0: must be positive"; they are joined, one a line.
func (c Config) Validate() error {
	var errs []error
	bad := func(variable string, value any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s=%v: %s", variable, value, fmt.Sprintf(format, args...)))
	}
	for _, u := range []struct{ name, value string }{
		{"XERO_API_URL", c.Xero.APIURL}, {"XERO_IDENTITY_URL", c.Xero.IdentityURL}, {"XERO_LOGIN_URL", c.Xero.LoginURL},
	} {
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(u.name, strconv.Quote(u.value), "not an http(s) URL")
		}
	}
	switch c.Grant {
	case GrantRefreshToken:
	case GrantClientCredentials:
		if c.Xero.ClientSecret == "" {
			bad("XERO_CLIENT_SECRET", `""`, "XERO_GRANT=client_credentials (a custom connection) needs the client secret")
		}
	default:
		bad("XERO_GRANT", strconv.Quote(c.Grant), "want refresh_token or client_credentials")
	}
	for _, t := range c.Tenants {
		if !tenantIDForm.MatchString(strings.TrimSpace(t)) {
			bad("XERO_TENANT_ID", strconv.Quote(t), "not a tenant id (a UUID such as 3f2a9c1d-0b4e-4c6a-9f1e-2d7b8a6c5e43)")
		}
	}
	for _, name := range c.Streams {
		if _, ok := streams.ByName(name); !ok {
			bad("XERO_STREAMS", strconv.Quote(strings.Join(c.Streams, ",")), "unknown stream %q (known: %s)", name, strings.Join(streams.Names(), ", "))
		}
	}
	if c.DayLimit < 1 {
		bad("XERO_DAY_LIMIT", c.DayLimit, "must be positive")
	}
	if c.PollInterval < 0 {
		bad("XERO_POLL_INTERVAL", c.PollInterval, "must not be negative")
	}
	if c.FullTableInterval < 0 {
		bad("XERO_FULL_TABLE_INTERVAL", c.FullTableInterval, "must not be negative")
	}
	if c.Xero.RequestTimeout <= 0 {
		bad("XERO_REQUEST_TIMEOUT", c.Xero.RequestTimeout, "must be positive")
	}
	for _, t := range []struct{ variable, name string }{
		{"KAFKA_TOPIC_PREFIX", c.TopicPrefix}, {"KAFKA_STATE_TOPIC", c.StateTopic}, {"KAFKA_DEAD_LETTER_TOPIC", c.DeadLetterTopic},
	} {
		if t.name == "" && t.variable == "KAFKA_DEAD_LETTER_TOPIC" {
			continue // <prefix>.dead_letters
		}
		if !topicName.MatchString(t.name) {
			bad(t.variable, strconv.Quote(t.name), "a topic name has only letters, digits, '.', '_' and '-'")
		}
	}
	if !topicName.MatchString(c.TransactionalID) {
		bad("KAFKA_TRANSACTIONAL_ID", strconv.Quote(c.TransactionalID), "only letters, digits, '.', '_' and '-' are allowed")
	}
	if c.TransactionTimeout <= 0 {
		bad("KAFKA_TRANSACTION_TIMEOUT", c.TransactionTimeout, "must be positive")
	}
	if c.TopicPartitions < 1 {
		bad("KAFKA_TOPIC_PARTITIONS", c.TopicPartitions, "must be at least 1")
	}
	if c.TopicReplicationFactor < 1 && c.TopicReplicationFactor != -1 {
		bad("KAFKA_TOPIC_REPLICATION_FACTOR", c.TopicReplicationFactor, "want -1 (the broker's default) or at least 1")
	}
	switch c.TopicCleanupPolicy {
	case "compact", "delete", "compact,delete", "delete,compact":
	default:
		bad("KAFKA_TOPIC_CLEANUP_POLICY", strconv.Quote(c.TopicCleanupPolicy), "want compact, delete or compact,delete")
	}
	if c.MaxTransactionRecords < 1 {
		bad("KAFKA_MAX_TRANSACTION_RECORDS", c.MaxTransactionRecords, "must be positive")
	}
	if c.Workers < 1 {
		bad("SYNC_WORKERS", c.Workers, "must be positive")
	}
	if _, err := compressionCodec(c.Compression); err != nil {
		bad("KAFKA_COMPRESSION", strconv.Quote(c.Compression), "%v", err)
	}
	if _, ok := kafkaLevels[c.KafkaLogLevel]; !ok {
		bad("KAFKA_LOG_LEVEL", strconv.Quote(c.KafkaLogLevel), "want debug, info, warn or error")
	}
	return errors.Join(errs...)
}
