package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/xero-kafka/xero-kafka/offsets"
	"github.com/xero-kafka/xero-kafka/streams"
)

// stateTimeout bounds each read of the state topic and each write of a `xero-kafka state`
// command (not the wait for the operator's answer).
const stateTimeout = 2 * time.Minute

// stateCmd is `xero-kafka state show|reset|remove-unreadable`: it reads the state topic without
// writing to it, and writes only what the operator confirms, with a transactional id of its own
// (KAFKA_TRANSACTIONAL_ID + "-admin"), so a running instance is neither fenced nor stopped.
func stateCmd(ctx context.Context, args []string, lookup envconfig.Lookuper, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &configError{msg: "state: want a command: show, reset or remove-unreadable ('xero-kafka help')"}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("xero-kafka state "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		asJSON         bool
		tenant, stream string
		from           string
		yes            bool
	)
	switch sub {
	case "show":
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	case "reset":
		fs.StringVar(&tenant, "tenant", "", "the organisation (tenant id) whose stream is read again")
		fs.StringVar(&stream, "stream", "", "the stream read again")
		fs.StringVar(&from, "from", "", "read again from this date (2006-01-02 or RFC 3339) instead of the start; streams read by UpdatedDateUTC only")
		fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	case "remove-unreadable":
		fs.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	default:
		return &configError{msg: fmt.Sprintf("state: unknown command %q: want show, reset or remove-unreadable", sub)}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &configError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &configError{msg: fmt.Sprintf("state %s takes no arguments, got %q", sub, fs.Args())}
	}
	var fromTime time.Time
	if sub == "reset" {
		switch {
		case tenant == "":
			return &configError{msg: "state reset: --tenant is required"}
		case stream == "":
			return &configError{msg: "state reset: --stream is required"}
		}
		if from != "" {
			var d date
			if err := d.EnvDecode(from); err != nil {
				return &configError{msg: "state reset: --from " + strings.TrimPrefix(err.Error(), "XERO_START_DATE: ")}
			}
			fromTime = d.Time
		}
	}

	se, err := readStateEnv(ctx, lookup)
	if err != nil {
		return err
	}
	a := &stateAdmin{env: se, stdin: bufio.NewReader(stdin), stdout: stdout, now: time.Now()}
	if a.st, err = a.inspect(ctx); err != nil {
		return err
	}
	switch sub {
	case "show":
		if asJSON {
			return a.showJSON()
		}
		return a.show()
	case "reset":
		return a.reset(ctx, tenant, stream, fromTime, yes)
	default:
		return a.removeUnreadable(ctx, yes)
	}
}

// stateEnv is what the state commands take from the environment: how to reach Kafka, the state
// topic, the transactional id they derive theirs from, the state key, and the refresh token if
// given (only to say whether it seeded the stored chain).
type stateEnv struct {
	kafka        []kgo.Opt
	topic        string
	adminID      string
	sealer       offsets.Sealer
	refreshToken string
}

func readStateEnv(ctx context.Context, l envconfig.Lookuper) (*stateEnv, error) {
	var e env
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &e.Kafka, Lookuper: envconfig.PrefixLookuper("KAFKA_", l)}); err != nil {
		return nil, &configError{msg: describeStateEnvError(err, "KAFKA_")}
	}
	var x struct {
		StateKey     secret `env:"XERO_STATE_KEY, required"`
		RefreshToken secret `env:"XERO_REFRESH_TOKEN"`
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &x, Lookuper: l}); err != nil {
		return nil, &configError{msg: describeStateEnvError(err, "")}
	}
	switch strings.ToUpper(e.Kafka.SASLMechanism) {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return nil, badConfig("KAFKA_SASL_MECHANISM", "%q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", e.Kafka.SASLMechanism)
	}
	key, err := stateKey(x.StateKey)
	if err != nil {
		return nil, err
	}
	sealer, err := offsets.NewAESGCM(key)
	if err != nil {
		return nil, badConfig("XERO_STATE_KEY", "%v", err)
	}
	kafka, err := e.kafkaOpts()
	if err != nil {
		return nil, err
	}
	return &stateEnv{
		kafka: kafka, topic: e.Kafka.StateTopic, adminID: e.Kafka.TransactionalID + "-admin",
		sealer: sealer, refreshToken: string(x.RefreshToken),
	}, nil
}

