package connector

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the connector's Prometheus collectors. Labels are stream and outcome, and the
// tenant only when Config.PerTenantMetrics is set: never record ids or pages. Without the tenant
// label a series sums (counters) or takes the worst (lag) over every organisation, so the
// number of series does not grow with the organisations.
type metrics struct {
	records            tenantCounters
	pages              tenantCounters
	cycles             tenantCounters
	rereads            tenantCounters
	transactions       *prometheus.CounterVec
	transactionSeconds prometheus.Histogram
	sessionRestarts    prometheus.Counter
	// refused counts the organisations whose Xero refuses a stream for a missing scope.
	refused tenantGauges
	// inFlight counts the records handed to the writer and not yet committed or aborted.
	inFlight prometheus.Gauge
	// commitSeconds is a poller's wait for its commit: queueing behind other transactions,
	// then its own.
	commitSeconds prometheus.Histogram
	// pageBytes is the page memory held under Config.PageMemoryLimit.
	pageBytes prometheus.Gauge
	perTenant bool
}

// Outcomes of the counters, set to zero for every stream when it starts so that dashboards and
// alerts see the series before the first event.
var (
	recordOutcomes = []string{"written", "tombstone", "dead_letter"}
	cycleOutcomes  = []string{"ok", "error", "day_limit", "removed", "refused", "stalled"}
)

// tenantCounters is a counter vector whose first label value is the tenant, dropped when
// per-tenant series are off.
type tenantCounters struct {
	vec       *prometheus.CounterVec
	perTenant bool
}

// WithLabelValues returns the counter of (tenant, rest...).
func (c tenantCounters) WithLabelValues(tenant string, rest ...string) prometheus.Counter {
	if !c.perTenant {
		return c.vec.WithLabelValues(rest...)
	}
	return c.vec.WithLabelValues(append([]string{tenant}, rest...)...)
}

// tenantGauges is tenantCounters for gauges that count organisations: moved with Inc and Dec,
// so that the series without a tenant label sums over them.
type tenantGauges struct {
	vec       *prometheus.GaugeVec
	perTenant bool
}

// WithLabelValues returns the gauge of (tenant, rest...).
func (g tenantGauges) WithLabelValues(tenant string, rest ...string) prometheus.Gauge {
	if !g.perTenant {
		return g.vec.WithLabelValues(rest...)
	}
	return g.vec.WithLabelValues(append([]string{tenant}, rest...)...)
}

func newMetrics(reg prometheus.Registerer, perTenant bool) *metrics {
	labels := func(names ...string) []string {
		if perTenant {
			return append([]string{"tenant"}, names...)
		}
		return names
	}
	counters := func(name, help string, names ...string) tenantCounters {
		return tenantCounters{
			vec:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels(names...)),
			perTenant: perTenant,
		}
	}
	m := &metrics{
		perTenant: perTenant,
		records: counters("xero_kafka_records_total",
			"Records committed, by outcome: written (data topic), tombstone, dead_letter.", "stream", "outcome"),
		pages: counters("xero_kafka_pages_total", "Pages read from Xero.", "stream"),
		cycles: counters("xero_kafka_sync_cycles_total",
			"Sync cycles, by outcome: ok, error, day_limit, removed, refused, stalled (the server's answers allowed no progress).", "stream", "outcome"),
		rereads: counters("xero_kafka_keyset_rereads_total",
			"Keyset ranges read again because a record in them changed while or after a traversal paged through them.", "stream"),
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_kafka_transactions_total",
			Help: "Kafka transactions, by outcome: committed, aborted.",
		}, []string{"outcome"}),
		transactionSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xero_kafka_transaction_seconds",
			Help:    "Time from the start of a transaction to its commit.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		sessionRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "xero_kafka_state_reloads_total",
			Help: "Reloads of the state topic after a commit whose outcome was unknown (its answer lost).",
		}),
		refused: tenantGauges{
			vec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Name: "xero_kafka_streams_refused",
				Help: "Organisations whose Xero refuses the stream (401 or 403) for lack of the scope named.",
			}, labels("stream", "scope")),
			perTenant: perTenant,
		},
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xero_kafka_records_in_flight",
			Help: "Records handed to the transactional writer and not yet committed or aborted.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xero_kafka_commit_seconds",
			Help:    "Time a page waits from its commit request to the outcome of its transaction.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}),
		pageBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "xero_kafka_page_memory_bytes",
			Help: "Bytes of the pages read from Xero and not yet committed, as counted against PAGE_MEMORY_MIB.",
		}),
	}
	for _, o := range []string{"committed", "aborted"} {
		m.transactions.WithLabelValues(o)
	}
	if reg != nil {
		reg.MustRegister(m.records.vec, m.pages.vec, m.cycles.vec, m.rereads.vec, m.transactions,
			m.transactionSeconds, m.sessionRestarts, m.refused.vec, m.inFlight, m.commitSeconds, m.pageBytes)
	}
	return m
}

// observeCommit records the wait of a commit request that began at start.
func (m *metrics) observeCommit(start time.Time) {
	m.commitSeconds.Observe(time.Since(start).Seconds())
}

// initStream creates the series of one (tenant, stream) at zero.
func (m *metrics) initStream(tenant, stream string) {
	for _, o := range recordOutcomes {
		m.records.WithLabelValues(tenant, stream, o)
	}
	for _, o := range cycleOutcomes {
		m.cycles.WithLabelValues(tenant, stream, o)
	}
	m.pages.WithLabelValues(tenant, stream)
	m.rereads.WithLabelValues(tenant, stream)
}

// lagDesc describes the lag gauge, computed from the status board at each scrape.
var lagDesc = struct{ perTenant, all *prometheus.Desc }{
	perTenant: prometheus.NewDesc("xero_kafka_stream_lag_seconds",
		"Seconds since the stream's last successful sync cycle (since it started, before the first).",
		[]string{"tenant", "stream"}, nil),
	all: prometheus.NewDesc("xero_kafka_stream_lag_seconds",
		"Seconds since the stream's last successful sync cycle (since it started, before the first), the largest over the organisations.",
		[]string{"stream"}, nil),
}

// lagCollector reports each stream's lag from the board.
type lagCollector struct {
	board     *board
	now       func() time.Time
	perTenant bool
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	if c.perTenant {
		ch <- lagDesc.perTenant
	} else {
		ch <- lagDesc.all
	}
}

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	worst := map[string]float64{}
	for _, s := range c.board.all() {
		lag := max(0, now.Sub(s.lastSuccessOrStart()).Seconds())
		if c.perTenant {
			ch <- prometheus.MustNewConstMetric(lagDesc.perTenant, prometheus.GaugeValue, lag, s.tenant, s.stream)
			continue
		}
		if w, ok := worst[s.stream]; !ok || lag > w {
			worst[s.stream] = lag
		}
	}
	for stream, lag := range worst {
		ch <- prometheus.MustNewConstMetric(lagDesc.all, prometheus.GaugeValue, lag, stream)
	}
}
