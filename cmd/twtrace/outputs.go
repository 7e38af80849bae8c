package main

import (
	"io"
	"os"

	"github.com/charmbracelet/x/term"
)

// outputs decides what goes to stdout: event lines and, at the end, the
// summary, in format. With -w - stdout carries the recording instead.
// Without -o, a terminal gets the table (the UI's place) and anything else
// the table too, as a pipe would expect.
func outputs(cfg config, stdout io.Writer) (lines *lineSink, summary io.Writer, format string) {
	if cfg.write == "-" || (cfg.write != "" && cfg.noTUI && cfg.output == "") || wantUI(cfg, stdout) {
		return nil, nil, ""
	}
	format = cfg.output
	if format == "" {
		format = "table"
	}
	return newLineSink(stdout, format), stdout, format
}

// wantUI reports whether this run shows the terminal UI: no -o, no
// --no-tui, stdout free for it, and a terminal there.
func wantUI(cfg config, stdout io.Writer) bool {
	if cfg.output != "" || cfg.noTUI || cfg.write == "-" || (cfg.read != "" && cfg.write != "") {
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
