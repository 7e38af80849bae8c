package main

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"testing"
)

// cpioEntry is one parsed archive member.
type cpioEntry struct {
	name         string
	mode         uint32
	nlink        uint32
	major, minor uint32
	data         string
}

// readCPIO parses newc archives, one after the other, as the kernel
// unpacks an initramfs, checking the magic and the four-byte alignment of
// every header and every file's data.
func readCPIO(t *testing.T, archive []byte) []cpioEntry {
	t.Helper()
	var entries []cpioEntry
	r := bytes.NewReader(archive)
	for {
		off := len(archive) - r.Len()
		if off%4 != 0 {
			t.Fatalf("header at offset %d: not aligned to 4", off)
		}
		var hdr [110]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatalf("header at offset %d: %v", off, err)
		}
		if string(hdr[:6]) != "070701" {
			t.Fatalf("header at offset %d: magic %q", off, hdr[:6])
		}
		field := func(i int) uint32 {
			v, err := strconv.ParseUint(string(hdr[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatalf("header at offset %d, field %d: %v", off, i, err)
			}
			return uint32(v)
		}
		e := cpioEntry{mode: field(1), nlink: field(4), major: field(9), minor: field(10)}
		size, namesize := field(6), field(11)
		name := make([]byte, namesize)
		if _, err := io.ReadFull(r, name); err != nil || name[namesize-1] != 0 {
			t.Fatalf("name at offset %d: %q, %v", off, name, err)
		}
		e.name = string(name[:namesize-1])
		skip(t, r, 110+int(namesize))
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			t.Fatalf("%s: data: %v", e.name, err)
		}
		e.data = string(data)
		skip(t, r, int(size))
		if e.name != cpioTrailer {
			entries = append(entries, e)
		} else if r.Len() == 0 {
			return entries
		}
	}
}

// skip reads the padding after n bytes, which must be zeros.
func skip(t *testing.T, r *bytes.Reader, n int) {
	t.Helper()
	pad := make([]byte, (4-n%4)%4)
	if _, err := io.ReadFull(r, pad); err != nil || !bytes.Equal(pad, make([]byte, len(pad))) {
		t.Fatalf("padding: %q, %v", pad, err)
	}
}

func TestCPIORoundTrip(t *testing.T) {
	var buf bytes.Buffer
	cw := newCPIOWriter(&buf)
	steps := []error{
		cw.CharDev("/dev/console", 0o600, 5, 1),
		cw.File("/init", 0o755, []byte("#!")),
		cw.File("/run.d/00-a.test", 0o755, []byte("abcde")), // data needs padding
		cw.File("/run.d/01-bb.test", 0o755, nil),
		cw.File("etc/vmtest.args", 0o644, []byte("-test.v\n")), // relative names work too
		cw.File("/lib/x86_64-linux-gnu/libc.so.6", 0o755, []byte("1234")),
		cw.Close(),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	dir := func(name string) cpioEntry { return cpioEntry{name: name, mode: cpioDir | 0o755, nlink: 2} }
	file := func(name string, perm uint32, data string) cpioEntry {
		return cpioEntry{name: name, mode: cpioRegular | perm, nlink: 1, data: data}
	}
	want := []cpioEntry{
		dir("dev"),
		{name: "dev/console", mode: cpioCharDev | 0o600, nlink: 1, major: 5, minor: 1},
		file("init", 0o755, "#!"),
		dir("run.d"),
		file("run.d/00-a.test", 0o755, "abcde"),
		file("run.d/01-bb.test", 0o755, ""),
		dir("etc"),
		file("etc/vmtest.args", 0o644, "-test.v\n"),
		dir("lib"),
		dir("lib/x86_64-linux-gnu"),
		file("lib/x86_64-linux-gnu/libc.so.6", 0o755, "1234"),
	}
	got := readCPIO(t, buf.Bytes())
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("archive holds\n%v\nwant\n%v", got, want)
	}
}

func TestCPIOConcatenated(t *testing.T) {
	// The runner appends a per-kernel archive to the common one. Each must
	// stand alone, so the second one creates its directories again.
	var buf bytes.Buffer
	for _, name := range []string{"/boot/a", "/boot/b"} {
		cw := newCPIOWriter(&buf)
		if err := cw.File(name, 0o644, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for _, e := range readCPIO(t, buf.Bytes()) {
		names = append(names, e.name)
	}
	if got, want := fmt.Sprint(names), "[boot boot/a boot boot/b]"; got != want {
		t.Errorf("archives hold %s, want %s", got, want)
	}
}

func TestCPIORefusesADirectoryAsAFile(t *testing.T) {
	cw := newCPIOWriter(io.Discard)
	if err := cw.File("/run.d/x", 0o755, nil); err != nil {
		t.Fatal(err)
	}
	if err := cw.File("/run.d", 0o755, nil); err == nil {
		t.Error("a file over the directory /run.d was accepted")
	}
}
