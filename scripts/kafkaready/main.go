// Command kafkaready waits until a Kafka broker answers requests: it asks for the cluster's
// metadata until a broker and a controller are listed, or the timeout passes. The services
// script runs it after Kafka logs "Kafka Server started".
//
//	go run ./scripts/kafkaready -brokers 127.0.0.1:19092 -timeout 60s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:19092", "comma-separated seed brokers")
	timeout := flag.Duration("timeout", time.Minute, "how long to wait")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := wait(ctx, strings.Split(*brokers, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "kafkaready: %v\n", err)
		os.Exit(1)
	}
}

// wait polls the cluster metadata until it lists a broker and a controller.
func wait(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(0))
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		md, err := adm.BrokerMetadata(attempt)
		cancel()
		switch {
		case err != nil:
			last = err
		case len(md.Brokers) == 0:
			last = errors.New("metadata lists no broker")
		case md.Controller < 0:
			last = errors.New("metadata lists no controller")
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no usable metadata from %s: %w", strings.Join(brokers, ","), last)
		case <-tick.C:
		}
	}
}
