package main

import "testing"

func TestStripEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2)": "SeaBIOS (version 1.16.2)",
		"\x1bc\x1b[?7l\x1b[2J=== RUN   TestX":                 "=== RUN   TestX",
		"plain [1] text":                                      "plain [1] text",
		"cut short \x1b[":                                     "cut short ",
		"ends in ESC\x1b":                                     "ends in ESC",
	} {
		if got := stripEscapes(in); got != want {
			t.Errorf("stripEscapes(%q) = %q, want %q", in, got, want)
		}
	}
}
