// Package spool is a device's outbox of readings: a durable, bounded,
// log-structured queue of opaque records that keeps every accepted reading
// until the broker has confirmed it, through broker outages, kill -9 and
// power loss. Append assigns each record a sequence number and returns
// once it is fsynced (concurrent Appends share one fsync: group commit);
// Read serves the records after a cursor, Ack moves the acknowledged
// cursor and deletes what it no longer needs; when the bound on disk is
// reached the oldest records are dropped, counted and logged.
//
// # On disk
//
// A spool is a directory (mode 0700) holding:
//
//   - LOCK: the lock (internal/lockfile) that keeps a second process out;
//     it holds the holder's pid.
//   - cursor: the acknowledged cursor, the drop cursor and the counts of
//     records dropped for lack of room and skipped as damaged. It has two
//     64-byte slots, each with a generation and a CRC-32C; a write (each
//     Ack, each drop) goes to the slot of its generation's parity and is
//     fsynced, so a torn write leaves the previous state whole, and Open
//     takes the newest whole slot. One fsync per Ack, no new file.
//   - <base>.seg: the segments, named by a 20-digit zero-padded sequence
//     number, base, so that names sort like numbers. base is a lower
//     bound: every record in the segment has a sequence number ≥ base and
//     > every record of the segments before. Records are appended to the
//     last segment only, the active one; a new one is started when the
//     active one would grow past Options.SegmentBytes. The active segment
//     is never deleted, so its name keeps the next sequence number even
//     when everything has been acknowledged: sequence numbers are never
//     reused.
//
// A segment is a plain run of records, no header. A record is framed as
//
//	length uint32   little endian: bytes of data
//	crc    uint32   little endian: CRC-32C (Castagnoli) of length, seq and data
//	seq    uint64   little endian: its sequence number
//	data   [length]byte
//
// so a record costs 16 bytes more than its data. Within a segment the
// sequence numbers are consecutive.
//
// # Recovery
//
// Open reads every segment and checks each record: its checksum, its
// length (≤ MaxRecord and inside the file) and its sequence number (≥ the
// segment's base for the first, the previous one + 1 after). At the first
// record that fails, the segment is truncated there, fsynced, and the
// damage is logged at Warn (file, offset, bytes cut, reason); it is never
// fatal. After a crash this cuts a torn tail, which no Append had reported
// as written; a record damaged in the middle of a segment loses the
// records after it in that segment (the log says how many bytes). The
// segments entirely acknowledged or dropped (up to the cursors)
// are deleted, which finishes an Ack or a drop that a crash interrupted.
// The next sequence number is the greatest of the active segment's base,
// its last record + 1, and the cursors + 1. When bytes were cut from the
// last segment, it is moved on by as many records as those bytes could
// have held (one per 16 bytes) and a new segment is started: the cut may
// have been damage, not a torn write, and a number once given out must
// never be given again (the server deduplicates by it). A damaged cursor file
// is logged and read as zero: the records still on disk are then sent
// again, which the server's deduplication absorbs.
//
// Damage that appears later (bit rot under an open spool) is found by
// Read, which skips the damaged record and the records up to the next
// entry of the segment's index (at most IndexEvery bytes), counts them in
// Stats.Damaged, logs them at Error and goes on: a damaged disk loses
// readings, it never stops the outbox.
//
// A new segment is created and its directory fsynced before records go in
// it; every Append writes its records with one write per group and fsyncs
// the segment before it returns.
//
// # Sizing
//
// MaxBytes bounds the segments on disk. The rule is
//
//	MaxBytes ≥ (bytes per reading + 16) × readings per second × the outage to survive
//
// A reading as the gateway spools it is 40–60 bytes, so ~70 bytes on
// disk. The default, 256 MiB, holds about 3.8 million readings: a gateway
// with 15 sensors reporting every 15 minutes (the seed's) would need
// years to fill it, a busy gateway with 100 sensors reporting every
// 10 seconds (10 readings/s) survives 4–5 days offline, and a gateway at
// 1,000 readings/s survives about an hour. Past the bound the oldest whole
// segments are dropped: the newest readings are worth more than the
// oldest to whoever watches a fridge.
//
// # Memory
//
// Pending records stay on disk: memory holds per segment a sparse index
// (one entry per IndexEvery bytes) and the last TailBytes of fsynced
// records, for the reader that keeps up. With 1 million 50-byte readings
// pending the spool holds well under a megabyte.
package spool
