// Package snapshot lists the TCP sockets that exist in a network namespace,
// as `ss -tan` does but including the TIME_WAIT sockets in substate
// FIN_WAIT2 that `ss state time-wait` misses. twtrace takes one at start so
// its counts are right from the first second: the tracer only sees sockets
// change, not the ones already there.
package snapshot

import "errors"

// ErrUnsupported is returned where the kernel interface does not exist
// (any OS but Linux).
var ErrUnsupported = errors.New("socket snapshots need Linux")
