// Package connector streams Xero data into Kafka: it keeps a poller per (organisation, stream),
// runs their cycles on a bounded pool of workers, and commits each page's Avro records with the stream's new bookmark in one Kafka transaction.
//
// It is the only package that knows the others: xero reads the API, streams says how each
// entity is read, avro encodes the records and offsets keeps the bookmarks and the refresh token
// in the state topic. A record's path, from an HTTP response to a Kafka record, is
// poller.fetch (poller.go) → the stream's strategy, a state machine with no I/O (keyset.go,
// offset.go, scan.go) → builder.record (records.go) → poller.send (pipeline.go) → writer.transact (writer.go).
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	// SetMemoryLimit gives the runtime its soft memory limit (debug.SetMemoryLimit); nil leaves
	// the runtime's limit alone (Config.MemoryLimit is then not applied).
	SetMemoryLimit func(int64) int64
}

// Connector reads Xero and writes Kafka. Make one with New and start it with Run.
type Connector struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	metrics *metrics
	board   *board
	// pages bounds the page bytes read and not yet committed (memory.go).
	pages *pageBudget
	// wrapProducer, when set, stands between the writer and its producer (tests inject
	// faults with it).
	wrapProducer func(txnProducer) txnProducer
	ready        *readiness
	// plans are the day-budget plans by organisation; they outlive sessions, and so do the
	// costs they measured.
	plans map[string]*tenantPlan
	// fixed is what every poller shares, made with the first (pollerSettings).
	fixed *pollerSettings
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
		pages:   newPageBudget(cfg.PageMemoryLimit, m.pageBytes),
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
	kafka := append([]kgo.Opt{kgo.WithLogger(kafkaLogger{kslog.New(c.log.With("component", "kafka")), kafkaLevels[cfg.KafkaLogLevel]})}, c.deps.Kafka...)

	builders, err := retrySetup(ctx, c.log, func() (map[string]*streamBuilder, error) { return c.prepare(ctx, kafka) })
	if err != nil {
		return err
	}
	// The token store outlives the sessions: a rotated refresh token whose save failed while a
	// session ended is saved again by the next call, through the next session's writer.
	store := &tokenStore{topic: cfg.StateTopic, sealer: c.deps.Sealer, now: c.deps.Now}
	var (
		api       *xero.Client
		tenantIDs []string
	)
	// The organisations are listed, and access to each checked, once, in the first session:
	// the calls may rotate the refresh token, which only a running writer can save.
	tenants := func(ctx context.Context) ([]string, error) {
		if tenantIDs != nil {
			return tenantIDs, nil
		}
		ids, err := c.tenants(ctx, api)
		if err == nil {
			err = c.checkAccess(ctx, api, ids)
		}
		if err == nil {
			tenantIDs = ids
		}
		return ids, err
	}
	var wait time.Duration // before reloading the state again
	for {
		st, err := retrySetup(ctx, c.log, func() (session, error) { return c.load(ctx, kafka) })
		if err != nil {
			return err
		}
		if api == nil {
			if api, err = c.xeroClient(st.state, store); err != nil {
				st.producer.Close()
				return fmt.Errorf("xero client: %w", err)
			}
		}
		c.ready.set(st.producer)
		committed, err := c.session(ctx, kafka, st, api, store, tenants, builders)
		c.ready.set(nil)
		st.producer.Close()
		if !(errors.Is(err, errOutcomeUnknown) || errors.Is(err, errProducerBroken)) || ctx.Err() != nil {
			return err
		}
		// A newcomer with the same transactional id may have fenced the producer meanwhile,
		// the failed commit's answer lost with it: loading again would fence it in turn.
		if newer, checkErr := offsets.Superseded(ctx, kafka, cfg.StateTopic, st.state, 10*time.Second); newer {
			c.log.Error("stopping: another instance with the same transactional id has started", "err", err)
			return fmt.Errorf("%w (seen while %v)", ErrFenced, err)
		} else if checkErr != nil {
			c.log.Warn("could not tell whether another instance has started; loading the state again", "err", checkErr)
		}
		// The broker may or may not have committed the transaction whose answer was lost, or
		// the producer can no longer begin one. The state topic knows what landed: the next
		// session's load fences the old producer (which settles its transaction) and replays
		// the state, and every poller resumes from the bookmark that was really committed.
		// A lost answer is a passing fault: after a session that committed something, reload
		// at once. Sessions that keep failing before their first commit wait longer and
		// longer, up to 30 s.
		if committed > 0 {
			wait = 0
		}
		c.log.Warn("reloading the state to resume from what was committed", "in", wait, "err", err)
		c.metrics.sessionRestarts.Inc()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(max(2*wait, time.Second), 30*time.Second)
	}
}

// session is what one load of the state gives: the transactional producer that wrote the
// startup marker, and the state committed before it.
type session struct {
	producer *kgo.Client
	state    *offsets.State
}

