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
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/xero"
)

// env is the program's configuration as the environment gives it. Its defaults are not here:
// they come from connector.Settings, the one table of the program's variables, which
// `xero-kafka help` prints and README.md's table follows.
type env struct {
	Xero struct {
		ClientID          string        `env:"CLIENT_ID, required"`
		ClientSecret      secret        `env:"CLIENT_SECRET"`
		RefreshToken      secret        `env:"REFRESH_TOKEN"`
		Grant             string        `env:"GRANT"`
		Scopes            string        `env:"SCOPES"`
		AuthPort          int           `env:"AUTH_PORT"`
		LoginURL          string        `env:"LOGIN_URL"`
		TenantIDs         []string      `env:"TENANT_ID"`
		Streams           []string      `env:"STREAMS"`
		StartDate         date          `env:"START_DATE"`
		APIURL            string        `env:"API_URL"`
		IdentityURL       string        `env:"IDENTITY_URL"`
		DayLimit          int           `env:"DAY_LIMIT"`
		PollInterval      time.Duration `env:"POLL_INTERVAL"`
		FullTableInterval time.Duration `env:"FULL_TABLE_INTERVAL"`
		RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT"`
		StateKey          secret        `env:"STATE_KEY, required"`
	} `env:", prefix=XERO_"`
	Kafka struct {
		BootstrapServers      []string      `env:"BOOTSTRAP_SERVERS, required"`
		TopicPrefix           string        `env:"TOPIC_PREFIX"`
		StateTopic            string        `env:"STATE_TOPIC"`
		DeadLetterTopic       string        `env:"DEAD_LETTER_TOPIC"`
		TransactionalID       string        `env:"TRANSACTIONAL_ID"`
		TransactionTimeout    time.Duration `env:"TRANSACTION_TIMEOUT"`
		TopicPartitions       int32         `env:"TOPIC_PARTITIONS"`
		TopicReplication      int16         `env:"TOPIC_REPLICATION_FACTOR"`
		TopicCleanupPolicy    string        `env:"TOPIC_CLEANUP_POLICY"`
		TLS                   bool          `env:"TLS"`
		TLSCAFile             string        `env:"TLS_CA_FILE"`
		SASLMechanism         string        `env:"SASL_MECHANISM"`
		SASLUsername          string        `env:"SASL_USERNAME"`
		SASLPassword          secret        `env:"SASL_PASSWORD"`
		MaxTransactionRecords int           `env:"MAX_TRANSACTION_RECORDS"`
		Compression           string        `env:"COMPRESSION"`
	} `env:", prefix=KAFKA_"`
	Registry struct {
		URL      string `env:"URL"`
		Username string `env:"USERNAME"`
		Password secret `env:"PASSWORD"`
	} `env:", prefix=SCHEMA_REGISTRY_"`
	HTTPAddr         string      `env:"HTTP_ADDR"`
	LogLevel         string      `env:"LOG_LEVEL"`
	KafkaLogLevel    string      `env:"KAFKA_LOG_LEVEL"`
	LogFormat        string      `env:"LOG_FORMAT"`
	MetricsPerTenant bool        `env:"METRICS_PER_TENANT"`
	PageMemoryMiB    int         `env:"PAGE_MEMORY_MIB"`
	MemoryLimit      memoryLimit `env:"MEMORY_LIMIT_MIB"`
	SyncWorkers      int         `env:"SYNC_WORKERS"`
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

// memoryLimit is MEMORY_LIMIT_MIB, as connector.Config.MemoryLimit.
type memoryLimit struct{ bytes int64 }

func (m *memoryLimit) EnvDecode(v string) error {
	b, err := connector.ParseMemoryLimit(v)
	if err != nil {
		return fmt.Errorf("MEMORY_LIMIT_MIB: %w", err)
	}
	m.bytes = b
	return nil
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
// (the Schema Registry). An unset variable takes its default from connector.Settings.
func readEnvFor(ctx context.Context, l envconfig.Lookuper, forAuth bool) (*env, error) {
	var e env
	withDefaults := envconfig.MultiLookuper(l, envconfig.MapLookuper(connector.Defaults()))
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &e, Lookuper: withDefaults}); err != nil {
		return nil, &configError{msg: describeEnvError(err)}
	}
	if err := checkValues(l, forAuth); err != nil {
		return nil, err
	}
	if !forAuth && e.Registry.URL == "" {
		return nil, badConfig("SCHEMA_REGISTRY_URL", "missing required value")
	}
	return &e, e.check(forAuth)
}

