// Package record records the X display with ffmpeg as a supervised service.
//
// The recorder is a supervisor.Spec: ffmpeg grabs the display (x11grab), encodes
// H.264 (h264_nvenc when a real encode session opens on this machine, else
// libx264 ultrafast) into yuv420p, and writes a fragmented MP4
// (frag_keyframe+empty_moov+default_base_moof) with a keyframe every second:
// every keyframe closes a fragment that a player can read, and flush_packets
// writes it to the file at once (ffmpeg would otherwise keep 256 KiB in its
// buffer, minutes of a static screen), so the file stays playable and loses at
// most the last second when ffmpeg or the whole container is killed. Its stop signal is SIGINT, on
// which ffmpeg writes the last fragment and exits; that takes milliseconds, well
// inside the stop grace.
//
// With a rolling window (Options.Last), ffmpeg's segment muxer writes segments
// of Segment(Last) into a hidden directory next to the output, reusing their
// names in a ring (segment_wrap), so the disk never holds more than
// Segments(Last) of them. Finish stitches the newest segments that cover the
// window into the output with a stream copy, after the supervisor has stopped
// (no process may be started through os/exec while it runs).
//
// NVENC: NVML's encoder capacity cannot tell whether NVENC exists (on an H200
// it says 100 while nvEncOpenEncodeSessionEx returns
// NV_ENC_ERR_UNSUPPORTED_DEVICE), so ProbeEncoder encodes one frame with
// h264_nvenc in a short child and trusts only that.
//
// ffmpeg runs as the app user when there is one: the files it writes, in
// directories that user may control, are written with that user's rights.
package record