// describeStateEnvError names the variable of a go-envconfig error: missing ones by their key,
// malformed ones by their Go field.
func describeStateEnvError(err error, prefix string) string {
	msg := err.Error()
	if errors.Is(err, envconfig.ErrMissingRequired) {
		parts := strings.Split(msg, ": ")
		return prefix + parts[len(parts)-1] + ": missing required value"
	}
	name, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	if prefix == "KAFKA_" {
		if key := fieldTag(name); key != "" {
			return prefix + key + ": " + rest
		}
	}
	return msg
}

// fieldTag returns the variable name (without prefix) of a field of env.Kafka.
func fieldTag(field string) string {
	kafka, _ := reflect.TypeFor[env]().FieldByName("Kafka")
	f, ok := kafka.Type.FieldByName(field)
	if !ok {
		return ""
	}
	key, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return strings.TrimSpace(key)
}

// stateAdmin runs one state command on the state as Inspect read it.
type stateAdmin struct {
	env    *stateEnv
	st     *offsets.State
	stdin  *bufio.Reader
	stdout io.Writer
	now    time.Time
}

// The JSON of `state show --json`.
type (
	stateJSON struct {
		Topic      string           `json:"topic"`
		EndOffset  int64            `json:"end_offset"`
		Token      tokenJSON        `json:"token"`
		Bookmarks  []bookmarkJSON   `json:"bookmarks"`
		Resets     []resetJSON      `json:"pending_resets"`
		Unreadable []unreadableJSON `json:"unreadable"`
	}
	tokenJSON struct {
		Stored     bool       `json:"stored"`
		Readable   bool       `json:"readable"`
		SavedAt    *time.Time `json:"saved_at,omitempty"`
		AgeSeconds *int64     `json:"age_seconds,omitempty"`
		// SeedHash is the SHA-256 of the refresh token that seeded the chain, never a token.
		SeedHash string `json:"seed_hash,omitempty"`
		// SeededByEnv says whether XERO_REFRESH_TOKEN is that token; absent when it is not set.
		SeededByEnv *bool `json:"seeded_by_xero_refresh_token,omitempty"`
	}
	bookmarkJSON struct {
		Tenant      string     `json:"tenant"`
		Stream      string     `json:"stream"`
		Sync        string     `json:"sync"`
		CommittedAt time.Time  `json:"committed_at"`
		Watermark   *time.Time `json:"watermark,omitempty"`
		Offset      *int64     `json:"journal_number,omitempty"`
		Window      int        `json:"window_ids,omitempty"`
		Verify      int        `json:"pending_verifications,omitempty"`
		Records     *int       `json:"records,omitempty"`
		StateOffset int64      `json:"state_offset"`
	}
	resetJSON struct {
		Tenant string     `json:"tenant"`
		Stream string     `json:"stream"`
		ID     string     `json:"id"`
		From   *time.Time `json:"from,omitempty"`
		At     time.Time  `json:"asked_at"`
		Offset int64      `json:"state_offset"`
	}
	unreadableJSON struct {
		Offset int64  `json:"offset"`
		Key    string `json:"key"`
		// KeyHex is the key in hexadecimal when it is not valid UTF-8 (Key is then mangled).
		KeyHex string `json:"key_hex,omitempty"`
		Error  string `json:"error"`
	}
)

