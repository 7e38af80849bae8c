package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestParseLDD(t *testing.T) {
	out := "\tlinux-vdso.so.1 (0x00007ffd3b5f2000)\n" +
		"\tlibmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f9addd97000)\n" +
		"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f9addb91000)\n" +
		"\t/lib64/ld-linux-x86-64.so.2 (0x00007f9addf1c000)\n"
	got, err := parseLDD([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := "[/lib/x86_64-linux-gnu/libmnl.so.0 /lib/x86_64-linux-gnu/libc.so.6 /lib64/ld-linux-x86-64.so.2]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}

	if _, err := parseLDD([]byte("\tlibgone.so.1 => not found\n")); err == nil {
		t.Error("a library ldd could not find was not an error")
	}
}

func TestParseArgs(t *testing.T) {
	cfg, err := parseArgs([]string{"-init", "vminit", "-kernel", "a/vmlinuz", "-kernel", "b", "-tool", "ip",
		"--", "x.test", "y.test", "--", "-test.v", "-test.run", "A"})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(cfg.kernels, cfg.tools, cfg.bins, cfg.testArgs)
	if want := "[a/vmlinuz b] [ip] [x.test y.test] [-test.v -test.run A]"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}

	for _, args := range [][]string{
		{"-kernel", "k", "--", "x.test"},                      // no -init
		{"-init", "i", "--", "x.test"},                        // no kernel
		{"-init", "i", "-kernel", "k"},                        // no binaries
		{"-init", "i", "-kernel", "k", "--", "--", "-test.v"}, // no binaries before the test args
	} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%q: accepted", args)
		}
	}
}

func TestKernelName(t *testing.T) {
	for path, want := range map[string]string{
		"/cache/6.1.0-50-cloud-amd64/vmlinuz": "6.1.0-50-cloud-amd64",
		"/boot/vmlinuz-6.18.0":                "vmlinuz-6.18.0",
	} {
		if got := kernelName(path); got != want {
			t.Errorf("kernelName(%s) = %s, want %s", path, got, want)
		}
	}
}

func TestWriteKernelFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "7.3.4+deb13-cloud-amd64")
	for name, data := range map[string]string{
		"vmlinuz":                    "image",
		"config":                     "CONFIG_HZ=250\n",
		"modules/00-inet_diag.ko.xz": "a",
		"modules/01-tcp_diag.ko.xz":  "b",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, slow := range []bool{false, true} {
		var buf bytes.Buffer
		if err := writeKernelFiles(&buf, filepath.Join(dir, "vmlinuz"), "7.3.4+deb13-cloud-amd64", slow); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range readCPIO(t, buf.Bytes()) {
			got = append(got, e.name+"="+e.data)
		}
		want := "[boot= boot/config-7.3.4+deb13-cloud-amd64=CONFIG_HZ=250\n modules.d= modules.d/00-inet_diag.ko.xz=a modules.d/01-tcp_diag.ko.xz=b]"
		if slow {
			want = "[boot= boot/config-7.3.4+deb13-cloud-amd64=CONFIG_HZ=250\n etc= etc/vmtest.env=VMTEST_SLOW=1\n modules.d= modules.d/00-inet_diag.ko.xz=a modules.d/01-tcp_diag.ko.xz=b]"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("slow %v: got %q\nwant %q", slow, got, want)
		}
	}

	// An image without them, such as one built by hand, gets an empty archive.
	var buf bytes.Buffer
	if err := writeKernelFiles(&buf, filepath.Join(t.TempDir(), "bzImage"), "bzImage", false); err != nil {
		t.Fatal(err)
	}
	if got := readCPIO(t, buf.Bytes()); len(got) != 0 {
		t.Errorf("got %v, want nothing", got)
	}
}
