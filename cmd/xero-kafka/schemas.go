package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/sethvargo/go-envconfig"

	"github.com/xero-kafka/xero-kafka/avro"
	"github.com/xero-kafka/xero-kafka/streams"
)

// errIncompatible makes `schemas --check` exit with status 1 after printing its table.
var errIncompatible = errors.New("a schema is not compatible with its subject in the registry")

// schemasEnv is the part of the environment `schemas --check` reads.
type schemasEnv struct {
	TopicPrefix string `env:"KAFKA_TOPIC_PREFIX, default=xero"`
	Registry    struct {
		URL      string `env:"URL"`
		Username string `env:"USERNAME"`
		Password secret `env:"PASSWORD"`
	} `env:", prefix=SCHEMA_REGISTRY_"`
}

// schemas is `xero-kafka schemas`: the key and value schemas of every stream, printed, written
// to a directory, or compared with the registry.
func schemas(ctx context.Context, args []string, lookup envconfig.Lookuper, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xero-kafka schemas", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "write <prefix>.<stream>-key.avsc and -value.avsc into this directory instead of printing them")
	check := fs.Bool("check", false, "compare each schema with its subject in SCHEMA_REGISTRY_URL: registered, compatible or not, and why")
	streamList := fs.String("streams", "", "streams, comma-separated (default: all 26)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: xero-kafka schemas [--out DIR | --check] [--streams a,b]\n\n"+
			"Subjects are <KAFKA_TOPIC_PREFIX>.<stream>-key and -value (TopicNameStrategy).\n"+
			"--check reads SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &configError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &configError{msg: fmt.Sprintf("schemas takes no arguments, got %q", fs.Args())}
	}
	if *out != "" && *check {
		return &configError{msg: "schemas: --out and --check exclude each other"}
	}
	var e schemasEnv
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &e, Lookuper: lookup}); err != nil {
		return &configError{msg: err.Error()}
	}
	names := streams.Names()
	if *streamList != "" {
		names = strings.Split(*streamList, ",")
	}
	codecs := make([]*avro.Codec, len(names))
	for i, name := range names {
		if _, ok := streams.ByName(name); !ok {
			return &configError{msg: fmt.Sprintf("--streams: unknown stream %q (known: %s)", name, strings.Join(streams.Names(), ", "))}
		}
		c, err := avro.NewCodec(name)
		if err != nil {
			return fmt.Errorf("schema of %s: %w", name, err)
		}
		codecs[i] = c
	}
	switch {
	case *check:
		return checkSchemas(ctx, &e, codecs, stdout)
	case *out != "":
		return writeSchemas(*out, e.TopicPrefix, codecs, stdout)
	}
	for _, c := range codecs {
		topic := e.TopicPrefix + "." + c.Stream()
		fmt.Fprintf(stdout, "// %s-key\n%s\n// %s-value\n%s\n", topic, c.KeySchema(), topic, c.ValueSchema())
	}
	return nil
}

func writeSchemas(dir, prefix string, codecs []*avro.Codec, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, c := range codecs {
		topic := prefix + "." + c.Stream()
		for suffix, schema := range map[string]string{"-key.avsc": c.KeySchema(), "-value.avsc": c.ValueSchema()} {
			path := filepath.Join(dir, topic+suffix)
			if err := os.WriteFile(path, []byte(schema+"\n"), 0o644); err != nil {
				return fmt.Errorf("write schema: %w", err)
			}
		}
	}
	fmt.Fprintf(stdout, "wrote %d schemas to %s\n", 2*len(codecs), dir)
	return nil
}

func checkSchemas(ctx context.Context, e *schemasEnv, codecs []*avro.Codec, stdout io.Writer) error {
	if e.Registry.URL == "" {
		return badConfig("SCHEMA_REGISTRY_URL", "missing required value (schemas --check compares with it)")
	}
	full := env{}
	full.Registry.URL, full.Registry.Username, full.Registry.Password = e.Registry.URL, e.Registry.Username, e.Registry.Password
	if u, err := url.Parse(e.Registry.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return badConfig("SCHEMA_REGISTRY_URL", "%q is not an http(s) URL", e.Registry.URL)
	}
	cl, err := full.registry()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "subject\tstate")
	incompatible := 0
	for _, c := range codecs {
		res, err := avro.Check(ctx, cl, e.TopicPrefix+"."+c.Stream(), c)
		if err != nil {
			_ = tw.Flush()
			return err
		}
		for _, r := range res {
			var state string
			switch {
			case !r.Registered:
				state = "not registered (created at the next start)"
			case r.Same:
				state = "registered, identical"
			case r.Compatible:
				state = "compatible (a new version at the next start)"
			default:
				incompatible++
				state = "INCOMPATIBLE: " + strings.Join(r.Reasons, "; ")
				if len(r.Reasons) == 0 {
					state += "the registry gave no reason"
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", r.Subject, state)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if incompatible > 0 {
		return fmt.Errorf("%w (%d subjects): the connector would stop at start registering them", errIncompatible, incompatible)
	}
	return nil
}