// checkValues refuses a value with a control character (a line break or tab pasted with it)
// and an empty required one (but the registry's, for 'auth').
func checkValues(l envconfig.Lookuper, forAuth bool) error {
	for _, s := range connector.Settings() {
		v, ok := l.Lookup(s.Var)
		if !ok {
			continue
		}
		if strings.ContainsFunc(v, unicode.IsControl) {
			return badConfig(s.Var, "the value holds a control character (a line break or tab pasted with it?)")
		}
		if s.Required && strings.TrimSpace(v) == "" && (!forAuth || s.Var != "SCHEMA_REGISTRY_URL") {
			return badConfig(s.Var, "empty: a value is required")
		}
	}
	return nil
}

// checkAccessConfig holds the rules on how the program reaches Xero and Kafka and serves its
// status that the connector's Config does not hold: the scopes, the redirect port, the brokers
// and the listen address.
func (e *env) checkAccessConfig() error {
	if e.Xero.Scopes != "granular" && e.Xero.Scopes != "broad" {
		return badConfig("XERO_SCOPES", "%q: want granular (apps created since 2 March 2026) or broad", e.Xero.Scopes)
	}
	if e.Xero.AuthPort < 0 || e.Xero.AuthPort > 65535 {
		return badConfig("XERO_AUTH_PORT", "%d: want a port from 0 (any free one) to 65535", e.Xero.AuthPort)
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

// check holds the rules go-envconfig cannot express, in one pass: those of the variables only
// the program reads here, then the connector's own (connector.Config.Validate), each error
// naming its variable.
func (e *env) check(forAuth bool) error {
	if !forAuth {
		p, err := url.Parse(e.Registry.URL)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return badConfig("SCHEMA_REGISTRY_URL", "%q is not an http(s) URL", e.Registry.URL)
		}
	}
	if (e.Registry.Username == "") != (e.Registry.Password == "") {
		return badConfig("SCHEMA_REGISTRY_USERNAME", "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together")
	}
	if _, err := stateKey(e.Xero.StateKey); err != nil {
		return err
	}
	if err := e.checkAccessConfig(); err != nil {
		return err
	}
	if e.PageMemoryMiB < 0 {
		return badConfig("PAGE_MEMORY_MIB", "%d: must be 0 (no limit) or more", e.PageMemoryMiB)
	}
	switch strings.ToUpper(e.Kafka.SASLMechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return badConfig("KAFKA_SASL_MECHANISM", "%q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", e.Kafka.SASLMechanism)
	}
	if e.Kafka.SASLMechanism != "" && (e.Kafka.SASLUsername == "" || e.Kafka.SASLPassword == "") {
		return badConfig("KAFKA_SASL_USERNAME", "KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
	}
	if e.Kafka.SASLMechanism == "" && (e.Kafka.SASLUsername != "" || e.Kafka.SASLPassword != "") {
		return badConfig("KAFKA_SASL_MECHANISM", "missing: KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are used only with a mechanism")
	}
	if e.Kafka.TLSCAFile != "" {
		if _, err := e.caPool(); err != nil {
			return err
		}
	}
	if _, err := slogLevel(e.LogLevel); err != nil {
		return err
	}
	if e.LogFormat != "text" && e.LogFormat != "json" {
		return badConfig("LOG_FORMAT", "%q: want text or json", e.LogFormat)
	}
	// Every value is the environment's or its default: a zero is a value given, not a default
	// to fill in, so the configuration is validated as it is.
	if err := e.connectorConfig().Validate(); err != nil {
		// One line, as every configuration error is printed.
		return &configError{msg: strings.ReplaceAll(err.Error(), "\n", "; ")}
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
			DayLimit:       e.Xero.DayLimit,
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
		Compression:            e.Kafka.Compression,
		PerTenantMetrics:       e.MetricsPerTenant,
		PageMemoryLimit:        pageMemoryLimit(e.PageMemoryMiB),
		MemoryLimit:            e.MemoryLimit.bytes,
		Workers:                e.SyncWorkers,
	}
}

// caPool reads the certificates of KAFKA_TLS_CA_FILE.
func (e *env) caPool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(e.Kafka.TLSCAFile)
	if err != nil {
		return nil, badConfig("KAFKA_TLS_CA_FILE", "%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, badConfig("KAFKA_TLS_CA_FILE", "%s holds no PEM certificate", e.Kafka.TLSCAFile)
	}
	return pool, nil
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
			pool, err := e.caPool()
			if err != nil {
				return nil, err
			}
			cfg.RootCAs = pool
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