func (a *stateAdmin) view() stateJSON {
	st := a.st
	out := stateJSON{Topic: a.env.topic, EndOffset: st.Summary().EndOffset,
		Bookmarks: []bookmarkJSON{}, Resets: []resetJSON{}, Unreadable: []unreadableJSON{}}
	hash, stored := st.TokenSeedHash()
	out.Token = tokenJSON{Stored: stored, SeedHash: hash}
	if tok, ok := st.Token(); ok {
		out.Token.Readable = true
		saved := tok.SavedAt.UTC()
		age := int64(a.now.Sub(saved).Seconds())
		out.Token.SavedAt, out.Token.AgeSeconds = &saved, &age
	}
	if stored && hash != "" && a.env.refreshToken != "" {
		same := offsets.HashSeed(a.env.refreshToken) == hash
		out.Token.SeededByEnv = &same
	}
	for _, info := range st.Bookmarks() {
		b, _ := st.Bookmark(info.Tenant, info.Stream)
		j := bookmarkJSON{Tenant: info.Tenant, Stream: info.Stream, CommittedAt: info.CommittedAt.UTC(), StateOffset: info.Offset}
		s, known := streams.ByName(info.Stream)
		switch {
		case !known:
			j.Sync = "unknown"
		case s.Sync == streams.Keyset:
			j.Sync = s.Sync.String()
			if b.Watermark != 0 {
				w := time.UnixMilli(b.Watermark).UTC()
				j.Watermark = &w
			}
			j.Window, j.Verify = len(b.Window), len(b.Verify)
		case s.Sync == streams.Offset:
			j.Sync = s.Sync.String()
			n := b.Watermark
			j.Offset = &n
		default:
			j.Sync = s.Sync.String()
			n := len(b.Hashes)
			j.Records = &n
		}
		out.Bookmarks = append(out.Bookmarks, j)
	}
	for _, r := range st.Resets() {
		j := resetJSON{Tenant: r.Tenant, Stream: r.Stream, ID: r.ID, At: r.At, Offset: r.Offset}
		if !r.From.IsZero() {
			f := r.From
			j.From = &f
		}
		out.Resets = append(out.Resets, j)
	}
	for _, e := range st.Unreadable() {
		u := unreadableJSON{Offset: e.Offset, Key: e.Key, Error: e.Err.Error()}
		if !utf8.ValidString(e.Key) {
			u.KeyHex = hex.EncodeToString([]byte(e.Key))
		}
		out.Unreadable = append(out.Unreadable, u)
	}
	return out
}

func (a *stateAdmin) showJSON() error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(a.view())
}

func (a *stateAdmin) show() error {
	v := a.view()
	w := a.stdout
	fmt.Fprintf(w, "State topic %s, read up to offset %d.\n\n", v.Topic, v.EndOffset)
	switch t := v.Token; {
	case !t.Stored:
		fmt.Fprintln(w, "Refresh token: none stored; the next start seeds the chain from XERO_REFRESH_TOKEN.")
	case !t.Readable:
		fmt.Fprintln(w, "Refresh token: stored, but XERO_STATE_KEY cannot read it (see below).")
	default:
		fmt.Fprintf(w, "Refresh token: saved %s (%s ago).\n", t.SavedAt.Format(time.RFC3339), ago(time.Duration(*t.AgeSeconds)*time.Second))
	}
	if t := v.Token; t.Stored {
		switch {
		case t.SeedHash == "":
			fmt.Fprintln(w, "Chain seeded by: unknown (the record does not say).")
		case t.SeededByEnv == nil:
			fmt.Fprintf(w, "Chain seeded by: the token with SHA-256 %s… (XERO_REFRESH_TOKEN is not set).\n", t.SeedHash[:12])
		case *t.SeededByEnv:
			fmt.Fprintf(w, "Chain seeded by: XERO_REFRESH_TOKEN (SHA-256 %s…), used up since.\n", t.SeedHash[:12])
		default:
			fmt.Fprintf(w, "Chain seeded by: another token than XERO_REFRESH_TOKEN (SHA-256 %s…); the next start seeds a new chain from XERO_REFRESH_TOKEN.\n", t.SeedHash[:12])
		}
	}
	fmt.Fprintln(w)
	if len(v.Bookmarks) == 0 {
		fmt.Fprintln(w, "No bookmarks: every stream is read from the start.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "TENANT\tSTREAM\tBOOKMARK\tCOMMITTED")
		for _, b := range v.Bookmarks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s ago)\n", b.Tenant, b.Stream, describeBookmark(b),
				b.CommittedAt.Format(time.RFC3339), ago(a.now.Sub(b.CommittedAt)))
		}
		_ = tw.Flush()
	}
	if len(v.Resets) > 0 {
		fmt.Fprintln(w, "\nPending resets (applied by the instance reading the stream, before its next cycle):")
		for _, r := range v.Resets {
			from := "the start"
			if r.From != nil {
				from = r.From.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "  %s/%s from %s, asked at %s\n", r.Tenant, r.Stream, from, r.At.Format(time.RFC3339))
		}
	}
	if len(v.Unreadable) > 0 {
		fmt.Fprintln(w, "\nUnreadable records ('xero-kafka state remove-unreadable' removes them):")
		for _, u := range v.Unreadable {
			fmt.Fprintf(w, "  offset %d key %q: %s\n", u.Offset, u.Key, u.Error)
		}
	}
	return nil
}

