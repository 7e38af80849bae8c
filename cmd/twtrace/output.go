package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/twtrace/twtrace/internal/event"
)

// lineSink writes events one line each, as JSON Lines or the table,
// allocating nothing per event.
type lineSink struct {
	w    *bufio.Writer
	json bool
	enc  event.JSONEncoder
	buf  []byte
	err  error
}

func newLineSink(w io.Writer, format string) *lineSink {
	return &lineSink{w: bufio.NewWriterSize(w, 64<<10), json: format == "json", buf: make([]byte, 0, 512)}
}

// header writes what comes before the first event.
func (s *lineSink) header(m *event.Meta) error {
	if !s.json {
		_, err := fmt.Fprintln(s.w, event.TableHeader)
		return err
	}
	b, err := event.AppendHelloJSON(s.buf[:0], m)
	if err != nil {
		return fmt.Errorf("encoding the header: %w", err)
	}
	_, err = s.w.Write(append(b, '\n'))
	return err
}

func (s *lineSink) Event(e *event.Event) {
	if s.json {
		s.buf = s.enc.Append(s.buf[:0], e)
	} else {
		s.buf = event.AppendTable(s.buf[:0], e)
	}
	s.buf = append(s.buf, '\n')
	s.w.Write(s.buf) // a failure sticks in the bufio.Writer; flush reports it
}

// flush writes out what is buffered and returns the first output error.
func (s *lineSink) flush() error {
	if s.err == nil {
		if err := s.w.Flush(); err != nil {
			s.err = fmt.Errorf("writing output: %w", err)
		}
	}
	return s.err
}
