package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// env is the program's configuration as the environment gives it. Every variable is documented
// in README.md; `xero-kafka help` prints them.
type env struct {
	Xero struct {
		ClientID          string        `env:"CLIENT_ID, required"`
		ClientSecret      secret        `env:"CLIENT_SECRET"`
		RefreshToken      secret        `env:"REFRESH_TOKEN"`
		Grant             string        `env:"GRANT, default=refresh_token"`
		Scopes            string        `env:"SCOPES, default=granular"`
		AuthPort          int           `env:"AUTH_PORT, default=8765"`
		LoginURL          string        `env:"LOGIN_URL, default=https://login.xero.com"`
		TenantIDs         []string      `env:"TENANT_ID"`
		Streams           []string      `env:"STREAMS"`
		StartDate         date          `env:"START_DATE"`
		APIURL            string        `env:"API_URL, default=https://api.xero.com"`
		IdentityURL       string        `env:"IDENTITY_URL, default=https://identity.xero.com"`
		DayLimit          int           `env:"DAY_LIMIT, default=5000"`
		PollInterval      time.Duration `env:"POLL_INTERVAL"`
		FullTableInterval time.Duration `env:"FULL_TABLE_INTERVAL, default=6h"`
		RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT, default=60s"`
		StateKey          secret        `env:"STATE_KEY, required"`
	} `env:", prefix=XERO_"`
	Kafka struct {
		BootstrapServers      []string      `env:"BOOTSTRAP_SERVERS, required"`
		TopicPrefix           string        `env:"TOPIC_PREFIX, default=xero"`
		StateTopic            string        `env:"STATE_TOPIC, default=_xero-kafka-state"`
		DeadLetterTopic       string        `env:"DEAD_LETTER_TOPIC"`
		TransactionalID       string        `env:"TRANSACTIONAL_ID, default=xero-kafka"`
		TransactionTimeout    time.Duration `env:"TRANSACTION_TIMEOUT, default=60s"`
		TopicPartitions       int32         `env:"TOPIC_PARTITIONS, default=1"`
		TopicReplication      int16         `env:"TOPIC_REPLICATION_FACTOR, default=-1"`
		TopicCleanupPolicy    string        `env:"TOPIC_CLEANUP_POLICY, default=compact"`
		TLS                   bool          `env:"TLS, default=false"`
		TLSCAFile             string        `env:"TLS_CA_FILE"`
		SASLMechanism         string        `env:"SASL_MECHANISM"`
		SASLUsername          string        `env:"SASL_USERNAME"`
		SASLPassword          secret        `env:"SASL_PASSWORD"`
		MaxTransactionRecords int           `env:"MAX_TRANSACTION_RECORDS, default=20000"`
	} `env:", prefix=KAFKA_"`
	Registry struct {
		URL      string `env:"URL"`
		Username string `env:"USERNAME"`
		Password secret `env:"PASSWORD"`
	} `env:", prefix=SCHEMA_REGISTRY_"`
	HTTPAddr         string `env:"HTTP_ADDR, default=:8080"`
	LogLevel         string `env:"LOG_LEVEL, default=info"`
	KafkaLogLevel    string `env:"KAFKA_LOG_LEVEL, default=warn"`
	LogFormat        string `env:"LOG_FORMAT, default=text"`
	MetricsPerTenant bool   `env:"METRICS_PER_TENANT, default=false"`
	PageMemoryMiB    int    `env:"PAGE_MEMORY_MIB, default=16"`
}

// secret is a string that never prints.
type secret string

func (s secret) String() string       { return redact(string(s)) }
func (s secret) LogValue() slog.Value { return slog.StringValue(redact(string(s))) }
func (s secret) GoString() string     { return redact(string(s)) }

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// date is XERO_START_DATE: 2006-01-02 or RFC 3339.
type date struct{ time.Time }

func (d *date) EnvDecode(v string) error {
	for _, layout := range []string{"2006-01-02", time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			d.Time = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("XERO_START_DATE: %q is not a date (2006-01-02 or RFC 3339)", v)
}

// configError is a configuration problem: the program prints it on one line and exits with
// status 2, before any network call.
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func badConfig(variable, format string, args ...any) error {
	return &configError{msg: variable + ": " + fmt.Sprintf(format, args...)}
}

// readEnv reads and checks the configuration of run and check.
func readEnv(ctx context.Context, l envconfig.Lookuper) (*env, error) {
	e, err := readEnvFor(ctx, l, false)
	return e, err
}

// readEnvFor reads and checks the configuration; forAuth leaves out what 'auth' does not use
// (the Schema Registry).
func readEnvFor(ctx context.Context, l envconfig.Lookuper, forAuth bool) (*env, error) {
	var e env
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &e, Lookuper: l}); err != nil {
		return nil, &configError{msg: describeEnvError(err)}
	}
	if !forAuth && e.Registry.URL == "" {
		return nil, badConfig("SCHEMA_REGISTRY_URL", "missing required value")
	}
	return &e, e.check(forAuth)
}