func describeBookmark(b bookmarkJSON) string {
	switch {
	case b.Offset != nil:
		return fmt.Sprintf("journal number %d", *b.Offset)
	case b.Records != nil:
		return fmt.Sprintf("%d records", *b.Records)
	case b.Sync == "unknown":
		return "stream unknown to this release"
	}
	s := "from the start"
	if b.Watermark != nil {
		s = "updated up to " + b.Watermark.Format(time.RFC3339)
	}
	if b.Verify > 0 {
		s += fmt.Sprintf(", %d traversals to check", b.Verify)
	}
	return s
}

// ago rounds d for people.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// reset asks for (tenant, stream) to be read again from from (zero: the start).
func (a *stateAdmin) reset(ctx context.Context, tenant, stream string, from time.Time, yes bool) error {
	var tenants []string
	streamsOf := map[string][]string{}
	for _, info := range a.st.Bookmarks() {
		if _, ok := streamsOf[info.Tenant]; !ok {
			tenants = append(tenants, info.Tenant)
		}
		streamsOf[info.Tenant] = append(streamsOf[info.Tenant], info.Stream)
	}
	if _, ok := streamsOf[tenant]; !ok {
		if len(tenants) == 0 {
			return fmt.Errorf("state reset: unknown tenant %q: the state holds no bookmark yet", tenant)
		}
		return fmt.Errorf("state reset: unknown tenant %q; the state knows: %s", tenant, strings.Join(tenants, ", "))
	}
	b, ok := a.st.Bookmark(tenant, stream)
	if !ok {
		return fmt.Errorf("state reset: unknown stream %q of tenant %s; its streams in the state: %s",
			stream, tenant, strings.Join(streamsOf[tenant], ", "))
	}
	s, known := streams.ByName(stream)
	if !known {
		return fmt.Errorf("state reset: stream %q is not one this release reads; streams: %s", stream, strings.Join(streams.Names(), ", "))
	}
	what := "from the start: every record is written again"
	if !from.IsZero() {
		if s.Sync != streams.Keyset {
			return fmt.Errorf("state reset: --from applies to streams read by UpdatedDateUTC; %s is read by %s: reset it without --from", stream, s.Sync)
		}
		if from.UnixMilli() > b.Watermark {
			return fmt.Errorf("state reset: --from %s is after where %s/%s stands (%s): a reset reads again, it never skips ahead",
				from.Format(time.RFC3339), tenant, stream, time.UnixMilli(b.Watermark).UTC().Format(time.RFC3339))
		}
		what = "from " + from.Format(time.RFC3339) + ": every record updated since is written again"
	}
	fmt.Fprintf(a.stdout, "Reset %s/%s: it is read again %s.\nThe records already written stay; the refresh token is not touched.\n", tenant, stream, what)
	if !yes && !a.confirm() {
		return errors.New("state reset: not confirmed; nothing written")
	}
	r, err := offsets.NewReset(tenant, stream, from, time.Now())
	if err != nil {
		return err
	}
	rec, err := r.Record(a.env.topic)
	if err != nil {
		return err
	}
	if err := a.commit(ctx, rec); err != nil {
		return fmt.Errorf("state reset: %w", err)
	}
	fmt.Fprintf(a.stdout, "Committed the reset %s at %s offset %d. A running instance applies it before its next cycle of the stream; otherwise the next start does.\n",
		r.ID, a.env.topic, rec.Offset)
	return nil
}

