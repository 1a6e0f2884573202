// Package testenv gives tests a Kafka cluster and a Confluent-compatible Schema Registry, fake or
// real, chosen by the environment, in the way franz-go's own suite is pointed at a real broker by
// KGO_SEEDS:
//
//	XK_KAFKA_BROKERS        unset: each call to Kafka starts an in-process kfake cluster of three
//	                        brokers (the transaction coordinator and the partition leaders can then
//	                        be different brokers, as in production); set ("127.0.0.1:19092"): the
//	                        real Apache Kafka at those seed brokers.
//	XK_SCHEMA_REGISTRY_URL  unset: each call to Registry starts an in-process srfake registry
//	                        that answers the registrations of a start cheaply, with srfake's
//	                        answers (QuickRegistrations); set: the real registry at that base
//	                        URL (Apicurio's Confluent API, "http://127.0.0.1:18081/apis/ccompat/v7").
//	XK_KAFKA_RESTART        the command Cluster.Restart runs on the real broker (default:
//	                        scripts/services.sh restart kafka).
//	XK_KAFKA_CRASH          the command Cluster.Crash runs on the real broker (default:
//	                        scripts/services.sh crash kafka: SIGKILL, then start).
//	XK_REGISTRY_RESTART     the command RestartRegistry runs (default: scripts/services.sh
//	                        restart registry).
//	XK_REQUIRE_TOOLS        set: a test that needs an outside tool (the interop decoder's Python
//	                        environment, a compose client) fails when it is missing instead of
//	                        being skipped. make test sets it.
//	XK_INTEROP_PYTHON       the Python of the interop decoder (default .cache/interop-venv/bin/python).
//
// scripts/services.sh up starts the real pair on loopback; scripts/services.sh env prints the
// variables; make test does both and runs the suite twice, fake and real.
//
// The real broker is shared by every test of every package, and it keeps its data between runs.
// So tests name everything they create (topics, subjects, transactional ids, groups) from
// Prefix, which is unique per call, and create topics with replication factor 1 (the real broker
// has one node): Cluster.CreateTopic does. Topics are not auto-created, on either broker.
//
// Cluster.Restart stops and starts the broker on the same data: kfake restarts the cluster on the
// same ports and data directory; the real broker is restarted by the services script. Tests on
// the real broker hold a shared lock while they use it, and Restart takes it exclusively, so a
// restart waits for the tests of other packages that are using the broker, and they wait for it.
// A test that restarts must be the only holder in its own line: no second Kafka call in the same
// test or in its parent (the restart would wait for itself; it gives up with an error after 10
// minutes).
//
// DecodeWithPython reads topics back through an independent client (librdkafka and fastavro,
// interop/decode.py) and decodes them with the registry's schemas; interop tests compare what it
// returns with what was written.
//
// Differences to keep in mind:
//   - kfake compacts only when a test asks (Cluster.Compact), at a moment with no transaction
//     open: its cleaner does not stop at the last stable offset, so a record of an open
//     transaction would supersede the committed record of its key, which an abort then leaves
//     with no committed value (TestFakeKafkaKeepsCommittedUnderOpenTransaction). It ignores
//     segment.ms and min.cleanable.dirty.ratio; the real broker compacts only closed segments,
//     below the last stable offset.
//   - srfake accepts every schema whatever the compatibility level; Apicurio checks it (the global
//     default is BACKWARD, set by the services script).
//   - Apache Kafka writes a transaction's commit markers just after EndTransaction returns, so a
//     read_committed reader can, for a moment, not see records whose commit has returned; kfake
//     writes them before returning. Read to a marker committed afterwards, not to an offset.
//   - Schema ids come from the registry in use: never hard-code them.
package testenv