// uuidPattern is the form of a Xero tenant id.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkAccessConfig holds the rules on how the program reaches Xero and Kafka and serves its
// status: the grant, the scopes, the tenant ids, the brokers and the listen address.
func (e *env) checkAccessConfig() error {
	switch e.Xero.Grant {
	case connector.GrantRefreshToken:
	case connector.GrantClientCredentials:
		if e.Xero.ClientSecret == "" {
			return badConfig("XERO_CLIENT_SECRET", "missing: XERO_GRANT=client_credentials (a custom connection) needs the client secret")
		}
	default:
		return badConfig("XERO_GRANT", "%q: want refresh_token or client_credentials", e.Xero.Grant)
	}
	if e.Xero.Scopes != "granular" && e.Xero.Scopes != "broad" {
		return badConfig("XERO_SCOPES", "%q: want granular (apps created since 2 March 2026) or broad", e.Xero.Scopes)
	}
	if e.Xero.AuthPort < 0 || e.Xero.AuthPort > 65535 {
		return badConfig("XERO_AUTH_PORT", "%d: want a port from 0 (any free one) to 65535", e.Xero.AuthPort)
	}
	for _, t := range e.Xero.TenantIDs {
		if !uuidPattern.MatchString(strings.TrimSpace(t)) {
			return badConfig("XERO_TENANT_ID", "%q is not a tenant id (a UUID such as 3f2a9c1d-0b4e-4c6a-9f1e-2d7b8a6c5e43)", t)
		}
	}
	if len(e.Kafka.BootstrapServers) == 0 {
		return badConfig("KAFKA_BOOTSTRAP_SERVERS", "empty: want host:port, comma-separated")
	}
	for _, b := range e.Kafka.BootstrapServers {
		if _, port, err := net.SplitHostPort(strings.TrimSpace(b)); err != nil || !validPort(port) {
			return badConfig("KAFKA_BOOTSTRAP_SERVERS", "%q is not host:port", b)
		}
	}
	if host, port, err := net.SplitHostPort(e.HTTPAddr); err != nil || !validPort(port) || strings.ContainsAny(host, " /") {
		return badConfig("HTTP_ADDR", "%q is not [host]:port (such as :8080 or 127.0.0.1:8080)", e.HTTPAddr)
	}
	return nil
}

// validPort reports whether s is a port number, 0 to 65535.
func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// describeEnvError turns go-envconfig's error, which names Go fields ("Xero: DayLimit: ..."),
// into one naming the variable ("XERO_DAY_LIMIT: ...").
func describeEnvError(err error) string {
	msg := err.Error()
	if errors.Is(err, envconfig.ErrMissingRequired) {
		parts := strings.Split(msg, ": ")
		return parts[len(parts)-1] + ": missing required value"
	}
	t := reflect.TypeFor[env]()
	prefix := ""
	rest := msg
	for {
		name, tail, ok := strings.Cut(rest, ": ")
		if !ok {
			return msg
		}
		f, found := t.FieldByName(name)
		if !found {
			return rest // a decoder's own message, which names its variable
		}
		key, opts, _ := strings.Cut(f.Tag.Get("env"), ",")
		if p, ok := strings.CutPrefix(strings.TrimSpace(opts), "prefix="); ok {
			prefix += p // a group of variables: descend into it
			t, rest = f.Type, tail
			continue
		}
		return prefix + strings.TrimSpace(key) + ": " + tail
	}
}

// check holds the rules go-envconfig cannot express.
func (e *env) check(forAuth bool) error {
	urls := []struct{ name, value string }{
		{"XERO_API_URL", e.Xero.APIURL}, {"XERO_IDENTITY_URL", e.Xero.IdentityURL}, {"XERO_LOGIN_URL", e.Xero.LoginURL},
	}
	if !forAuth {
		urls = append(urls, struct{ name, value string }{"SCHEMA_REGISTRY_URL", e.Registry.URL})
	}
	for _, u := range urls {
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return badConfig(u.name, "%q is not an http(s) URL", u.value)
		}
	}
	if _, err := stateKey(e.Xero.StateKey); err != nil {
		return err
	}
	if err := e.checkAccessConfig(); err != nil {
		return err
	}
	if e.Xero.DayLimit < 1 {
		return badConfig("XERO_DAY_LIMIT", "%d: must be positive", e.Xero.DayLimit)
	}
	if e.PageMemoryMiB < 0 {
		return badConfig("PAGE_MEMORY_MIB", "%d: must be 0 (no limit) or more", e.PageMemoryMiB)
	}
	if e.Kafka.TopicPartitions < 1 {
		return badConfig("KAFKA_TOPIC_PARTITIONS", "%d: must be at least 1", e.Kafka.TopicPartitions)
	}
	switch strings.ToUpper(e.Kafka.SASLMechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return badConfig("KAFKA_SASL_MECHANISM", "%q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", e.Kafka.SASLMechanism)
	}
	if e.Kafka.SASLMechanism != "" && (e.Kafka.SASLUsername == "" || e.Kafka.SASLPassword == "") {
		return badConfig("KAFKA_SASL_USERNAME", "KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
	}
	if _, err := slogLevel(e.LogLevel); err != nil {
		return err
	}
	switch e.KafkaLogLevel {
	case "debug", "info", "warn", "error":
	default:
		return badConfig("KAFKA_LOG_LEVEL", "%q: want debug, info, warn or error", e.KafkaLogLevel)
	}
	if e.LogFormat != "text" && e.LogFormat != "json" {
		return badConfig("LOG_FORMAT", "%q: want text or json", e.LogFormat)
	}
	return nil
}

