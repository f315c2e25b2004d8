// Package stream is the smooth view: while at least one browser watches, one
// ffmpeg child captures the X screen (x11grab over MIT-SHM) and encodes it to
// low-latency H.264; the package cuts the byte stream into pictures and fans
// them out over WebSockets to every viewer, whose page decodes them with
// WebCodecs and sends pointer and keyboard events back, injected with XTEST.
//
// The parts, as data flows:
//
//   - h264.go: Splitter cuts the Annex B stream into access units; Codec gives
//     the browser's codec string from the SPS.
//   - hub.go: Hub fans pictures out; a joiner starts at the latest keyframe, a
//     slow viewer skips to the next keyframe instead of building a backlog, and
//     the first viewer in and the last out start and stop the encoder.
//   - encoder.go: the ffmpeg child, started on demand and never on the
//     supervisor's loop (see Encoder for how it is reaped).
//   - auth.go: the challenge the page answers before any pixel or input flows.
//   - server.go: the WebSocket endpoint and its protocol.
//   - page/: the page (plain JavaScript, no build step).
package stream
