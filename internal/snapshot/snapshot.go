// Package snapshot lists the TCP sockets that exist in a network namespace,
// as `ss -tan` does but including the TIME_WAIT sockets in substate
// FIN_WAIT2 that `ss state time-wait` misses. twtrace takes one at start so
// its counts are right from the first second: the tracer only sees sockets
// change, not the ones already there.
//
// Take the snapshot after the tracer is attached, so that no socket falls
// between the two, and seed the aggregate with it before adding events:
// aggregate.Seed reconciles what both report.
package snapshot

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned where the kernel interface does not exist
// (any OS but Linux); it matches errors.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("socket snapshots need Linux: %w", errors.ErrUnsupported)