// stateKey decodes XERO_STATE_KEY: 32 bytes, as base64 or 64 hex digits.
func stateKey(s secret) ([]byte, error) {
	key, err := offsets.ParseKey(string(s))
	if err != nil {
		return nil, badConfig("XERO_STATE_KEY", "%v (make one with: openssl rand -base64 32)", err)
	}
	return key, nil
}

func slogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, badConfig("LOG_LEVEL", "%q: want debug, info, warn or error", s)
	}
	return l, nil
}

// connectorConfig maps the environment to the connector's configuration.
func (e *env) connectorConfig() connector.Config {
	return connector.Config{
		Xero: xero.Config{
			APIURL:         e.Xero.APIURL,
			IdentityURL:    e.Xero.IdentityURL,
			LoginURL:       e.Xero.LoginURL,
			ClientID:       e.Xero.ClientID,
			ClientSecret:   string(e.Xero.ClientSecret),
			RequestTimeout: e.Xero.RequestTimeout,
		},
		RefreshToken:           string(e.Xero.RefreshToken),
		Grant:                  e.Xero.Grant,
		BroadScopes:            e.Xero.Scopes == "broad",
		Tenants:                e.Xero.TenantIDs,
		Streams:                e.Xero.Streams,
		StartDate:              e.Xero.StartDate.Time,
		TopicPrefix:            e.Kafka.TopicPrefix,
		StateTopic:             e.Kafka.StateTopic,
		DeadLetterTopic:        e.Kafka.DeadLetterTopic,
		TransactionalID:        e.Kafka.TransactionalID,
		TopicPartitions:        e.Kafka.TopicPartitions,
		TopicReplicationFactor: e.Kafka.TopicReplication,
		TopicCleanupPolicy:     e.Kafka.TopicCleanupPolicy,
		PollInterval:           e.Xero.PollInterval,
		FullTableInterval:      e.Xero.FullTableInterval,
		DayLimit:               e.Xero.DayLimit,
		MaxTransactionRecords:  e.Kafka.MaxTransactionRecords,
		TransactionTimeout:     e.Kafka.TransactionTimeout,
		KafkaLogLevel:          e.KafkaLogLevel,
		PerTenantMetrics:       e.MetricsPerTenant,
		PageMemoryLimit:        pageMemoryLimit(e.PageMemoryMiB),
	}
}

// pageMemoryLimit turns PAGE_MEMORY_MIB into connector.Config.PageMemoryLimit: 0 is no limit.
func pageMemoryLimit(mib int) int64 {
	if mib == 0 {
		return -1
	}
	return int64(mib) << 20
}

// kafkaOpts says how to reach the brokers.
func (e *env) kafkaOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(e.Kafka.BootstrapServers...)}
	if e.Kafka.TLS || e.Kafka.TLSCAFile != "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.Kafka.TLSCAFile != "" {
			pem, err := os.ReadFile(e.Kafka.TLSCAFile)
			if err != nil {
				return nil, badConfig("KAFKA_TLS_CA_FILE", "%v", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, badConfig("KAFKA_TLS_CA_FILE", "%s holds no PEM certificate", e.Kafka.TLSCAFile)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	user, pass := e.Kafka.SASLUsername, string(e.Kafka.SASLPassword)
	switch strings.ToUpper(e.Kafka.SASLMechanism) {
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
	}
	return opts, nil
}

// registry returns the Schema Registry client.
func (e *env) registry() (*sr.Client, error) {
	opts := []sr.ClientOpt{sr.URLs(e.Registry.URL)}
	if e.Registry.Username != "" {
		opts = append(opts, sr.BasicAuth(e.Registry.Username, string(e.Registry.Password)))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, badConfig("SCHEMA_REGISTRY_URL", "%v", err)
	}
	return cl, nil
}
