//go:build !linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

var errLiveNeedsLinux = errors.New("live tracing needs Linux; replay a recording with -r FILE")

func live(context.Context, config, io.Writer, io.Writer) error { return errLiveNeedsLinux }

func doctor(w io.Writer) int {
	fmt.Fprintln(w, "twtrace doctor:", errLiveNeedsLinux)
	return exitError
}
