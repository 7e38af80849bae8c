package main

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// cpioWriter writes an uncompressed cpio archive in the "newc" format, the
// one the kernel unpacks as an initramfs (Documentation/driver-api/
// early-userspace/buffer-format.rst). It writes only what an initramfs
// needs: directories, regular files and device nodes, all owned by root.
// Parent directories are added on first use, so callers name files only.
type cpioWriter struct {
	w    *bufio.Writer
	ino  uint32
	dirs map[string]bool
}

// File modes as cpio stores them (the S_IF* bits of stat(2)).
const (
	cpioDir     = 0o040000
	cpioRegular = 0o100000
	cpioCharDev = 0o020000
)

// cpioTrailer names the entry that ends every archive.
const cpioTrailer = "TRAILER!!!"

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriter(w), dirs: map[string]bool{".": true}}
}

// File adds a regular file at name (such as "/init").
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) error {
	return c.entry(name, cpioRegular|uint32(perm.Perm()), 0, 0, data)
}

// CharDev adds a character device node, such as /dev/console, which the
// kernel opens for PID 1 before any devtmpfs is mounted.
func (c *cpioWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	return c.entry(name, cpioCharDev|uint32(perm.Perm()), major, minor, nil)
}

// Close ends the archive and flushes it; it does not close the underlying
// writer.
func (c *cpioWriter) Close() error {
	if err := c.header(cpioTrailer, 0, 0, 0, 0); err != nil {
		return err
	}
	return c.w.Flush()
}

func (c *cpioWriter) entry(name string, mode, major, minor uint32, data []byte) error {
	name = strings.TrimPrefix(path.Clean("/"+name), "/")
	if name == "" || c.dirs[name] {
		return fmt.Errorf("cpio: %q is a directory", name)
	}
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, mode, major, minor, len(data)); err != nil {
		return err
	}
	if _, err := c.w.Write(data); err != nil {
		return err
	}
	return c.pad(len(data))
}

func (c *cpioWriter) mkdirAll(dir string) error {
	if c.dirs[dir] {
		return nil
	}
	if err := c.mkdirAll(path.Dir(dir)); err != nil {
		return err
	}
	c.dirs[dir] = true
	return c.header(dir, cpioDir|0o755, 0, 0, 0)
}

// header writes one entry's header and name. Every field is eight hex
// digits; the name ends with a NUL, and both the header+name and the data
// that follows are padded to a multiple of four bytes.
func (c *cpioWriter) header(name string, mode, rdevMajor, rdevMinor uint32, size int) error {
	c.ino++
	nlink := 1
	if mode&0o170000 == cpioDir {
		nlink = 2
	}
	n, err := fmt.Fprintf(c.w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\x00",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0, name)
	if err != nil {
		return err
	}
	return c.pad(n)
}

// pad writes the zeros that bring n written bytes to a multiple of four.
func (c *cpioWriter) pad(n int) error {
	_, err := c.w.Write(make([]byte, (4-n%4)%4))
	return err
}
