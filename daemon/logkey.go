package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/castlog"
)

// The workspace's active log key (R-LOG-1): the recipient a device
// encrypts new logs to, asked of the server at start and before a run, at
// most every logKeyMaxAge, and kept in the state directory so that a
// device that cannot reach the server still encrypts to the last key it
// knew. A workspace with no key yet: logs stay plaintext and are not
// uploaded, as before issue 15.

const (
	// logKeyMaxAge is how long an answer of the server stands before it
	// is asked again.
	logKeyMaxAge = 30 * time.Second
	// logKeyWait bounds one question.
	logKeyWait = 10 * time.Second
)

// logKey is the active key as the daemon knows it.
type logKey struct {
	Generation int64           `json:"generation"`
	Recipient  string          `json:"recipient,omitempty"`
	Retention  runlet.Duration `json:"retention"`
}

// encrypts reports whether logs are to be encrypted (and uploaded).
func (k logKey) encrypts() bool { return k.Generation > 0 && k.Recipient != "" }

// retention is how long local copies of uploaded logs are kept.
func (k logKey) retention() time.Duration {
	return runlet.LogSettings{Retention: k.Retention}.RetentionOrDefault()
}

// logKeys caches the active key.
type logKeys struct {
	path  string // the cached answer, in the state directory
	ask   func(context.Context) (api.ActiveLogKey, error)
	now   func() time.Time
	log   *slog.Logger
	asker sync.Mutex // one question at a time

	mu    sync.Mutex
	cur   logKey
	asked time.Time // the last question, answered or not
}

// load reads the answer an earlier daemon kept; none is no key.
func (k *logKeys) load() {
	b, err := os.ReadFile(k.path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var c logKey
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		k.log.Warn("ignoring the cached log key; the server is asked again", "path", k.path, "err", err)
		return
	}
	k.mu.Lock()
	k.cur = c
	k.mu.Unlock()
}

// current is the key to encrypt a new log to, without asking the server.
func (k *logKeys) current() logKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cur
}

// refresh asks the server for the active key unless it was asked less
// than logKeyMaxAge ago, and returns the key to use. When the server
// cannot answer, the last known key stands.
func (k *logKeys) refresh(ctx context.Context) logKey {
	k.asker.Lock()
	defer k.asker.Unlock()
	k.mu.Lock()
	fresh := !k.asked.IsZero() && k.now().Sub(k.asked) < logKeyMaxAge
	cur := k.cur
	k.mu.Unlock()
	if fresh {
		return cur
	}
	ctx, cancel := context.WithTimeout(ctx, logKeyWait)
	a, err := k.ask(ctx)
	cancel()
	if ctx.Err() != nil && err != nil {
		return cur // the daemon stops: nothing learnt
	}
	k.mu.Lock()
	k.asked = k.now()
	k.mu.Unlock()
	var next logKey
	switch code := runlet.ErrorCode(err); {
	case err == nil:
		next = logKey{Generation: a.Generation, Recipient: a.Recipient, Retention: a.Retention}
		if next.Generation > 0 {
			if _, perr := castlog.ParseRecipient(a.Recipient); perr != nil {
				k.log.Error("the server's active log key is not a recipient; keeping the last known one", "generation", a.Generation, "err", perr)
				return cur
			}
		}
	case code == runlet.ENOTFOUND:
		// A server from before issue 15: no log keys at all.
		next = logKey{}
	default:
		if cur.encrypts() {
			k.log.Debug("cannot ask the server for the active log key; encrypting to the last known one", "generation", cur.Generation, "err", err)
		} else {
			k.log.Debug("cannot ask the server for the active log key", "err", err)
		}
		return cur
	}
	if next == cur {
		return cur
	}
	if err := k.save(next); err != nil {
		k.log.Warn("cannot keep the active log key for offline use", "err", err)
	}
	k.mu.Lock()
	k.cur = next
	k.mu.Unlock()
	if next.Generation != cur.Generation {
		k.log.Info("log key", "generation", next.Generation)
	}
	return next
}

func (k *logKeys) save(c logKey) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return writeFileSync(k.path, b)
}
