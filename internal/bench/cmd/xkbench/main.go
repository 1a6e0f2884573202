// Command xkbench runs the benchmarks of `make bench` (see package internal/bench):
//
//	xkbench -bin xero-kafka -out BENCHMARKS.md [-short] [-only REGEXP]
//
// with the real services named by XK_KAFKA_BROKERS and XK_SCHEMA_REGISTRY_URL. It prints one
// table and writes it, with the machine and the date, to -out. `xkbench sim SPEC` and
// `xkbench kfake` are its helper processes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/xero-kafka/xero-kafka/internal/bench"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "xkbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) > 0 {
		switch args[0] {
		case "sim":
			if len(args) != 2 {
				return errors.New("usage: xkbench sim SPEC-JSON")
			}
			var spec bench.SimSpec
			if err := json.Unmarshal([]byte(args[1]), &spec); err != nil {
				return fmt.Errorf("simulator spec: %w", err)
			}
			return bench.ServeSim(ctx, spec, os.Stdout)
		case "kfake":
			return bench.ServeKafka(ctx, os.Stdout)
		}
	}
	fs := flag.NewFlagSet("xkbench", flag.ContinueOnError)
	var (
		bin         = fs.String("bin", "", "the xero-kafka binary (required)")
		out         = fs.String("out", "BENCHMARKS.md", "where to write the table (empty: nowhere)")
		dir         = fs.String("dir", "", "logs and scratch files (default: a new temporary directory)")
		repo        = fs.String("repo", ".", "the repository root")
		tap         = fs.String("tap-venv", "", "Python environment with tap-xero (empty: the peer's row says it did not run)")
		only        = fs.String("only", "", "run only the rows whose id matches this regular expression")
		short       = fs.Bool("short", false, "tiny volumes, and kfake in place of a missing real broker: the short form of the test command")
		seed        = fs.Int64("seed", 1, "seed of the simulated data")
		command     = fs.String("command", "scripts/bench.sh", "the command the table names for each row")
		brokerPID   = fs.Int("broker-pid", 0, "the real broker's process, whose CPU per record the end-to-end rows report (0: not reported)")
		registryPID = fs.Int("registry-pid", 0, "the real registry's process, likewise")
		connEnv     envList
	)
	fs.Var(&connEnv, "connector-env", "NAME=VALUE given to every connector after its own variables (repeatable): the figures of another setting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *bin == "" {
		return errors.New("-bin: the xero-kafka binary is required")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program: %w", err)
	}
	cfg := bench.Config{
		Bin: *bin, Self: self, Repo: *repo, TapVenv: *tap, Seed: *seed, Command: *command,
		GoBin: envOr("GO", "go"), Sizes: bench.Full(),
		RealBrokerPID: *brokerPID, RealRegistryPID: *registryPID, ConnectorEnv: connEnv,
		Log: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	if *short {
		cfg.Sizes = bench.Short()
		cfg.FakeAsReal = true
	}
	if *only != "" {
		if cfg.Only, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
	}
	if b := os.Getenv("XK_KAFKA_BROKERS"); b != "" {
		cfg.RealBrokers = strings.Split(b, ",")
		cfg.RealRegistry = os.Getenv("XK_SCHEMA_REGISTRY_URL")
		if cfg.RealRegistry == "" {
			return errors.New("XK_KAFKA_BROKERS is set but XK_SCHEMA_REGISTRY_URL is not")
		}
	}
	cfg.Dir = *dir
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", "xkbench-"); err != nil {
			return err
		}
	}
	if cfg.Dir, err = filepath.Abs(cfg.Dir); err != nil {
		return err
	}
	cfg.Log.Info("benchmarks", "logs", cfg.Dir)
	tb, err := bench.Run(ctx, cfg)
	if tb == nil {
		return err
	}
	if werr := bench.WriteText(os.Stdout, tb); werr != nil {
		return werr
	}
	if *out != "" {
		f, ferr := os.Create(*out)
		if ferr != nil {
			return fmt.Errorf("write %s: %w", *out, ferr)
		}
		if werr := bench.WriteMarkdown(f, tb, "make bench"); werr != nil {
			_ = f.Close()
			return werr
		}
		if cerr := f.Close(); cerr != nil {
			return cerr
		}
	}
	return err
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envList is a repeatable NAME=VALUE flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", v)
	}
	*l = append(*l, v)
	return nil
}
