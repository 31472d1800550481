package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/castlog"
	"github.com/runlet/runlet/runner"
)

// The upload queue of encrypted logs (R-LOG-2): one file per log in
// home.UploadDir(), written when the log is created (State "": being
// written, which tells a recovery what key and header to finish it with)
// and marked ready when the log is complete. The uploader sends each
// ready log, asking first whether the server has it already, and removes
// its entry once the server confirmed the same sha256. A log with no entry
// is thus uploaded (or was never encrypted); the local retention removes
// only those.

// upload is one log's queue entry.
type upload struct {
	Execution  string `json:"execution"`
	Generation int64  `json:"generation"`
	Recipient  string `json:"recipient"`
	// State is "" while the log is being written, then the state it is
	// uploaded with.
	State   runlet.LogState `json:"state,omitempty"`
	Header  castHeader      `json:"header,omitzero"`
	Created time.Time       `json:"created,omitzero"`
}

const (
	// uploadRetryFirst and uploadRetryMost bound the pause between two
	// passes of the uploader that failed; it doubles in between.
	uploadRetryFirst = time.Second
	uploadRetryMost  = 5 * time.Minute
	// uploadStatWait bounds the question whether the server has a log.
	uploadStatWait = 30 * time.Second
	// uploadWarnEvery is the most often a failing upload is logged as a
	// warning; the other failures are logged at Debug.
	uploadWarnEvery = time.Minute
	// sweepEvery is how often the local retention runs.
	sweepEvery = time.Hour
)

// uploads is the queue.
type uploads struct {
	dir  string
	wake chan struct{} // the uploader has something to do
}

func openUploads(dir string) (*uploads, error) {
	if err := makeDir(dir); err != nil {
		return nil, err
	}
	return &uploads{dir: dir, wake: make(chan struct{}, 1)}, nil
}

func (q *uploads) path(id string) string { return filepath.Join(q.dir, id+".json") }

// put writes e's entry durably.
func (q *uploads) put(e upload) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := writeFileSync(q.path(e.Execution), b); err != nil {
		return fmt.Errorf("daemon: queue the upload of the log of %s: %w", e.Execution, err)
	}
	return nil
}

// ready marks e's log complete, to be uploaded with state, and wakes the
// uploader.
func (q *uploads) ready(e upload, state runlet.LogState) error {
	e.State = state
	if err := q.put(e); err != nil {
		return err
	}
	q.kick()
	return nil
}

// kick wakes the uploader.
func (q *uploads) kick() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// has reports whether run id's log has an entry (it is not uploaded yet).
func (q *uploads) has(id string) bool {
	_, err := os.Stat(q.path(id))
	return err == nil
}

func (q *uploads) remove(id string) error {
	if err := os.Remove(q.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("daemon: remove the upload entry of %s: %w", id, err)
	}
	return nil
}

