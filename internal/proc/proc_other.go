//go:build !linux

package proc

// List returns nothing: there is no /proc here.
func List() ([]Process, error) { return nil, nil }

// Exists reports false: there is no /proc here.
func Exists(uint32) bool { return false }
