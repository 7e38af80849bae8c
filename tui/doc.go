// Package tui is twtrace's terminal UI: a bubbletea program that draws
// aggregate snapshots on a tick, live or replayed.
//
// The goroutine that reads events feeds a Feed (the aggregate and a ring
// of recent events behind one mutex). Ten times a second the UI asks
// its Source for a frame, in a command's goroutine, so that neither side
// waits for the other to draw; Update derives the rows of every view from
// the frame (filtered and sorted), and View only lays out text for the
// terminal's size. A replay adds a replay.Player, which the keys drive.
//
// Files: model.go (state and messages), input.go (keys), screen.go (the
// frame around the views), header.go, one file per view (overview.go,
// timewait.go, connections.go, events.go, detail.go), and the helpers
// they share: rows.go, filter.go, list.go, scroll.go, columns.go,
// format.go. The Source and the Feed are in feed.go, keys in keys.go,
// styles in styles.go.
// Golden frames are in testdata; `go test ./tui -update` rewrites them.
package tui
