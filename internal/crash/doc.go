// Package crash proves exactly-once from outside the process. Its tests build cmd/xero-kafka,
// run `xero-kafka run` as a separate process against an in-process Xero simulator (changing
// data, compressed token lifetimes, faults) and the real Kafka broker behind a fault proxy that
// loses chosen responses (internal/faultproxy), and SIGKILL it at seeded random moments, some
// of them just after a token rotation; they also crash the broker, restart the Schema
// Registry, and start a second instance while the first runs. A last run then settles, and the
// topics must equal Xero field by field, with no record version written twice
// (internal/oracle), no refused token refresh, no panic, and no Xero call of a fenced instance
// after its successor's first commit.
//
// TestCrashShort runs in `make test` on the real services. TestCrashLong is the long form:
//
//	XK_CRASH_LONG=1 go test -run TestCrashLong -timeout 60m -v ./internal/crash/
//
// with the real services named by XK_KAFKA_BROKERS and XK_SCHEMA_REGISTRY_URL (see
// internal/testenv). XK_CRASH_SEED changes the seed of both (default 1); XK_CRASH_KILLS and
// XK_CRASH_MINUTES the long form's size (default 100 kills, 30 minutes).
package crash
