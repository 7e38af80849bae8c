//go:build !linux

// Command twbench measures twtrace's overhead on Linux; see main.go.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "twbench: runs on Linux only (network namespaces, BPF)")
	os.Exit(1)
}
