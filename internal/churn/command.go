package churn

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"
)

// Command is the churn command line: it parses args, runs, and writes the
// result line to stdout. cmd/churn is a thin wrapper around it, and tests
// run it as a helper process in a private network namespace.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("churn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: churn [flags]\n\n"+
			"Loopback connection churn: N workers loop connect, write 64 B, read 64 B, close,\n"+
			"against churn's own server. Prints one key=value line at the end.\n\n"+
			"  churn -mode client-close -workers 2 -duration 10s -addr 127.0.0.1:5001             # reference, max rate\n"+
			"  churn -mode client-close -workers 2 -duration 8s -addr 127.0.0.1:5001 -rate 5000  # reference, fixed load\n\n")
		fs.PrintDefaults()
	}
	var cfg Config
	fs.StringVar(&cfg.Mode, "mode", ClientClose, "which side closes first and holds the TIME_WAIT: "+ClientClose+" or "+ServerClose)
	fs.IntVar(&cfg.Workers, "workers", 2, "concurrent client loops")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "run time (0: until -conns)")
	fs.IntVar(&cfg.Conns, "conns", 0, "stop after this many connections (0: until -duration)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "offered connections per second over all workers (0: as fast as possible)")
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:5001", "the server's listen address; a fixed port outside the ephemeral range keeps repeated runs comparable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	res, err := Run(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, res)
	return err
}
