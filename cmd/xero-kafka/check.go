package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/connector"
	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
	"github.com/xero-kafka/xero-kafka/xero"
)

const checkUsage = `usage: xero-kafka check [--timeout 20s]

Tells what stands between this configuration and a working connector, as a table of checks,
each pass or FAIL with a one-line fix: the configuration; Kafka reachable, the topics
creatable, the transactional id allowed; the Schema Registry reachable and its subjects
compatible with the schemas; the state topic readable and its refresh token decryptable with
XERO_STATE_KEY; Xero reachable, the token valid, the organisations, the access check
(/Currencies) of each; and, per stream and organisation, the scope. It uses the variables of
'run'. Exit status: 0 when every check passes, 1 when one fails, 2 when the configuration is
invalid.

It is safe beside a running connector:
  - It never fences it: it writes no startup marker, and it writes to the state topic only
    with its own transactional id (KAFKA_TRANSACTIONAL_ID-admin); it only describes the
    connector's transactional id.
  - It never breaks the token chain: to test the token it refreshes it as 'run' does, and
    commits the new refresh token to the state topic before using the access token that came
    with it (it checks nothing on Xero when Kafka is out of reach). A running connector whose
    own token is then refused continues from the token check stored.
It makes one Xero call per organisation and stream, asking for as little as each endpoint
allows, and writes nothing to the data topics.

Flags:
`

// checkResult is one row of the table.
type checkResult struct {
	name, detail, fix string
	failed            bool
}

// checks collects the rows.
type checks struct{ rows []checkResult }

func (c *checks) pass(name, detail string) {
	c.rows = append(c.rows, checkResult{name: name, detail: detail})
}

func (c *checks) fail(name, detail, fix string) {
	c.rows = append(c.rows, checkResult{name: name, detail: oneLine(detail), fix: fix, failed: true})
}

func (c *checks) failed() int {
	n := 0
	for _, r := range c.rows {
		if r.failed {
			n++
		}
	}
	return n
}

func (c *checks) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	for _, r := range c.rows {
		res := "pass"
		detail := r.detail
		if r.failed {
			res = "FAIL"
			if r.fix != "" {
				detail += " → " + r.fix
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.name, res, detail)
	}
	_ = tw.Flush()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// check is `xero-kafka check`.
func check(ctx context.Context, args []string, lookup envconfig.Lookuper, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, checkUsage); fs.PrintDefaults() }
	timeout := fs.Duration("timeout", 20*time.Second, "the time each check may take")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &configError{msg: err.Error()}
	}
	var c checks
	defer c.print(stdout)
	e, err := readEnv(ctx, lookup)
	if err == nil {
		_, err = connectorConfigChecked(e)
	}
	if err != nil {
		c.fail("configuration", err.Error(), "see 'xero-kafka help'")
		return err
	}
	c.pass("configuration", "")
	step := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, *timeout) }

	key, _ := stateKey(e.Xero.StateKey)
	sealer, _ := offsets.NewAESGCM(key)
	kafka, err := e.kafkaOpts()
	if err != nil {
		return err
	}
	cfg := e.connectorConfig()
	kafkaOK := c.kafka(step, kafka, e, cfg)
	c.registry(step, e, cfg)

	// The token chain: where it continues from, as run decides.
	var (
		stored    offsets.Token
		hasStored bool
	)
	if kafkaOK {
		sctx, cancel := step()
		stored, hasStored, err = offsets.ReadToken(sctx, kafka, cfg.StateTopic, sealer)
		cancel()
		var re *offsets.RecordError
		switch {
		case errors.Is(err, offsets.ErrNoTopic):
			err = nil
			c.pass("state topic", cfg.StateTopic+" does not exist yet: 'run' or 'auth' creates it")
		case errors.As(err, &re):
			c.fail("state topic", fmt.Sprintf("%s: the stored refresh token cannot be read: %v", cfg.StateTopic, re.Err),
				"set XERO_STATE_KEY to the key the token was stored with, or run 'xero-kafka auth' to store a new one")
		case err != nil:
			c.fail("state topic", err.Error(), "check that the topic can be read (ACLs)")
		case hasStored:
			c.pass("state topic", fmt.Sprintf("%s: a refresh token stored %s, decrypted", cfg.StateTopic, stored.SavedAt.UTC().Format(time.RFC3339)))
		case cfg.Grant == connector.GrantClientCredentials:
			c.pass("state topic", cfg.StateTopic+": no refresh token (none needed by a custom connection)")
		case cfg.RefreshToken == "":
			c.fail("state topic", cfg.StateTopic+": no refresh token stored and XERO_REFRESH_TOKEN is not set",
				"run 'xero-kafka auth'")
		default:
			c.pass("state topic", cfg.StateTopic+": no refresh token stored yet; XERO_REFRESH_TOKEN seeds the chain")
		}
		if err != nil {
			kafkaOK = false // a token that cannot be read cannot be continued
		}
	}
	c.xero(step, e, cfg, kafka, sealer, kafkaOK, stored, hasStored)
	if n := c.failed(); n > 0 {
		return fmt.Errorf("%d of %d checks failed (see the table above)", n, len(c.rows))
	}
	return nil
}

