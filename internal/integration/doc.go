// Package integration checks, with raw franz-go clients, the broker and registry behaviours the
// connector relies on: transactions seen through read_committed, fencing of a second producer
// with the same transactional id, log compaction, a broker restart in the middle of a stream of
// transactions, and Avro schemas registered through the Confluent API with compatibility checks.
//
// It has only tests. They run against whatever internal/testenv provides: kfake and srfake by
// default, the real Apache Kafka and Apicurio Registry when XK_KAFKA_BROKERS and
// XK_SCHEMA_REGISTRY_URL are set (make test runs them both ways). Where the two differ, the tests
// say what each one does.
package integration
