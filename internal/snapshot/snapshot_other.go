//go:build !linux

package snapshot

import "github.com/twtrace/twtrace/internal/event"

// Take lists the TCP sockets in a network namespace; only on Linux.
func Take(netnsPath string) ([]event.Socket, error) { return nil, ErrUnsupported }
