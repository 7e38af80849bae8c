#!/usr/bin/env bash
# Refresh the vendored headers: libbpf's from Debian's libbpf-dev (pinned by
# the Debian release: bookworm ships 1.1.2), vmlinux.h from this machine's
# kernel BTF. CO-RE relocates field accesses at load time, so vmlinux.h only
# needs the types, not an exact kernel match.
set -euo pipefail
cd "$(dirname "$0")"
cp /usr/include/bpf/{bpf_helpers.h,bpf_helper_defs.h,bpf_tracing.h,bpf_core_read.h,bpf_endian.h} .
bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h
