// Package record writes and replays twtrace recordings: a header with the
// capture's event.Meta and startup snapshot, then framed, checksummed,
// zstd-compressed blocks of events. FORMAT.md next to this file is the
// specification and states the compatibility promise.
//
// The format is append-only and every frame is written with one write, so
// a recording can be copied while it is being written, and one cut short
// by a crash or a full disk replays up to its last whole block. Replay is
// portable Go and needs no privileges.
//
// Recording:
//
//	w, err := record.Create(path, meta, snapshot) // or NewWriter(os.Stdout, ...)
//	for each event { err = w.Write(&e) }           // Flush on a 1 s ticker when idle
//	err = w.Close()                                 // on exit, including SIGINT/SIGTERM
//
// Replaying:
//
//	r, err := record.Open(f)
//	for { err := r.Next(&e); ... }  // io.EOF, *TruncatedError, *CorruptError
//
// Pacer paces a replay by event time for the UI (speed, pause, step, seek).
package record
