package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The kernel-support table lives in a Markdown file between these markers;
// updateTable rewrites what is between them and nothing else.
const (
	tableBegin = "<!-- vmtest table: begin (written by `make vmtest VMTEST_TABLE=README.md`; do not edit) -->"
	tableEnd   = "<!-- vmtest table: end -->"
)

// result names a backend's result as the tables and lines show it.
func result(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

// renderTable renders one row per kernel, in the order run, and one
// column per backend, in the order the guests reported them. A cell is ok
// when every test binary that ran with that backend passed; "—" when the
// kernel reported nothing for it (the guest never got that far).
func renderTable(outcomes []outcome, at time.Time) string {
	var backends []string
	for _, o := range outcomes {
		for _, b := range o.backends {
			if !slices.Contains(backends, b.Name) {
				backends = append(backends, b.Name)
			}
		}
	}
	var b strings.Builder
	b.WriteString("| kernel | " + strings.Join(backends, " | ") + " | whole run |\n")
	b.WriteString("| --- |" + strings.Repeat(" --- |", len(backends)) + " --- |\n")
	for _, o := range outcomes {
		b.WriteString("| " + o.kernel + " |")
		for _, name := range backends {
			cell := "—"
			for _, r := range o.backends {
				if r.Name != name {
					continue
				}
				if cell == "—" || cell == "ok" {
					cell = result(r.OK)
				}
			}
			b.WriteString(" " + cell + " |")
		}
		whole := fmt.Sprintf("passed, %.0f s", o.took.Seconds())
		if o.err != nil {
			whole = "FAIL: " + strings.ReplaceAll(o.err.Error(), "\n", "; ")
		}
		b.WriteString(" " + whole + " |\n")
	}
	fmt.Fprintf(&b, "\nDebian cloud kernels in QEMU (TCG), %s.\n", at.UTC().Format("2006-01-02"))
	return b.String()
}

// replaceSection returns doc with the text between the table markers
// replaced by section.
func replaceSection(doc, section string) (string, error) {
	before, rest, ok := strings.Cut(doc, tableBegin)
	if !ok {
		return "", errors.New("no table marker " + tableBegin)
	}
	_, after, ok := strings.Cut(rest, tableEnd)
	if !ok {
		return "", errors.New("no table marker " + tableEnd)
	}
	return before + tableBegin + "\n" + section + tableEnd + after, nil
}

// updateTable rewrites the table in the file at path.
func updateTable(path string, outcomes []outcome, at time.Time) error {
	doc, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-table: %w", err)
	}
	out, err := replaceSection(string(doc), renderTable(outcomes, at))
	if err != nil {
		return fmt.Errorf("-table %s: %w", path, err)
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
