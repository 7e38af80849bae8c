// Package aggregate turns the event stream into the situation a user asks
// about: connections and their state durations, the TIME_WAIT inventory,
// who closed and why each tw ended, rates, per-destination port pressure
// and CLOSE_WAIT leaks. It is fed the same events live or from a
// recording, reads only event time, and so gives the same answers on a
// replay as it did live. The UI, the summary line and the metrics all
// read it through Snapshot and Summary.
//
// An Aggregator is not safe for concurrent use: the goroutine that reads
// events calls Add, and hands Snapshot's immutable result to others.
//
// # How it works
//
// Every connection in the kernel has a record (conn), found by its
// network namespace and 4-tuple plus its phase: a full socket, or the tw
// that replaces it, which may briefly share the tuple with a new socket.
// Records sit in a chunked slab indexed by an open-addressing table
// (table.go), which is what keeps a tracked tw near 160 bytes.
//
// A record contributes to the counters (gauges per state, tw by owner,
// port and peer, ports held per destination) according to its fields;
// code that changes such a field takes the contribution out and puts it
// back (groups.go), so counters never drift from the records. Snapshot
// reads the counters and ranks the groups; it never walks the records.
//
// Records also sit on lists ordered by time: tw by expected expiry, so
// one whose exit event was lost is dropped once well past it, and
// CLOSE_WAIT sockets by entry, so they become leaks on time. Histograms
// (hist.go) and per-second windows (window.go) have a fixed size.
// Ended connections go to a fixed ring. Memory follows the most
// connections that existed at once (the slab keeps its peak), never the
// number of events.
package aggregate