// removeUnreadable commits a tombstone for each record the connector cannot read, and for
// nothing else.
func (a *stateAdmin) removeUnreadable(ctx context.Context, yes bool) error {
	bad := a.st.Unreadable()
	if len(bad) == 0 {
		fmt.Fprintln(a.stdout, "Every record of the state is readable: nothing to remove.")
		return nil
	}
	fmt.Fprintf(a.stdout, "%s of %s cannot be read:\n", plural(len(bad), "record"), a.env.topic)
	for _, e := range bad {
		fmt.Fprintf(a.stdout, "  offset %d key %q: %v\n    removing it: %s\n", e.Offset, e.Key, e.Err, consequence(e))
	}
	fmt.Fprintln(a.stdout, "Only these keys are removed (a tombstone each); everything readable stays.")
	if !yes && !a.confirm() {
		return errors.New("state remove-unreadable: not confirmed; nothing written")
	}
	// Read again after the answer, and remove only what is still the same unreadable record: a
	// record written meanwhile under one of these keys is not the one the operator saw.
	now, err := a.inspect(ctx)
	if err != nil {
		return fmt.Errorf("state remove-unreadable: read the state again: %w", err)
	}
	seen := make(map[string]int64, len(bad))
	for _, e := range bad {
		seen[e.Key] = e.Offset
	}
	var recs []*kgo.Record
	tombstones := now.UnreadableTombstones() // in the order of Unreadable
	for i, e := range now.Unreadable() {
		if off, ok := seen[e.Key]; ok && off == e.Offset {
			recs = append(recs, tombstones[i])
		}
	}
	if len(recs) < len(bad) {
		fmt.Fprintf(a.stdout, "%d of the records changed since they were listed; they are left as they are.\n", len(bad)-len(recs))
	}
	last := int64(-1) // the offset of the last tombstone
	if len(recs) > 0 {
		if err := a.commit(ctx, recs...); err != nil {
			return fmt.Errorf("state remove-unreadable: %w", err)
		}
		for _, r := range recs {
			last = max(last, r.Offset)
		}
	}
	after, err := a.inspectPast(ctx, last)
	if err != nil {
		return fmt.Errorf("state remove-unreadable: read the state again: %w", err)
	}
	if left := after.Unreadable(); len(left) > 0 {
		return fmt.Errorf("state remove-unreadable: %d records are still unreadable (written since?), the first at offset %d key %q", len(left), left[0].Offset, left[0].Key)
	}
	fmt.Fprintf(a.stdout, "Removed %s; the state is readable.\n", plural(len(recs), "record"))
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// consequence says what removing the unreadable record e changes.
func consequence(e *offsets.RecordError) string {
	switch {
	case e.Key == "token":
		return "the next start seeds a new chain from XERO_REFRESH_TOKEN, which must be a token Xero still accepts"
	case errors.Is(e, offsets.ErrFutureVersion):
		return "a newer release wrote it; running that release may be the better fix"
	case strings.HasPrefix(e.Key, "bookmark/"):
		return "that stream is read again from the start"
	}
	return "nothing this release uses"
}

// confirm asks on stdin and reports whether the answer was yes.
func (a *stateAdmin) confirm() bool {
	fmt.Fprint(a.stdout, "Go ahead? [y/N] ")
	line, _ := a.stdin.ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return slices.Contains([]string{"y", "yes"}, answer)
}

// inspect reads the state topic as it is now.
func (a *stateAdmin) inspect(ctx context.Context) (*offsets.State, error) {
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	return offsets.Inspect(ctx, a.env.kafka, a.env.topic, a.env.sealer)
}

// inspectPast reads the state once its last stable offset has passed offset. The markers of a
// transaction reach the partition after its commit has returned, so a read right after a
// commit can stop short of the records it wrote.
func (a *stateAdmin) inspectPast(ctx context.Context, offset int64) (*offsets.State, error) {
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	for {
		st, err := a.inspect(ctx)
		if err != nil || st.Summary().EndOffset > offset {
			return st, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the last stable offset of %s stayed at %d, not past %d: %w", a.env.topic, st.Summary().EndOffset, offset, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// commit writes recs in one transaction of the admin producer.
func (a *stateAdmin) commit(ctx context.Context, recs ...*kgo.Record) error {
	ctx, cancel := context.WithTimeout(ctx, stateTimeout)
	defer cancel()
	cl, err := kgo.NewClient(append(slices.Clip(a.env.kafka), kgo.TransactionalID(a.env.adminID))...)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	if err := offsets.Commit(ctx, cl, recs...); err != nil {
		return fmt.Errorf("write to %s with transactional id %s: %w", a.env.topic, a.env.adminID, err)
	}
	return nil
}
