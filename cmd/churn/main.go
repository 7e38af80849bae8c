// Command churn is twtrace's reference loopback workload: connection churn
// with a deterministic closer, used by `make bench` and by hand to measure a
// tracer's overhead (see internal/churn and notes/performance-anchors.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twtrace/twtrace/internal/churn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := churn.Command(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "churn:", err)
		os.Exit(2)
	}
}