// connectorConfigChecked checks the configuration as the connector will.
func connectorConfigChecked(e *env) (connector.Config, error) {
	cfg := e.connectorConfig()
	if _, err := connector.New(cfg, connector.Deps{Kafka: []kgo.Opt{kgo.SeedBrokers("x:1")}, Registry: &sr.Client{}, Sealer: noSealer{}}); err != nil {
		return cfg, &configError{msg: err.Error()}
	}
	return cfg, nil
}

// noSealer stands in for the sealer while the configuration is checked; it is never used.
type noSealer struct{}

func (noSealer) Seal([]byte, []byte) ([]byte, error) { return nil, errors.New("unused") }
func (noSealer) Open([]byte, []byte) ([]byte, error) { return nil, errors.New("unused") }

// kafka checks the brokers, the topics and the transactional id; it reports whether Kafka is
// reachable.
func (c *checks) kafka(step func() (context.Context, context.CancelFunc), opts []kgo.Opt, e *env, cfg connector.Config) bool {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		c.fail("kafka reachable", err.Error(), "check KAFKA_BOOTSTRAP_SERVERS")
		return false
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := step()
	defer cancel()
	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		c.fail("kafka reachable", err.Error(), "check KAFKA_BOOTSTRAP_SERVERS, KAFKA_TLS* and KAFKA_SASL*, and that the brokers run")
		return false
	}
	c.pass("kafka reachable", fmt.Sprintf("%d broker(s)", len(brokers)))

	topics := []string{cfg.StateTopic, dlqTopic(cfg)}
	for _, s := range streamNames(cfg) {
		topics = append(topics, prefix(cfg)+"."+s)
	}
	listed, err := adm.ListTopics(ctx, topics...)
	if err != nil {
		c.fail("kafka topics", err.Error(), "grant DESCRIBE on the topics")
	} else {
		var missing []string
		for _, t := range topics {
			if !listed.Has(t) {
				missing = append(missing, t)
			}
		}
		if len(missing) == 0 {
			c.pass("kafka topics", fmt.Sprintf("all %d exist", len(topics)))
		} else {
			res, err := adm.ValidateCreateTopics(ctx, e.Kafka.TopicPartitions, e.Kafka.TopicReplication, nil, missing...)
			if err == nil {
				err = res.Error()
			}
			if err != nil {
				c.fail("kafka topics", fmt.Sprintf("%d to create: %v", len(missing), err),
					"grant CREATE on the cluster, or create the topics yourself (KAFKA_TOPIC_REPLICATION_FACTOR must fit the cluster)")
			} else {
				c.pass("kafka topics", fmt.Sprintf("%d exist, %d can be created", len(topics)-len(missing), len(missing)))
			}
		}
	}

	ids := []string{cfg.TransactionalID, cfg.TransactionalID + adminSuffix}
	described, err := adm.DescribeTransactions(ctx, ids...)
	var txErr error
	if err != nil && !errors.Is(err, kerr.TransactionalIDNotFound) {
		txErr = err
	}
	for _, d := range described {
		if d.Err != nil && !errors.Is(d.Err, kerr.TransactionalIDNotFound) {
			txErr = fmt.Errorf("%s: %w", d.TxnID, d.Err)
		}
	}
	if txErr != nil {
		c.fail("kafka transactional id", txErr.Error(), fmt.Sprintf("grant WRITE and DESCRIBE on the transactional ids %s and %s", ids[0], ids[1]))
	} else {
		c.pass("kafka transactional id", ids[0]+" (and "+ids[1]+" for auth and check)")
	}
	return true
}

