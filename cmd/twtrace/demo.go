package main

import _ "embed"

// demoRecording is what `twtrace --demo` replays: an nginx-like reverse
// proxy captured by `make demo` (see TestCaptureDemo), so a newcomer sees
// twtrace at work without root or a busy server.
//
//go:embed demo.twt
var demoRecording []byte