// session runs the writer, the takeover watch and the scheduler of one poller per (organisation,
// stream) until ctx ends or one of them fails for the connector as a whole. It returns how many transactions it
// committed, with the reason it ended.
func (c *Connector) session(ctx context.Context, kafka []kgo.Opt, st session, api *xero.Client, store *tokenStore,
	tenants func(context.Context) ([]string, error), builders map[string]*streamBuilder) (committed int64, err error) {
	cfg := c.cfg
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var producer txnProducer = st.producer
	if c.wrapProducer != nil {
		producer = c.wrapProducer(producer)
	}
	w := newWriter(producer, cfg.MaxTransactionRecords, cfg.TransactionTimeout, c.log, c.metrics)
	defer func() { committed = w.committed.Load() }()
	store.use(w)
	defer store.use(nil)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.run(gctx) })
	// An idle instance may have nothing to commit for long, and would learn of its successor
	// only then: watch for the successor's startup marker instead.
	g.Go(func() error {
		err := offsets.WatchTakeover(gctx, kafka, cfg.StateTopic, st.state)
		if err != nil {
			c.log.Error("stopping: another instance with the same transactional id has started", "err", err)
		}
		return err
	})
	// The soft memory limit, from the streams the state holds bookmarks of (or the configured
	// ones) until the organisations are known: making the pollers is when a start peaks.
	if c.deps.SetMemoryLimit == nil {
		cfg.MemoryLimit = -1 // not applied: say none
	}
	var limit atomic.Int64
	limit.Store(memoryLimit(cfg, max(st.state.Summary().Bookmarks, len(cfg.Tenants)*len(cfg.Streams))))
	g.Go(func() error {
		holdMemoryLimit(gctx, c.deps.SetMemoryLimit, limit.Load, runtimeMemory(), time.Second)
		return nil
	})
	ids, err := tenants(gctx)
	if err != nil {
		cancel()
		return 0, errors.Join(err, g.Wait())
	}

	// The pollers are values; the scheduler runs their cycles on at most cfg.Workers
	// goroutines (schedule.go). A fatal error of one stops the writer and the watch too.
	sched := newScheduler(cfg.Workers, nil)
	sched.onFatal = cancel
	spread := startSpread(len(ids) * len(cfg.Streams))
	for _, tenant := range ids {
		plan := c.plan(tenant)
		if total := plan.total(); total > float64(cfg.DayLimit) {
			c.log.Warn("the configured poll intervals spend more than the organisation's day limit; it will pause until the limit resets",
				"tenant", tenant, "calls_per_day", int(total), "day_limit", cfg.DayLimit)
		}
		for _, name := range cfg.Streams {
			p := c.newPoller(tenant, name, api, w, builders[name], st.state, plan.stream(name))
			p.startDelay = startDelay(tenant, name, spread)
			sched.add(p)
		}
	}
	// The pollers hold the bookmarks now: the state's index of them is no longer needed.
	st.state.ReleaseBookmarks()
	limit.Store(memoryLimit(cfg, len(ids)*len(cfg.Streams)))
	// A reset asked for while the session runs wakes its poller at once.
	st.state.OnReset(sched.wake)
	defer st.state.OnReset(nil)
	g.Go(func() error { return sched.run(gctx) })
	c.log.Info("starting", "tenants", len(ids), "streams", len(cfg.Streams), "workers", min(cfg.Workers, len(ids)*len(cfg.Streams)), "day_limit", cfg.DayLimit,
		"memory_limit_mib", limit.Load()>>20)
	return 0, g.Wait()
}

// retrySetup calls f until it succeeds, ctx ends or it fails in a way that will not pass by
// itself (see transient).
func retrySetup[T any](ctx context.Context, log *slog.Logger, f func() (T, error)) (T, error) {
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		v, err := f()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return v, err
		}
		log.Warn("setup failed; trying again", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(wait):
		}
	}
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

func (c *Connector) newPoller(tenant, name string, api lister, w *writer, sb *streamBuilder, state *offsets.State, plan *streamPlan) *poller {
	// sb and its stream are shared by the pollers of every organisation (prepare).
	if sb == nil || sb.stream == nil {
		v, _ := streams.ByName(name)
		own := streamBuilder{}
		if sb != nil {
			own = *sb
		}
		own.stream = &v
		sb = &own
	}
	s := sb.stream
	bm, _ := state.Bookmark(tenant, name)
	b := builder{streamBuilder: sb, tenant: tenant}
	if bm.Watermark == 0 && s.Sync == streams.Keyset && !c.cfg.StartDate.IsZero() {
		bm.Watermark = c.cfg.StartDate.UnixMilli()
	}
	st := c.board.stream(tenant, name, s.Sync == streams.Offset)
	st.mu.Lock()
	st.plan = plan.view
	st.mu.Unlock()
	scope := xero.ScopeFor(s.Path, c.cfg.BroadScopes)
	st.committed(bm, 0)
	p := &poller{
		stream:   s,
		tenant:   tenant,
		api:      plan.count(api),
		out:      w,
		build:    b,
		fixed:    c.pollerSettings(),
		bm:       bm,
		stored:   state.Stored(tenant, name),
		interval: plan.interval(),
		plan:     plan,
		now:      c.deps.Now,
		log:      streamLogger(c.log, tenant, name),
		status:   st,
		metrics:  c.metrics,
		resets:   state.ResetInbox(tenant, name),
		scope:    scope,
		mem:      c.pages,
	}
	p.packBookmark()
	return p
}