// registry checks the Schema Registry and the compatibility of every subject that exists.
func (c *checks) registry(step func() (context.Context, context.CancelFunc), e *env, cfg connector.Config) {
	cl, err := e.registry()
	if err != nil {
		c.fail("schema registry reachable", err.Error(), "check SCHEMA_REGISTRY_URL")
		return
	}
	ctx, cancel := step()
	defer cancel()
	if _, err := cl.Subjects(ctx); err != nil {
		c.fail("schema registry reachable", err.Error(), "check SCHEMA_REGISTRY_URL and SCHEMA_REGISTRY_USERNAME/PASSWORD, and that the registry runs")
		return
	}
	c.pass("schema registry reachable", e.Registry.URL)
	var bad []string
	checked := 0
	for _, name := range streamNames(cfg) {
		codec, err := avro.NewCodec(name)
		if err != nil {
			bad = append(bad, name+": "+err.Error())
			continue
		}
		topic := prefix(cfg) + "." + name
		for _, s := range []struct{ subject, schema string }{{topic + "-key", codec.KeySchema()}, {topic + "-value", codec.ValueSchema()}} {
			res, err := cl.CheckCompatibility(ctx, s.subject, -1, sr.Schema{Schema: s.schema, Type: sr.TypeAvro})
			var re *sr.ResponseError
			switch {
			case errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
				// No such subject yet: run registers it.
			case err != nil:
				bad = append(bad, s.subject+": "+err.Error())
			case !res.Is:
				bad = append(bad, s.subject+": not compatible "+strings.Join(res.Messages, "; "))
			default:
				checked++
			}
		}
	}
	if len(bad) > 0 {
		c.fail("schema subjects", strings.Join(bad, "; "), "another schema holds these subjects: use another KAFKA_TOPIC_PREFIX or change the subject's compatibility")
		return
	}
	c.pass("schema subjects", fmt.Sprintf("%d subject(s) accept the schemas; subjects not there yet are registered by run", checked))
}

