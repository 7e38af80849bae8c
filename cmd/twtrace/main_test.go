package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBadFlagsFailInOneLine(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"-o", "xml"},
		{"--ring-size", "1000"},
		{"--backend", "ebpf"},
		{"--duration", "soon"},
		{"stray"},
	} {
		var out, errw bytes.Buffer
		code := realMain(args, &out, &errw)
		first, _, _ := strings.Cut(errw.String(), "\n")
		if code != exitUsage || !strings.HasPrefix(first, "twtrace: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and a 'twtrace: ' line", args, code, errw.String(), exitUsage)
		}
	}
}

func TestHelpListsTheFlags(t *testing.T) {
	var out, errw bytes.Buffer
	if code := realMain([]string{"--help"}, &out, &errw); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--output", "--netns", "--duration", "--count", "twtrace doctor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out.String())
		}
	}
}
