package record

import "fmt"

// TruncatedError reports a recording that ends before its end-of-recording
// frame: the recorder crashed, the disk filled up, or the file was copied
// while it was being written. Every event before Offset has been delivered,
// so callers usually warn once and treat the replay as complete.
type TruncatedError struct {
	Offset int64  // where the incomplete part begins: the file replays up to here
	Reason string // what was missing
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("recording truncated at byte %d: %s", e.Offset, e.Reason)
}

// CorruptError reports a frame that is damaged: a checksum mismatch, a bad
// frame header or a block that does not decode. Reader.Next may be called
// again after it to skip to the next intact frame (--skip-corrupt).
type CorruptError struct {
	Offset int64 // where the bad frame begins
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("corrupt recording at byte %d: %s", e.Offset, e.Reason)
}

// FormatError reports input that is not a recording this build can read: a
// foreign file, or a format major version it does not know.
type FormatError struct {
	Offset int64
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("cannot replay: %s (at byte %d)", e.Reason, e.Offset)
}
