package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/home"
	"github.com/runlet/runlet/internal/atomicfile"
)

// fetched is where a finished run's log stands once fetchLog has applied
// R-LOG-3.
type fetched struct {
	missing  bool // neither the server nor this device has it
	readable bool // the local copy exists (read it)
	ownCopy  bool // the local copy is the one this device's daemon writes
}

// fetchLog applies R-LOG-3 to the log of exec on device, whose local copy
// is at path: runlet.ChooseLogCopy decides, and a download replaces the
// local copy only once its sha256 matches the server's and it scans as a
// log. A damaged download is an error (the local copy, if any, is kept
// and readable).
func (m *Main) fetchLog(ctx context.Context, client *apiclient.Client, cred *home.Credentials, exec, device, path string) (fetched, error) {
	st := fetched{ownCopy: device == cred.Device}
	local, err := localCopy(path)
	if err != nil {
		return st, err
	}
	st.readable = local.Present
	remote, _, err := client.StatLog(ctx, exec, device)
	if err != nil {
		return st, err
	}
	switch runlet.ChooseLogCopy(local, remote) {
	case runlet.LogMissing:
		st.missing = true
		return st, nil
	case runlet.ReadLocal:
		return st, nil
	}
	err = download(ctx, client, exec, device, path, local)
	if err == nil {
		st.readable = true
		return st, nil
	}
	why := strings.TrimSuffix(message(err), ".")
	if local.Present {
		return st, runlet.Errorf(runlet.ErrorCode(err), "%s: kept the local copy", why)
	}
	return st, runlet.Errorf(runlet.ErrorCode(err), "%s, and there is no local copy", why)
}

// localCopy describes the file at path for runlet.ChooseLogCopy: its
// sha256 and modification time, or absent.
func localCopy(path string) (runlet.LogCopy, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return runlet.LogCopy{}, nil
	}
	if err != nil {
		return runlet.LogCopy{}, fmt.Errorf("read the local copy of the log: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return runlet.LogCopy{}, fmt.Errorf("read the local copy of the log: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return runlet.LogCopy{}, fmt.Errorf("read the local copy of the log %s: %w", path, err)
	}
	return runlet.LogCopy{Present: true, SHA256: hex.EncodeToString(h.Sum(nil)), Modified: fi.ModTime()}, nil
}

