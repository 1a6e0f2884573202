// Package bench is the harness behind `make bench`: it builds `xero-kafka` and runs it as its
// own process against a Xero simulator process, on the real broker and on kfake, and measures
// what a user pays for a sync: records per second, CPU seconds from /proc, peak RSS (VmHWM),
// change-to-Kafka latency, a bulk import's cost in CPU and state, 1,000 organisations at once,
// the end-to-end check of 50 organisations under change (internal/crash's TestOrgsUnderChange),
// the rate-limited reference backfill, and a peer (singer-io's tap-xero) against the same
// simulator. Run renders one table; WriteMarkdown writes it, with the machine and the date, to
// BENCHMARKS.md.
//
// The helper processes (the simulator, kfake with srfake, and the TLS proxy that lets tap-xero
// reach the simulator under Xero's own host names) are the same command, cmd/xkbench, started
// again with a sub-command, so that the connector's CPU and memory are measured alone.
package bench