// list reads every entry, oldest log first.
func (q *uploads) list() ([]upload, error) {
	des, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("daemon: read the upload queue: %w", err)
	}
	var out []upload
	for _, de := range des {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || strings.HasPrefix(de.Name(), ".") || !runner.ValidID(id) {
			continue
		}
		b, err := os.ReadFile(q.path(id))
		if err != nil {
			continue // gone meanwhile
		}
		var e upload
		if json.Unmarshal(b, &e) != nil || e.Execution != id {
			// Written atomically, so only a foreign file: left alone.
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// uploader sends the ready logs of the queue until ctx ends: at once when
// woken (a log was queued, the broker connection came back), else after a
// pause that doubles from uploadRetryFirst to uploadRetryMost (with
// jitter) while passes fail.
func (d *Daemon) uploader(ctx context.Context) {
	wait := uploadRetryFirst
	var warned time.Time
	for {
		err := d.uploadAll(ctx)
		var retry <-chan time.Time
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			pause := jitter(wait)
			log := d.log.Debug
			if now := time.Now(); now.Sub(warned) >= uploadWarnEvery {
				log, warned = d.log.Warn, now
			}
			log("cannot upload a log yet; retrying", "in", pause.Round(time.Millisecond), "err", err)
			retry = time.After(pause)
			wait = min(2*wait, uploadRetryMost)
		} else {
			wait = uploadRetryFirst
		}
		select {
		case <-ctx.Done():
			return
		case <-d.logs.queue.wake:
		case <-retry:
		}
	}
}

// jitter is d give or take a quarter.
func jitter(d time.Duration) time.Duration {
	return d - d/4 + rand.N(d/2+1)
}

// uploadAll tries every ready log once; the error is the first failure
// to retry.
func (d *Daemon) uploadAll(ctx context.Context) error {
	q := d.logs.queue
	entries, err := q.list()
	if err != nil {
		return err
	}
	var first error
	for _, e := range entries {
		if e.State == "" {
			continue // being written
		}
		err := d.uploadOne(ctx, e)
		switch code := runlet.ErrorCode(err); {
		case err == nil:
		case code == runlet.ENOTFOUND || code == runlet.EFORBIDDEN || errors.Is(err, errUnsendable):
			d.log.Error("dropping the upload of a log the server will never take; it stays on this device", "execution", e.Execution, "err", err)
		default:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if first == nil {
				first = fmt.Errorf("log of %s: %w", e.Execution, err)
			}
			if code == runlet.EUNAVAILABLE {
				return first // the server is away: the others wait too
			}
			continue
		}
		if err := q.remove(e.Execution); err != nil {
			d.log.Error("cannot remove an upload from the queue; it is checked again", "execution", e.Execution, "err", err)
		}
	}
	return first
}

// errUnsendable: a queued log that cannot be sent (gone, damaged).
var errUnsendable = errors.New("the log cannot be sent")

// uploadOne sends e's log, unless the server has it with the same
// sha256 already; it returns nil once the server confirmed it.
func (d *Daemon) uploadOne(ctx context.Context, e upload) error {
	path, err := d.cfg.Home.CastPath(e.Execution)
	if err != nil {
		return fmt.Errorf("%w: %w", errUnsendable, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is gone", errUnsendable, path)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	lg, err := castlog.ScanFile(path)
	if err != nil || !lg.Complete {
		return fmt.Errorf("%w: %s is damaged or incomplete: %v", errUnsendable, path, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))

	c := d.api()
	sctx, cancel := context.WithTimeout(ctx, uploadStatWait)
	remote, _, err := c.StatLog(sctx, e.Execution, d.device)
	cancel()
	if err != nil {
		return err
	}
	// R-LOG-3, the rule the CLI reads by: the device's copy is the local
	// one. The server's copy stays when it is this one, or a different
	// and newer one (which the rule would have this device download, not
	// overwrite); an absent, older or different-and-older remote copy is
	// replaced by this one.
	local := runlet.LogCopy{Present: true, SHA256: sum, Modified: fi.ModTime()}
	switch {
	case remote.Present && remote.SHA256 == sum:
		d.log.Info("log already uploaded", "execution", e.Execution, "sha256", sum)
		return nil
	case runlet.ChooseLogCopy(local, remote) == runlet.Download:
		d.log.Warn("the server holds a different, newer copy of a log; keeping it, not uploading this one",
			"execution", e.Execution, "local", local.String(), "remote", remote.String())
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	obj, err := c.UploadLog(ctx, e.Execution, d.device, f, fi.Size(), api.LogUpload{
		SHA256: sum, Modified: fi.ModTime(), State: e.State, Generation: e.Generation, Segments: len(lg.Segments),
	})
	if err != nil {
		return err
	}
	if obj.SHA256 != sum {
		return fmt.Errorf("the server stored sha256 %q for the log, not %q", obj.SHA256, sum)
	}
	d.log.Info("log uploaded", "execution", e.Execution, "bytes", fi.Size(), "segments", len(lg.Segments), "state", e.State)
	return nil
}

// sweeper applies the local retention once at start, then every
// sweepEvery, until ctx ends.
func (d *Daemon) sweeper(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		d.sweepLogs()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepLogs removes the encrypted logs older than the workspace's
// retention whose upload the server confirmed (R-LOG-2): no queue entry,
// no live run.
func (d *Daemon) sweepLogs() {
	keep := d.logs.keys.current().retention()
	now := d.cfg.Now()
	for _, id := range d.logs.castIDs() {
		if d.logs.queue.has(id) || d.runner.Get(id) != nil {
			continue
		}
		path, err := d.cfg.Home.CastPath(id)
		if err != nil {
			continue
		}
		fi, err := os.Stat(path)
		if err != nil || now.Sub(fi.ModTime()) <= keep {
			continue
		}
		if err := os.Remove(path); err != nil {
			d.log.Error("cannot remove a log past its retention", "execution", id, "err", err)
			continue
		}
		d.log.Info("removed a log past its retention", "execution", id, "modified", fi.ModTime())
	}
}