// download fetches the server's copy of the log to a temporary file beside
// path and renames it over path once checked: its sha256 is the one the
// server recorded at upload, and it scans as a log. Its modification time
// becomes the server's, so that the next reader compares like with like.
// The local copy's hash goes as If-None-Match: a server holding the same
// answers 304, and nothing is sent again.
func download(ctx context.Context, client *apiclient.Client, exec, device, path string, local runlet.LogCopy) error {
	d, err := client.DownloadLog(ctx, exec, device, local.SHA256, 0, 0, false)
	if err != nil {
		return err
	}
	if d.NotModified {
		return nil
	}
	defer d.Body.Close()
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, atomicfile.TempPrefix+"fetch-*")
	if err != nil {
		return fmt.Errorf("download the log of execution %s on %s: %w", exec, device, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), d.Body)
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return runlet.Errorf(runlet.EUNAVAILABLE, "the server's copy of the log of execution %s on %s came short (%d of the %d bytes announced): the object is truncated, or the connection broke off", exec, safe(device), n, d.Size)
	case err != nil:
		return runlet.Errorf(runlet.EUNAVAILABLE, "the download of the log of execution %s on %s broke off after %d bytes (%v); try again", exec, safe(device), n, err)
	}
	damaged := func(why string) error {
		return runlet.Errorf(runlet.EUNAVAILABLE, "the server's copy of the log of execution %s on %s is damaged (%s)", exec, safe(device), why)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != d.Copy.SHA256 {
		return damaged(fmt.Sprintf("its %d bytes have sha256 %.12s…, which differs from the %.12s… its device uploaded", n, sum, d.Copy.SHA256))
	}
	if _, err := castlog.Scan(tmp, n); err != nil {
		return damaged(message(err))
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("download the log of execution %s on %s: %w", exec, device, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("download the log of execution %s on %s: %w", exec, device, err)
	}
	if !d.Copy.Modified.IsZero() {
		if err := os.Chtimes(tmp.Name(), d.Copy.Modified, d.Copy.Modified); err != nil {
			return fmt.Errorf("download the log of execution %s on %s: %w", exec, device, err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keep the downloaded log of execution %s on %s: %w", exec, device, err)
	}
	return atomicfile.SyncDir(dir)
}

// sealedWait bounds how long a reader of this device's own copy waits for
// its daemon to seal and index a log whose run has just ended.
const sealedWait = 5 * time.Second

// awaitSealed waits, up to sealedWait, for the log at path to end with its
// index: the server may record a run's end a moment before the daemon has
// closed its log.
func (m *Main) awaitSealed(ctx context.Context, path string) {
	deadline := time.Now().Add(sealedWait)
	for {
		if complete(path) || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func complete(path string) bool {
	l, err := castlog.ScanFile(path)
	return err == nil && l.Complete
}

// keyring is the identities that decrypt logs, and where they came from
// (for the error when none opens a log).
type keyring struct {
	ids  []age.Identity
	from string
	// generation is the key generation of the log to read, 0 when not
	// known.
	generation int64
}

// identities are the reader's keys (R-LOG-1): --identity FILE, else the
// keys saved by 'runlet keys unlock --save' (unless --passphrase-file
// says otherwise), else the workspace's passphrase, which opens generation gen, the one the log is encrypted to
// (all of them when gen is 0, not known).
func (m *Main) identities(keys []runlet.LogKey, gen int64, f *logsFlags) (keyring, error) {
	if f.identity != "" {
		ids, err := loadIdentityFile(f.identity)
		return keyring{ids: ids, from: "the identity file " + f.identity}, err
	}
	saved := home.Dir(m.home).IdentityFile()
	if _, err := os.Stat(saved); err == nil && f.passFile == "" {
		ids, err := loadIdentityFile(saved)
		return keyring{ids: ids, from: "the keys saved on this device (after a rotation, save them again with 'runlet keys unlock --save')"}, err
	}
	pass, err := m.passphrase(f.passFile, passphraseEnv, "the log passphrase")
	if err != nil {
		return keyring{}, err
	}
	chosen := keys
	if gen > 0 {
		for _, k := range keys {
			if k.Generation == gen {
				chosen = []runlet.LogKey{k}
			}
		}
	}
	xs, err := unsealAll(chosen, pass)
	if err != nil {
		return keyring{}, err
	}
	r := keyring{from: "the workspace's log keys"}
	for _, x := range xs {
		r.ids = append(r.ids, x)
	}
	return r, nil
}

// logGeneration is the key generation of the uploaded log, 0 when the
// server does not know it.
func logGeneration(ctx context.Context, client *apiclient.Client, exec, device string) int64 {
	logs, err := client.ExecutionLogs(ctx, exec)
	if err != nil {
		return 0
	}
	for _, l := range logs.Logs {
		if l.Device == device && l.Object != nil {
			return l.Object.Generation
		}
	}
	return 0
}

// printCast writes the log at path as f asks: its output (R-LOG-3's
// reader), or an asciicast file.
func (m *Main) printCast(path, exec, device string, keys keyring, f *logsFlags) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read the log of execution %s on %s: %w", exec, device, err)
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return fmt.Errorf("read the log of execution %s on %s: %w", exec, device, err)
	}
	l, err := castlog.Scan(file, fi.Size())
	if err != nil {
		return runlet.Errorf(runlet.ErrorCode(err), "the copy of the log of execution %s on %s in %s is damaged: %s", exec, safe(device), path, message(err))
	}
	var since time.Time
	if f.since != "" {
		if since, err = parseSince(f.since, lastTime(l)); err != nil {
			return err
		}
	}
	openErr := func(err error) error {
		if errors.Is(err, castlog.ErrNoIdentity) {
			which := "a log key generation"
			if keys.generation > 0 {
				which = fmt.Sprintf("log key generation %d", keys.generation)
			}
			return runlet.Errorf(runlet.EFORBIDDEN, "%s cannot open the log of execution %s on %s: it is encrypted to %s, which they do not hold", upperFirst(keys.from), exec, safe(device), which)
		}
		return fmt.Errorf("read the log of execution %s on %s: %w", exec, device, err)
	}
	switch {
	case f.export || f.cast != "":
		seq, err := sinceSeq(file, l, keys.ids, since)
		if err != nil {
			return openErr(err)
		}
		if f.cast == "" {
			err = castlog.Export(m.Stdout, file, fi.Size(), keys.ids, seq)
		} else {
			err = writeCast(f.cast, file, fi.Size(), keys.ids, seq)
		}
		if err != nil {
			return openErr(err)
		}
		if f.cast != "" {
			fmt.Fprintf(m.Stderr, "runlet: wrote the log of execution %s on %s to %s (asciicast v2)\n", exec, safe(device), f.cast)
		}
	default:
		if err := m.printEvents(file, l, keys.ids, since, f.after, f.timestamps); err != nil {
			return openErr(err)
		}
	}
	switch {
	case l.Interrupted:
		fmt.Fprintf(m.Stderr, "runlet: %s did not see the end of this run (its daemon was stopped or the device lost power): the log holds what it recorded until then\n", safe(device))
	case l.Torn:
		fmt.Fprintf(m.Stderr, "runlet: the log ends early: the rest was not sealed when its daemon stopped\n")
	case !l.Complete:
		fmt.Fprintf(m.Stderr, "runlet: the log has no end yet: %s has not closed it\n", safe(device))
	}
	return nil
}

// printEvents writes the output of every event from since on, and after
// frame after. Only the segments from the one FindTime (or Find) picks
// are decrypted. Each event's time is its segment's start (the first
// frame's time) plus its offset from the segment's first event, so that
// no earlier segment is needed for the header's timestamp.
func (m *Main) printEvents(r io.ReaderAt, l *castlog.Log, ids []age.Identity, since time.Time, after uint64, stamps bool) error {
	start := 0
	if !since.IsZero() {
		start = l.FindTime(since)
	}
	if after > 0 {
		start = max(start, l.Find(after+1))
	}
	p := &linePrinter{w: m.Stdout, stamps: stamps, atStart: true}
	for _, seg := range l.Segments[start:] {
		_, evs, err := castlog.ReadSegment(r, seg, ids)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			t := seg.Start.Add(ev.Time - evs[0].Time)
			if ev.Seq <= after || (!since.IsZero() && t.Before(since)) {
				continue
			}
			if err := p.write(t, []byte(ev.Data)); err != nil {
				return err
			}
		}
	}
	return nil
}

// sinceSeq is the first frame at or after since (0: all of them).
func sinceSeq(r io.ReaderAt, l *castlog.Log, ids []age.Identity, since time.Time) (uint64, error) {
	if since.IsZero() {
		return 0, nil
	}
	for _, seg := range l.Segments[l.FindTime(since):] {
		_, evs, err := castlog.ReadSegment(r, seg, ids)
		if err != nil {
			return 0, err
		}
		for _, ev := range evs {
			if !seg.Start.Add(ev.Time - evs[0].Time).Before(since) {
				return ev.Seq, nil
			}
		}
	}
	// Nothing that late: past the last frame.
	var last uint64
	for _, seg := range l.Segments {
		last = max(last, seg.LastSeq)
	}
	return last + 1, nil
}

// writeCast exports the log to the file at path, whole or not at all.
func writeCast(path string, r io.ReaderAt, size int64, ids []age.Identity, since uint64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), atomicfile.TempPrefix+"cast-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := castlog.Export(tmp, r, size, ids, since); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// lastTime is the time of the log's last frame, zero when it has none.
func lastTime(l *castlog.Log) time.Time {
	for i := len(l.Segments) - 1; i >= 0; i-- {
		if !l.Segments[i].End.IsZero() {
			return l.Segments[i].End
		}
	}
	return time.Time{}
}

// parseSince reads --since: an RFC 3339 time, or a duration counted back
// from end (now when end is zero). Empty is the zero time: from the start.
func parseSince(s string, end time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := runlet.ParseDuration(s)
	if err != nil {
		return time.Time{}, runlet.Errorf(runlet.EINVALID, "--since %s: give an RFC 3339 time (2026-12-08T09:30:00Z) or a duration before the log's end (10m, 2h, 1d)", s)
	}
	if end.IsZero() {
		end = time.Now()
	}
	return end.Add(-d), nil
}

// stampLayout is how --timestamps writes a time: RFC 3339, UTC, to the
// millisecond.
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

// linePrinter writes output as it is, or with --timestamps each line led by
// the time of the output that started it.
type linePrinter struct {
	w       io.Writer
	stamps  bool
	atStart bool
}

func (p *linePrinter) write(t time.Time, data []byte) error {
	if !p.stamps {
		_, err := p.w.Write(data)
		return err
	}
	var b strings.Builder
	for len(data) > 0 {
		if p.atStart {
			b.WriteString(t.UTC().Format(stampLayout))
			b.WriteByte(' ')
			p.atStart = false
		}
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			b.Write(data)
			break
		}
		b.Write(data[:i+1])
		data = data[i+1:]
		p.atStart = true
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}
