package connector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the connector's Prometheus collectors. Labels are tenant, stream and outcome only:
// never record ids or pages.
type metrics struct {
	records            *prometheus.CounterVec
	pages              *prometheus.CounterVec
	cycles             *prometheus.CounterVec
	rereads            *prometheus.CounterVec
	transactions       *prometheus.CounterVec
	transactionSeconds prometheus.Histogram
	sessionRestarts    prometheus.Counter
	refused            *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_kafka_records_total",
			Help: "Records committed, by outcome: written (data topic), tombstone, dead_letter.",
		}, []string{"tenant", "stream", "outcome"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_kafka_pages_total",
			Help: "Pages read from Xero.",
		}, []string{"tenant", "stream"}),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_kafka_sync_cycles_total",
			Help: "Sync cycles, by outcome: ok, error, day_limit, removed, refused, stalled (the server's answers allowed no progress).",
		}, []string{"tenant", "stream", "outcome"}),
		rereads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xero_kafka_keyset_rereads_total",
			Help: "Keyset ranges read again because a record in them changed while or after a traversal paged through them.",
		}, []string{"tenant", "stream"}),
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
		refused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "xero_kafka_stream_refused",
			Help: "1 while Xero refuses a stream (401 or 403) for lack of the scope named, else 0.",
		}, []string{"tenant", "stream", "scope"}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.pages, m.cycles, m.rereads, m.transactions, m.transactionSeconds, m.sessionRestarts, m.refused)
	}
	return m
}
