package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twtrace/twtrace/internal/vmtest/guest"
)

// initramfs is the root filesystem every guest boots into. It holds:
//
//	/init              the guest's PID 1 (cmd/vminit)
//	/dev/console       opened by the kernel as PID 1's stdin, stdout, stderr
//	/run.d/NN-<name>   the test binaries, run in the order given
//	/etc/vmtest.args   arguments for every test binary, one a line
//
// and each tool (such as ip or ss, which the privileged tests call) at its
// host path, with the shared libraries and the loader it needs at theirs.
//
// It is the same for every kernel; what belongs to one kernel goes in a
// second archive (see writeKernelFiles) that is appended to it: the kernel
// unpacks concatenated archives one after the other.
type initramfs struct {
	init  string
	bins  []string
	args  []string
	tools []string
}

func (f initramfs) write(w io.Writer) error {
	cw := newCPIOWriter(w)
	if err := cw.CharDev("/dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := addFile(cw, "/init", f.init); err != nil {
		return err
	}
	for i, bin := range f.bins {
		if err := addFile(cw, fmt.Sprintf("/run.d/%02d-%s", i, filepath.Base(bin)), bin); err != nil {
			return err
		}
	}
	var args []byte
	for _, a := range f.args {
		if strings.Contains(a, "\n") {
			return fmt.Errorf("test argument %q: contains a newline", a)
		}
		args = append(args, a+"\n"...)
	}
	if err := cw.File("/etc/vmtest.args", 0o644, args); err != nil {
		return err
	}
	packed := map[string]bool{}
	for _, tool := range f.tools {
		files, err := toolFiles(tool)
		if err != nil {
			return err
		}
		for _, p := range files {
			if packed[p] {
				continue
			}
			packed[p] = true
			if err := addFile(cw, p, p); err != nil {
				return err
			}
		}
	}
	return cw.Close()
}

// writeKernelFiles writes the archive that completes the initramfs for the
// kernel image at path, named name, from the files fetch-kernels.sh keeps
// next to the image, where present:
//
//	config      -> /boot/config-<name>, where an installed system keeps it
//	modules/*   -> /modules.d/*, which vminit loads in name order
//
// and, with slow, /etc/vmtest.env asking for the slow tests too.
func writeKernelFiles(w io.Writer, path, name string, slow bool) error {
	dir := filepath.Dir(path)
	cw := newCPIOWriter(w)
	err := addFile(cw, "/boot/config-"+name, filepath.Join(dir, "config"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if slow {
		if err := cw.File("/etc/vmtest.env", 0o644, []byte(guest.SlowEnv+"=1\n")); err != nil {
			return err
		}
	}
	modules, err := filepath.Glob(filepath.Join(dir, "modules", "*"))
	if err != nil {
		return err
	}
	for _, m := range modules {
		if err := addFile(cw, "/modules.d/"+filepath.Base(m), m); err != nil {
			return err
		}
	}
	return cw.Close()
}

// addFile packs the host file src as the executable dst; symbolic links
// are followed, so the guest gets their target's content under dst.
func addFile(cw *cpioWriter, dst, src string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := cw.File(dst, 0o755, data); err != nil {
		return fmt.Errorf("packing %s: %w", src, err)
	}
	return nil
}

// toolFiles returns the host paths a dynamically linked tool needs to run:
// the binary found on PATH, then the libraries and loader ldd lists for it.
func toolFiles(tool string) ([]string, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return nil, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("%w: %s", err, bytes.TrimSpace(exit.Stderr))
		}
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	libs, err := parseLDD(out)
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", bin, err)
	}
	return append([]string{bin}, libs...), nil
}

// parseLDD returns the absolute paths in ldd's output: "name => /path
// (addr)" for a library, "/path (addr)" for the loader. The vDSO has no
// file and is skipped; a library ldd could not find is an error.
func parseLDD(out []byte) ([]string, error) {
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		p := fields[0]
		if i := slices.Index(fields, "=>"); i >= 0 {
			if i+1 >= len(fields) || fields[i+1] == "not" {
				return nil, fmt.Errorf("%s: not found", fields[0])
			}
			p = fields[i+1]
		}
		if filepath.IsAbs(p) {
			paths = append(paths, p)
		}
	}
	return paths, sc.Err()
}
