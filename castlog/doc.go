// Package castlog is a run's log as a device records it (R-LOG-1): a
// timestamped terminal recording in asciicast v2 form, carrying Runlet's
// frame sequence numbers, encrypted to the workspace's log key with age
// (X25519) as it is written, in independent segments so that a daemon
// killed mid-run loses at most the segment it had not sealed, and with an
// index so that a reader starts anywhere without decrypting what comes
// before. It also makes, seals and unseals the log keys themselves.
//
// # The file (version 1)
//
// All integers are big-endian.
//
//	file    = magic segment* [index]
//	magic   = "RCAST01\n" (8 bytes)
//	segment = header ciphertext
//	header  = "rseg" (4 bytes)
//	          length   uint32  bytes of ciphertext that follow
//	          firstSeq uint64  the first frame's sequence number (0: none)
//	          lastSeq  uint64  the last frame's (0: none)
//	          start    int64   the first frame's time, Unix nanoseconds
//	          end      int64   the last frame's time, Unix nanoseconds
//	          (40 bytes in all)
//	ciphertext = an age file (binary, not armored) to the recipients,
//	          whose plaintext is the segment's text (below)
//	index   = "ridx" (4 bytes)
//	          count    uint32  segments in the file
//	          flags    uint32  bit 0: interrupted (the run's end was not
//	                           seen; the log was completed at recovery)
//	          count × entry (40 bytes each):
//	              offset uint64 where the segment's header starts
//	              firstSeq, lastSeq uint64, start, end int64 (as its header)
//	          at    uint64   where "ridx" starts
//	          "RCASTEND" (8 bytes)
//
// A complete log ends with the index; a reader reads the last 16 bytes,
// then the index, then the segments it needs. A log without an index (the
// daemon died, or the run is live) is read by walking the headers from
// byte 8: a header or ciphertext cut short at the end is a torn tail, left
// out (Log.Torn), never an error for the segments before it.
//
// The headers and the index are not encrypted: they say how many frames
// there are and when, as the sizes of the segments would anyway. They are
// not trusted either: a segment's plaintext repeats its sequence numbers,
// and a reader checks them against the header.
//
// # A segment's text
//
// UTF-8, one JSON value per line, each line ending in "\n". The first
// segment (the one at byte 8) starts with the asciicast v2 header line:
//
//	{"version":2,"width":80,"height":24,"timestamp":1765161600,
//	 "title":"deploy on pi-1","env":{"TERM":"xterm-256color"},
//	 "runlet":{"format":1,"execution":"…","device":"pi-1","job":"deploy"}}
//
// Every other line, in that segment and the others, is an output event,
// one per frame, in sequence order without gaps:
//
//	[1.234567, "o", "text", 17]
//
// the time in seconds since the header's timestamp (to the microsecond),
// "o", the frame's output as a string, and the frame's sequence number.
// Output is decoded as UTF-8 across frames: a character split between two
// frames goes with the second, and bytes that are not UTF-8 become U+FFFD.
// The concatenated text of all segments is thus an asciicast v2 recording
// with a fourth element on each event; Export drops it, for asciinema's
// own tools.
//
// A segment is sealed (encrypted, written, synced) when its text reaches
// MaxSegmentBytes, MaxSegmentAge after its first frame, at Flush and at
// Close; the first segment holds at least the header line. Its header and
// ciphertext go to the file in one write; Flush and Close sync before they
// return, and a segment sealed because it is full or old is synced by the
// writer's own goroutine, so that the frames behind it do not wait for the
// disk (a killed daemon loses nothing it wrote; a power cut may lose what
// was not synced yet, as a torn tail).
package castlog
