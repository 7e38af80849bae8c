// Package netns names network namespaces the way users do (a path such as
// /run/netns/web, a name under /run/netns, or an inode number) and runs
// code inside one. twtrace filters on a namespace's inode, and reads that
// namespace's sysctls and sockets from inside it.
package netns

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Resolve turns a --netns argument into the namespace's inode and, when it
// names a file, its path. An inode alone cannot be entered, so path is
// empty for a bare number.
func Resolve(arg string) (inode uint32, path string, err error) {
	if n, err := strconv.ParseUint(arg, 10, 32); err == nil {
		if n == 0 {
			return 0, "", errors.New("netns inode 0 is not valid")
		}
		return uint32(n), "", nil
	}
	path = arg
	if !strings.ContainsRune(arg, '/') {
		path = "/run/netns/" + arg
	}
	inode, err = Inode(path)
	if err != nil {
		return 0, "", err
	}
	return inode, path, nil
}

// Inode returns the inode of the namespace file at path.
func Inode(path string) (uint32, error) {
	ino, err := inode(path)
	if err != nil {
		return 0, fmt.Errorf("network namespace %s: %w", path, err)
	}
	return ino, nil
}

// Self returns the inode of the caller's network namespace.
func Self() (uint32, error) { return Inode("/proc/self/ns/net") }

// Do runs fn inside the namespace at path; an empty path runs fn where the
// caller is. Do is linux-only in effect: elsewhere a non-empty path fails.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return do(path, fn)
}

// errNoNamespaces is returned where the OS has no network namespaces.
var errNoNamespaces = errors.New("network namespaces exist only on Linux")
