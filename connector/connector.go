// Package connector streams Xero data into Kafka: it runs a poller per (organisation, stream)
// and commits each page's Avro records with the stream's new bookmark in one Kafka transaction.
//
// It is the only package that knows the others: xero reads the API, streams says how each
// entity is read, avro encodes the records and offsets keeps the bookmarks and the refresh token
// in the state topic. A record's path, from an HTTP response to a Kafka record, is
// poller.fetch (poller.go) → keysetCycle, offsetCycle or scanCycle (keyset.go, poller.go,
// scan.go) → builder.record (records.go) → poller.commit → writer.transact (writer.go).
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/plugin/kslog"
	"golang.org/x/sync/errgroup"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

// Deps are the connector's connections to the outside, made by the caller.
type Deps struct {
	// Kafka says how to reach the brokers (seeds, TLS, SASL); the connector adds the producer
	// and consumer settings it needs.
	Kafka []kgo.Opt
	// Registry is the Schema Registry client.
	Registry *sr.Client
	// Sealer encrypts the refresh token in the state topic.
	Sealer offsets.Sealer
	// Logger receives the connector's logs; nil discards them.
	Logger *slog.Logger
	// Metrics is where the connector registers its collectors; nil skips them.
	Metrics prometheus.Registerer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Connector reads Xero and writes Kafka. Make one with New and start it with Run.
type Connector struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics
	board   *board
	ready   *readiness
}

