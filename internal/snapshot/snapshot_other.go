//go:build !linux

package snapshot

import "github.com/twtrace/twtrace/internal/event"

// Take lists the TCP sockets in a network namespace; only on Linux.
func Take(netnsPath string) ([]event.Socket, error) { return nil, ErrUnsupported }

// NetNSInode returns a network namespace's inode; only on Linux.
func NetNSInode(path string) (uint32, error) { return 0, ErrUnsupported }
