// Package tracer loads twtrace's BPF programs, attaches them with the best
// backend this kernel allows, and turns ring-buffer records into
// event.Events. It is linux-only; everything downstream is portable.
package tracer

//go:generate go tool bpf2go -cc clang-19 -strip llvm-strip-19 -cflags "-O2 -g -Wall -Werror -D__TARGET_ARCH_x86" -target bpfel -type event -type tw_event_kind -type tw_event_flags -type tw_cause -type stage_meta -output-stem twtrace twtrace ../bpf/twtrace.bpf.c -- -I../bpf/include