// New checks cfg and returns a connector that has not touched the network yet.
func New(cfg Config, deps Deps) (*Connector, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(deps.Kafka) == 0 || deps.Registry == nil || deps.Sealer == nil {
		return nil, errors.New("connector: Kafka options, a registry client and a sealer are required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	m := newMetrics(deps.Metrics, cfg.PerTenantMetrics)
	b := newBoard(m, deps.Now)
	if deps.Metrics != nil {
		deps.Metrics.MustRegister(&lagCollector{board: b, now: deps.Now, perTenant: cfg.PerTenantMetrics})
	}
	return &Connector{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Logger,
		metrics: m,
		board:   b,
		ready:   &readiness{registry: deps.Registry},
	}, nil
}

// Status returns where every stream stands.
func (c *Connector) Status() Status { return c.board.status() }

// StatusHandler serves Status as JSON (GET /status).
func (c *Connector) StatusHandler() http.Handler { return c.board }

// Run syncs until ctx ends or the connector cannot go on. Cancelling ctx is a soft stop: no new
// Xero call starts, the transaction under way is committed or aborted, and Run returns nil.
// Run returns an error when another instance fences this one (ErrFenced), when Xero rejects the
// refresh token, and when the setup fails (topics, schemas, state).
func (c *Connector) Run(ctx context.Context) error {
	err := c.run(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrFenced) {
		return nil // stopped, perhaps during the setup: not a failure
	}
	return err
}

func (c *Connector) run(ctx context.Context) error {
	cfg := c.cfg
	kafka := append([]kgo.Opt{kgo.WithLogger(kafkaLogger{kslog.New(c.log.With("component", "kafka"))})}, c.deps.Kafka...)

	var (
		builders map[string]builder
		producer *kgo.Client
		state    *offsets.State
	)
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		var err error
		builders, producer, state, err = c.setup(ctx, kafka)
		if err == nil {
			break
		}
		if !transient(err) || ctx.Err() != nil {
			return err
		}
		c.log.Warn("setup failed; trying again", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	defer producer.Close()
	c.ready.set(producer)
	defer c.ready.set(nil)
	refresh, seedHash := chooseRefreshToken(state, cfg.RefreshToken, c.log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := newWriter(producer, cfg.MaxTransactionRecords, cfg.TransactionTimeout, c.log, c.metrics)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.run(gctx) })
	// An idle instance may have nothing to commit for long, and would learn of its successor
	// only then: watch for the successor's startup marker instead.
	g.Go(func() error {
		err := offsets.WatchTakeover(gctx, kafka, cfg.StateTopic, state)
		if err != nil {
			c.log.Error("stopping: another instance with the same transactional id has started", "err", err)
		}
		return err
	})

	api, err := xero.NewClient(cfg.Xero, refresh, &tokenStore{
		w: w, topic: cfg.StateTopic, sealer: c.deps.Sealer, seedHash: seedHash, now: c.deps.Now,
	}, c.log.With("component", "xero"), c.deps.Metrics)
	if err != nil {
		cancel()
		return errors.Join(fmt.Errorf("xero client: %w", err), g.Wait())
	}
	tenants, err := c.tenants(gctx, api)
	if err != nil {
		cancel()
		return errors.Join(err, g.Wait())
	}

	incremental := 0
	for _, name := range cfg.Streams {
		if s, _ := streams.ByName(name); !s.FullTable {
			incremental++
		}
	}
	every := planIntervals(cfg, incremental)
	c.log.Info("starting", "tenants", len(tenants), "streams", len(cfg.Streams),
		"incremental_interval", every, "full_table_interval", cfg.FullTableInterval)

	for _, tenant := range tenants {
		for _, name := range cfg.Streams {
			p := c.newPoller(tenant, name, api, w, builders[name], state, every)
			g.Go(func() error { return p.run(gctx) })
		}
	}
	return g.Wait()
}

// tenants returns the configured organisations, or every organisation connected to the app.
func (c *Connector) tenants(ctx context.Context, api *xero.Client) ([]string, error) {
	conns, err := api.Connections(ctx)
	if err != nil {
		if len(c.cfg.Tenants) > 0 && !tokenRejected(err) {
			c.log.Warn("cannot list connections; using the configured tenants", "err", err)
			return c.cfg.Tenants, nil
		}
		return nil, fmt.Errorf("list connected organisations: %w", err)
	}
	connected := make(map[string]bool, len(conns))
	var all []string
	for _, conn := range conns {
		connected[conn.TenantID] = true
		c.board.setName(conn.TenantID, conn.TenantName)
		if conn.TenantType == "ORGANISATION" {
			all = append(all, conn.TenantID)
		}
	}
	if len(c.cfg.Tenants) == 0 {
		if len(all) == 0 {
			return nil, errors.New("no organisation is connected to this app: connect one and restart")
		}
		return all, nil
	}
	for _, t := range c.cfg.Tenants {
		if !connected[t] {
			return nil, fmt.Errorf("tenant %s is not connected to this app (XERO_TENANT_ID)", t)
		}
	}
	return c.cfg.Tenants, nil
}

func (c *Connector) newPoller(tenant, name string, api lister, w *writer, b builder, state *offsets.State, every time.Duration) *poller {
	s, _ := streams.ByName(name)
	bm, _ := state.Bookmark(tenant, name)
	b.stream = &s
	b.tenant = tenant
	interval := every
	if s.FullTable {
		interval = c.cfg.FullTableInterval
	}
	if bm.Watermark == 0 && s.Sync == streams.Keyset && !c.cfg.StartDate.IsZero() {
		bm.Watermark = c.cfg.StartDate.UnixMilli()
	}
	st := &streamStatus{tenant: tenant, stream: name, offsetKind: s.Sync == streams.Offset}
	st.committed(bm, 0)
	c.board.add(st)
	return &poller{
		stream:     &s,
		tenant:     tenant,
		api:        api,
		out:        w,
		build:      b,
		stateTopic: c.cfg.StateTopic,
		bm:         bm,
		interval:   interval,
		now:        c.deps.Now,
		log:        c.log.With("tenant", tenant, "stream", name),
		status:     st,
		metrics:    c.metrics,
	}
}

// kafkaLogger passes franz-go's logs to the connector's logger, from warnings up unless debug
// logging is on: at info, franz-go narrates every transaction.
type kafkaLogger struct{ *kslog.Logger }

func (l kafkaLogger) Level() kgo.LogLevel {
	if lvl := l.Logger.Level(); lvl < kgo.LogLevelDebug {
		return min(lvl, kgo.LogLevelWarn)
	}
	return kgo.LogLevelDebug
}

// setup creates the missing topics, registers the schemas, creates the transactional producer
// and loads the state. Topics and schemas come first: nothing is read from Xero that could not
// be written. Writing the startup marker (in Load) fences any earlier instance, so the state
// read after it is final.
func (c *Connector) setup(ctx context.Context, kafka []kgo.Opt) (map[string]builder, *kgo.Client, *offsets.State, error) {
	cfg := c.cfg
	topics := make([]string, len(cfg.Streams))
	for i, name := range cfg.Streams {
		topics[i] = cfg.TopicPrefix + "." + name
	}
	admCl, err := kgo.NewClient(kafka...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kafka admin client: %w", err)
	}
	err = ensureTopics(ctx, kadm.NewClient(admCl), cfg, topics)
	admCl.Close()
	if err != nil {
		return nil, nil, nil, err
	}
	builders := make(map[string]builder, len(cfg.Streams))
	for i, name := range cfg.Streams {
		codec, err := avro.NewCodec(name)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("schema of %s: %w", name, err)
		}
		ids, err := avro.Register(ctx, c.deps.Registry, topics[i], codec)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("register schemas of %s: %w", topics[i], err)
		}
		builders[name] = builder{topic: topics[i], deadTopic: cfg.DeadLetterTopic, enc: codec, keyID: ids.KeyID, valueID: ids.ValueID}
	}
	producer, err := kgo.NewClient(append(kafka,
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(cfg.TransactionTimeout),
	)...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kafka producer: %w", err)
	}
	state, err := offsets.Load(ctx, producer, kafka, cfg.StateTopic, c.deps.Sealer)
	if err != nil {
		producer.Close()
		return nil, nil, nil, fmt.Errorf("load state from %s: %w", cfg.StateTopic, err)
	}
	return builders, producer, state, nil
}

// transient reports whether a setup error may pass by itself: the broker or the registry out
// of reach for a while, a broker still electing leaders. Anything else (a state record that
// cannot be read, a state topic that is not compacted, fencing) needs a person.
func transient(err error) bool {
	var netErr *net.OpError
	return !offsets.IsFenced(err) && (errors.As(err, &netErr) || kgo.IsRetryableBrokerErr(err) || kerr.IsRetriable(err))
}
