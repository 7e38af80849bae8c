//go:build !linux

package netns

func inode(string) (uint32, error) { return 0, errNoNamespaces }

func do(string, func() error) error { return errNoNamespaces }