// pollerSettings returns the settings the pollers share, made on first use from the
// configuration.
func (c *Connector) pollerSettings() *pollerSettings {
	if c.fixed == nil {
		c.fixed = &pollerSettings{
			stateTopic: c.cfg.StateTopic,
			startMS:    startMSOf(c.cfg.StartDate),
			refusedFor: max(c.cfg.FullTableInterval, time.Hour),
		}
	}
	return c.fixed
}

// plan returns the day-budget plan of tenant, made on first use.
func (c *Connector) plan(tenant string) *tenantPlan {
	if tp, ok := c.plans[tenant]; ok {
		return tp
	}
	if c.plans == nil {
		c.plans = make(map[string]*tenantPlan)
	}
	tp := newTenantPlan(c.cfg.DayLimit, c.cfg.Streams, func(name string) time.Duration {
		if s, _ := streams.ByName(name); s.FullTable {
			return c.cfg.FullTableInterval
		}
		return c.cfg.PollInterval
	})
	c.plans[tenant] = tp
	return tp
}

// kafkaLogger passes franz-go's logs to the connector's logger from its own level up (warnings by
// default: at info, franz-go narrates every transaction, and its debug drowns the connector's).
type kafkaLogger struct {
	*kslog.Logger
	level kgo.LogLevel
}

func (l kafkaLogger) Level() kgo.LogLevel { return min(l.Logger.Level(), l.level) }

// Setup: at most registerParallel schema registrations in flight, and metadata of the admin
// client no older than setupMetadataAge.
const (
	registerParallel = 4
	setupMetadataAge = 50 * time.Millisecond
)

// prepare creates the missing topics and registers the schemas, both at once: nothing is read
// from Xero that could not be written.
func (c *Connector) prepare(ctx context.Context, kafka []kgo.Opt) (map[string]*streamBuilder, error) {
	cfg := c.cfg
	names := make([]string, len(cfg.Streams))
	for i, name := range cfg.Streams {
		names[i] = cfg.TopicPrefix + "." + name
	}
	// The admin client asks for fresh metadata while it waits for the state topic it created:
	// kgo answers metadata requests from a cache for MetadataMinAge (5 s by default), and the
	// wait would last that long.
	admCl, err := kgo.NewClient(append(kafka[:len(kafka):len(kafka)], kgo.MetadataMinAge(setupMetadataAge))...)
	if err != nil {
		return nil, fmt.Errorf("kafka admin client: %w", err)
	}
	defer admCl.Close()
	var (
		topics = make([]avro.Topic, len(cfg.Streams))
		ids    []avro.Registered
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ensureTopics(gctx, admCl, cfg, names) })
	g.Go(func() error {
		for i, name := range cfg.Streams {
			codec, err := avro.NewCodec(name)
			if err != nil {
				return fmt.Errorf("schema of %s: %w", name, err)
			}
			topics[i] = avro.Topic{Name: names[i], Codec: codec}
		}
		var err error
		ids, err = avro.RegisterAll(gctx, c.deps.Registry, topics, registerParallel)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	builders := make(map[string]*streamBuilder, len(cfg.Streams))
	for i, name := range cfg.Streams {
		s, _ := streams.ByName(name)
		builders[name] = &streamBuilder{stream: &s, topic: names[i], deadTopic: cfg.DeadLetterTopic, enc: topics[i].Codec, keyID: ids[i].KeyID, valueID: ids[i].ValueID}
	}
	return builders, nil
}

// load creates the transactional producer and loads the state. Writing the startup marker (in
// offsets.Load) fences any earlier producer with the same transactional id, this instance's
// own earlier one included, so the state read after it is final.
func (c *Connector) load(ctx context.Context, kafka []kgo.Opt) (session, error) {
	producer, err := kgo.NewClient(append(kafka, producerOpts(c.cfg)...)...)
	if err != nil {
		return session{}, fmt.Errorf("kafka producer: %w", err)
	}
	state, err := offsets.Load(ctx, producer, kafka, c.cfg.StateTopic, c.deps.Sealer)
	if err == nil {
		err = c.checkStoredToken(state)
	}
	if err != nil {
		producer.Close()
		return session{}, err
	}
	return session{producer: producer, state: state}, nil
}

// transient reports whether a setup error may pass by itself: the broker or the registry out
// of reach for a while, a broker still electing leaders, a startup marker whose commit failed
// (the next attempt's new producer settles it). Anything else (a state record that
// cannot be read, a state topic that is not compacted, fencing) needs a person.
func transient(err error) bool {
	var netErr *net.OpError
	return !offsets.IsFenced(err) && (errors.As(err, &netErr) || kgo.IsRetryableBrokerErr(err) || kerr.IsRetriable(err) ||
		errors.Is(err, offsets.ErrStartupMarker))
}
