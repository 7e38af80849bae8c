package main

import "io"

// outputs decides what goes to stdout: event lines and, at the end, the
// summary, in format. With -w - stdout carries the recording instead.
// Without -o, a terminal gets the table (the UI's place) and anything else
// the table too, as a pipe would expect.
func outputs(cfg config, stdout io.Writer) (lines *lineSink, summary io.Writer, format string) {
	if cfg.write == "-" || (cfg.write != "" && cfg.noTUI && cfg.output == "") {
		return nil, nil, ""
	}
	format = cfg.output
	if format == "" {
		format = "table"
	}
	return newLineSink(stdout, format), stdout, format
}
