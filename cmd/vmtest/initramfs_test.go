package main

import (
	"fmt"
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