// xero checks the token, the organisations, their access check and each stream's scope.
func (c *checks) xero(step func() (context.Context, context.CancelFunc), e *env, cfg connector.Config,
	kafka []kgo.Opt, sealer offsets.Sealer, kafkaOK bool, stored offsets.Token, hasStored bool) {
	var (
		api *xero.Client
		err error
	)
	switch {
	case cfg.Grant == connector.GrantClientCredentials:
		api, err = xero.NewCustomConnectionClient(cfg.Xero, nil, nil)
	case !kafkaOK:
		c.fail("xero token", "not checked: a refreshed token could not be stored in the state topic", "fix the checks of Kafka and the state topic first")
		return
	default:
		refresh, seedHash := string(e.Xero.RefreshToken), offsets.HashSeed(string(e.Xero.RefreshToken))
		if hasStored && (refresh == "" || stored.SeedHash == seedHash) {
			refresh, seedHash = stored.RefreshToken, stored.SeedHash
		}
		if refresh == "" {
			c.fail("xero token", "no refresh token", "run 'xero-kafka auth'")
			return
		}
		producer, perr := kgo.NewClient(append(kafka, kgo.TransactionalID(cfg.TransactionalID+adminSuffix))...)
		if perr != nil {
			c.fail("xero token", perr.Error(), "")
			return
		}
		defer producer.Close()
		api, err = xero.NewClient(cfg.Xero, refresh, &chainLink{
			chainStart: chainStart{producer: producer, topic: cfg.StateTopic, sealer: sealer},
			seedHash:   seedHash,
			create: func(ctx context.Context) error {
				return offsets.CreateTopic(ctx, kadm.NewClient(producer), cfg.StateTopic, e.Kafka.TopicReplication)
			},
		}, nil, nil)
	}
	if err != nil {
		c.fail("xero token", err.Error(), "")
		return
	}
	defer api.Close()
	sctx, cancel := step()
	conns, err := api.Connections(sctx)
	cancel()
	switch {
	case err == nil:
		c.pass("xero token", "accepted ("+cfg.Grant+")")
	case strings.Contains(err.Error(), "XERO_CLIENT_SECRET"):
		c.fail("xero token", err.Error(), "check XERO_CLIENT_ID and XERO_CLIENT_SECRET against the Xero app")
		return
	case errors.Is(err, xero.ErrUnauthorized):
		c.fail("xero token", "the refresh token was refused (revoked, expired or spent): "+err.Error(), "run 'xero-kafka auth'")
		return
	default:
		c.fail("xero reachable", err.Error(), "check XERO_API_URL and XERO_IDENTITY_URL and the network to Xero")
		return
	}
	connected := map[string]string{}
	var names []string
	for _, cn := range conns {
		connected[cn.TenantID] = cn.TenantName
		names = append(names, fmt.Sprintf("%s (%s)", cn.TenantName, cn.TenantID))
	}
	tenants := cfg.Tenants
	if len(tenants) == 0 {
		for _, cn := range conns {
			if cn.TenantType == "ORGANISATION" {
				tenants = append(tenants, cn.TenantID)
			}
		}
	}
	var unknown []string
	for _, t := range cfg.Tenants {
		if _, ok := connected[t]; !ok {
			unknown = append(unknown, t)
		}
	}
	switch {
	case len(unknown) > 0:
		c.fail("organisations", "not connected to this app: "+strings.Join(unknown, ", ")+"; connected: "+strings.Join(names, ", "),
			"fix XERO_TENANT_ID, or run 'xero-kafka auth' and connect them")
		return
	case len(tenants) == 0:
		c.fail("organisations", "none connected", "run 'xero-kafka auth' and choose an organisation")
		return
	}
	c.pass("organisations", strings.Join(names, ", "))

	broad := cfg.BroadScopes
	for _, t := range tenants {
		org := connected[t]
		if org == "" {
			org = t
		}
		sctx, cancel := step()
		err := api.CheckAccess(sctx, t)
		cancel()
		if err != nil {
			c.fail("access "+org, err.Error(), fmt.Sprintf("run 'xero-kafka auth' granting %s, and connect this organisation", xero.ScopeSettingsRead))
			continue
		}
		c.pass("access "+org, "GET /Currencies")
		for _, name := range streamNames(cfg) {
			s, _ := streams.ByName(name)
			scope := xero.ScopeFor(s.Path, broad)
			// Ask for the smallest answer the endpoint can give.
			q := s.Query()
			switch s.Paging {
			case streams.PageSize, streams.PageOnly:
				q.Set("page", "1")
			case streams.OffsetPaged:
				q.Set("offset", "2147483647")
			}
			req := xero.Request{Tenant: t, Path: s.Path, Wrapper: s.Wrapper, Query: q}
			if s.ModifiedSince {
				req.ModifiedSince = time.Now()
			}
			sctx, cancel := step()
			_, err := api.List(sctx, req)
			cancel()
			row := "scope " + name + " " + org
			switch {
			case err == nil:
				c.pass(row, scope)
			case s.Removed && errors.Is(err, xero.ErrNotFound):
				c.pass(row, "Xero has removed "+s.Path+": the topic stays empty")
			case xero.IsRefused(err):
				fix := fmt.Sprintf("run 'xero-kafka auth' granting %s, or leave %s out of XERO_STREAMS", scope, name)
				if s.Path == "/Journals" {
					fix += "; journals also need Xero's Advanced tier"
				}
				c.fail(row, fmt.Sprintf("refused: the app lacks %s (%v)", scope, err), fix)
			default:
				c.fail(row, err.Error(), "")
			}
		}
	}
}

// chainLink stores each rotated refresh token in the state topic, continuing the chain of
// seedHash, before the client uses the access token that came with it.
type chainLink struct {
	chainStart
	seedHash string
	create   func(context.Context) error
	created  bool
}

func (s *chainLink) SaveRefreshToken(ctx context.Context, rt string) error {
	if !s.created {
		if err := s.create(ctx); err != nil {
			return err
		}
		s.created = true
	}
	rec, err := offsets.TokenRecord(s.topic, offsets.Token{RefreshToken: rt, SeedHash: s.seedHash, SavedAt: time.Now()}, s.sealer)
	if err != nil {
		return err
	}
	return s.commit(ctx, rec)
}

func dlqTopic(cfg connector.Config) string {
	if cfg.DeadLetterTopic != "" {
		return cfg.DeadLetterTopic
	}
	return prefix(cfg) + ".dead_letters"
}

func prefix(cfg connector.Config) string {
	if cfg.TopicPrefix != "" {
		return cfg.TopicPrefix
	}
	return connector.DefaultTopicPrefix
}

func streamNames(cfg connector.Config) []string {
	if len(cfg.Streams) == 0 {
		return streams.Names()
	}
	return cfg.Streams
}
