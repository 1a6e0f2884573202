package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// restartWait bounds how long a restart of the real broker waits for the other tests using it.
const restartWait = 10 * time.Minute

// fakeBrokers is the size of the kfake cluster: three, so that the transaction coordinator, the
// group coordinator and the partition leaders can be different brokers.
const fakeBrokers = 3

// Cluster is the Kafka cluster of one test: in-process kfake, or the real broker.
type Cluster struct {
	// Brokers are the seed brokers, "host:port".
	Brokers []string

	restart func(t testing.TB, crash bool)
	// compact compacts every compacted topic now (kfake); nil on the real broker.
	compact func()
}

// Kafka returns the cluster this test uses: the real broker when XK_KAFKA_BROKERS is set, else
// a new kfake cluster that is closed when the test ends.
func Kafka(t testing.TB) Cluster {
	t.Helper()
	if Real() {
		return realKafka(t)
	}
	return fakeKafka(t)
}

// Restart stops the broker and starts it again on the same data and addresses. Clients created
// before reconnect by themselves.
func (k Cluster) Restart(t testing.TB) {
	t.Helper()
	k.restart(t, false)
}

// Crash kills the broker without a clean shutdown (SIGKILL) and starts it again on the same
// data and addresses. The real broker is killed by the services script (or XK_KAFKA_CRASH);
// kfake, which has no such death, is closed and restarted as by Restart.
func (k Cluster) Crash(t testing.TB) {
	t.Helper()
	k.restart(t, true)
}

// Compact asks kfake to compact its compacted topics now, everything but each partition's last
// batch. Call it only while no transaction writes to them (see fakeKafka). On the real broker it
// does nothing: its cleaner works by itself, on closed segments below the last stable offset.
func (k Cluster) Compact() {
	if k.compact != nil {
		k.compact()
	}
}

// Client returns a client of this cluster with the given options added, closed when the test
// ends.
func (k Cluster) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...)}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Admin returns an admin client of this cluster, closed when the test ends.
func (k Cluster) Admin(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(k.Client(t))
}

// CreateTopic creates a topic with replication factor 1 and the given configs (nil for none).
func (k Cluster) CreateTopic(t testing.TB, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	resp, err := k.Admin(t).CreateTopic(t.Context(), partitions, ReplicationFactor, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// fakeCluster is a kfake cluster that can be restarted on the same data and ports.
type fakeCluster struct {
	mu      sync.Mutex
	c       *kfake.Cluster
	opts    []kfake.Opt
	closed  bool
	brokers []string
}

func fakeKafka(t testing.TB) Cluster {
	t.Helper()
	opts := []kfake.Opt{
		kfake.NumBrokers(fakeBrokers),
		kfake.DataDir(filepath.Join(t.TempDir(), "kfake")),
		// No compaction on a timer: kfake's cleaner, unlike the real broker's, does not stop at
		// the last stable offset. It lets a record of a transaction still open supersede the
		// committed record of the same key; once that transaction aborts, the key has no
		// committed value left, and a state replay loses a bookmark the broker had committed.
		// Tests that need compaction ask for it (Cluster.Compact) when no transaction is open.
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": fmt.Sprint((24 * time.Hour).Milliseconds())}),
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	fc := &fakeCluster{c: c, brokers: c.ListenAddrs()}
	// A restart listens on the ports the first start got.
	ports := make([]int, 0, len(fc.brokers))
	for _, addr := range fc.brokers {
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("kfake address %q: %v", addr, err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("kfake address %q: %v", addr, err)
		}
		ports = append(ports, port)
	}
	fc.opts = append(opts, kfake.Ports(ports...))
	t.Cleanup(fc.close)
	return Cluster{Brokers: fc.brokers, restart: fc.restartCluster, compact: fc.compactNow}
}

func (fc *fakeCluster) restartCluster(t testing.TB, _ bool) {
	t.Helper()
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.closed {
		t.Fatalf("restart kfake: the cluster is closed")
	}
	fc.c.Close() // writes the state to the data directory
	c, err := kfake.NewCluster(fc.opts...)
	if err != nil {
		fc.closed = true
		t.Fatalf("restart kfake on %s: %v", strings.Join(fc.brokers, ","), err)
	}
	fc.c = c
}

func (fc *fakeCluster) compactNow() {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !fc.closed {
		fc.c.Compact()
	}
}

func (fc *fakeCluster) close() {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if !fc.closed {
		fc.c.Close()
		fc.closed = true
	}
}

// realCluster is the shared real broker, used under a lock (see the package doc).
type realCluster struct {
	lock *brokerLock
}

func realKafka(t testing.TB) Cluster {
	t.Helper()
	brokers := strings.Split(os.Getenv(EnvKafkaBrokers), ",")
	lock, err := openBrokerLock(brokers)
	if err != nil {
		t.Fatalf("lock for the shared broker: %v", err)
	}
	if err := lock.shared(); err != nil {
		t.Fatalf("lock for the shared broker: %v", err)
	}
	t.Cleanup(func() { lock.close() })
	rc := &realCluster{lock: lock}
	return Cluster{Brokers: brokers, restart: rc.restartBroker}
}

// restartBroker waits until no other test uses the broker, restarts it with the services script
// (or XK_KAFKA_RESTART), and goes back to sharing it.
func (rc *realCluster) restartBroker(t testing.TB, crash bool) {
	t.Helper()
	env, verb := EnvKafkaRestart, "restart"
	if crash {
		env, verb = EnvKafkaCrash, "crash"
	}
	if err := rc.lock.exclusive(restartWait); err != nil {
		t.Fatalf("lock the broker for a restart: %v", err)
	}
	defer func() {
		if err := rc.lock.shared(); err != nil {
			t.Errorf("share the broker after a restart: %v", err)
		}
	}()
	var cmd *exec.Cmd
	if c := os.Getenv(env); c != "" {
		cmd = exec.CommandContext(t.Context(), "bash", "-c", c)
	} else {
		cmd = exec.CommandContext(t.Context(), "bash", filepath.Join(RepoRoot(t), "scripts", "services.sh"), verb, "kafka")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s kafka (%s): %v\n%s", verb, strings.Join(cmd.Args, " "), err, out)
	}
	t.Logf("%s kafka:\n%s", verb, strings.TrimSpace(string(out)))
}

// brokerLockPath is the lock file shared by all test processes that use the same brokers.
func brokerLockPath(brokers []string) string {
	name := "xk-kafka-" + sanitize(strings.Join(brokers, "_"), 100) + ".lock"
	return filepath.Join(os.TempDir(), name)
}

func openBrokerLock(brokers []string) (*brokerLock, error) {
	f, err := os.OpenFile(brokerLockPath(brokers), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return &brokerLock{f: f}, nil
}
