package assemble

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	busconnect "github.com/runlet/runlet/bus/connect"
	"github.com/runlet/runlet/internal/lockfile"
	"github.com/runlet/runlet/internal/redact"
	"github.com/runlet/runlet/store"
	storeconnect "github.com/runlet/runlet/store/connect"
)

// What a server that cannot start says: one sentence naming what failed,
// why, and the setting to check (the flag and its variable), instead of
// a chain of wrapped errors or a panic. The failures a person meets are
// the data directory, the database, the addresses to listen on, and the
// broker; each has its function here.

// LockFile is the file in the data directory that the running server holds
// locked (internal/lockfile), with its process id in it.
const LockFile = "server.lock"

// DefaultBrokerTimeout is Config.BrokerTimeout when zero.
const DefaultBrokerTimeout = 30 * time.Second

// failure is a start-up failure: its sentence, with code, first in the
// chain (where the CLI finds it), then cause for the log.
func failure(code string, cause error, format string, args ...any) error {
	e := runlet.Errorf(code, format, args...)
	if cause == nil {
		return e
	}
	return fmt.Errorf("%w: %w", e, cause)
}

// lockDataDir creates the data directory and locks it, so that a second
// server on it fails before it opens anything (its database, the broker's
// store): two would share them.
func lockDataDir(dir string) (*lockfile.Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, failure(runlet.EUNAVAILABLE, err, "cannot create the data directory %s (--data, RUNLET_DATA): %v", dir, err)
	}
	l, err := lockfile.Acquire(filepath.Join(dir, LockFile))
	var held *lockfile.HeldError
	if errors.As(err, &held) {
		return nil, failure(runlet.ECONFLICT, err, "the data directory %s is in use by another runlet server (%s): stop that one, or give this one another --data", dir, held.Holder())
	}
	if err != nil {
		return nil, failure(runlet.EUNAVAILABLE, err, "cannot lock the data directory %s (--data, RUNLET_DATA): %v; it must be a directory this user can write to", dir, err)
	}
	return l, nil
}

// openStore opens the database, saying which and why it failed. The
// dialects explain their own failures (runlet.ErrorMessage); anything
// else is shown as it is.
func openStore(ctx context.Context, url string, opts store.Options) (store.Store, error) {
	s, err := storeconnect.Open(ctx, url, opts)
	if err == nil {
		return s, nil
	}
	why := runlet.ErrorMessage(err)
	code := runlet.ErrorCode(err)
	if code == runlet.EINTERNAL {
		why, code = err.Error(), runlet.EUNAVAILABLE
	}
	return nil, failure(code, err, "cannot open the database %s (--db, RUNLET_DB): %s", redact.URL(url), why)
}

// listenError says why the address addr, set with flag, cannot be
// listened on; other errors pass unchanged.
func listenError(addr, flag string, err error) error {
	var op *net.OpError
	switch {
	case addrInUse(err):
		return failure(runlet.EUNAVAILABLE, err, "the address %s (%s) is in use by another process, another runlet server perhaps: stop it, or choose another address with %s", addr, flag, flagName(flag))
	case errors.As(err, &op) && op.Op == "listen":
		return failure(runlet.EUNAVAILABLE, err, "cannot listen on %s (%s): %v", addr, flag, op.Err)
	}
	return err
}

// flagName is the flag in "--flag, VARIABLE".
func flagName(setting string) string {
	flag, _, _ := strings.Cut(setting, ",")
	return flag
}

// wsaeaddrinuse is Windows' "address already in use" (WSAEADDRINUSE),
// which is not syscall.EADDRINUSE there.
const wsaeaddrinuse = 10048

func addrInUse(err error) bool {
	var errno syscall.Errno
	return errors.Is(err, syscall.EADDRINUSE) || errors.As(err, &errno) && errno == wsaeaddrinuse
}

// dialBroker connects to an external broker, waiting for it at most
// timeout: a broker still starting is waited for, saying so once in the
// log ("waiting for the broker at URL"), and one that never answers ends
// the start with the reason. What waiting cannot mend (credentials
// refused, a certificate not trusted, an unknown scheme) fails at once.
func dialBroker(ctx context.Context, url string, timeout time.Duration, opts bus.Options, log *slog.Logger) (bus.Bus, error) {
	where := redact.URL(url)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var once sync.Once
	waiting := func() {
		once.Do(func() { log.Warn(fmt.Sprintf("waiting for the broker at %s (giving up after %s)", where, timeout)) })
	}
	// An adapter may keep trying inside Open (NATS): say so if it takes
	// more than a moment.
	notice := time.AfterFunc(min(time.Second, timeout/2), waiting)
	defer notice.Stop()
	pause := 100 * time.Millisecond
	for {
		b, err := busconnect.Open(dctx, url, opts)
		if err == nil {
			return b, nil
		}
		if !worthWaiting(err) || dctx.Err() != nil {
			return nil, brokerError(ctx, dctx.Err() != nil, where, timeout, err)
		}
		waiting()
		select {
		case <-dctx.Done():
			return nil, brokerError(ctx, true, where, timeout, err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// worthWaiting reports whether a failed connection may succeed later: the
// broker did not answer, or hung up.
func worthWaiting(err error) bool {
	if errors.Is(err, bus.ErrAuth) || errors.Is(err, bus.ErrForbidden) || errors.Is(err, bus.ErrScheme) || certError(err) != nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// certError is the failed check of a certificate in err's chain, or nil.
func certError(err error) *tls.CertificateVerificationError {
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

// brokerError says why the server could not connect to the broker at
// where: timedOut when it waited for it in vain. ctx is the start's own,
// whose end is an interruption, not the broker's fault.
func brokerError(ctx context.Context, timedOut bool, where string, timeout time.Duration, err error) error {
	const setting = "--broker, RUNLET_BROKER"
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("stopped while connecting to the broker at %s: %w", where, ctx.Err())
	case errors.Is(err, bus.ErrAuth):
		return failure(runlet.EUNAUTHORIZED, err, "the broker at %s (%s) refused the server's credentials: check the user and the password in the URL", where, setting)
	case errors.Is(err, bus.ErrScheme):
		return failure(runlet.EINVALID, err, "the broker URL %s (%s) is not one runlet knows: use nats://, tls://, amqp:// or amqps://", where, setting)
	case errors.Is(err, bus.ErrForbidden):
		return failure(runlet.EFORBIDDEN, err, "the broker at %s (%s) does not let the server in: check that the vhost in the URL exists and that the user may use it", where, setting)
	case certError(err) != nil:
		return failure(runlet.EUNAVAILABLE, err, "the broker at %s (%s) has a certificate this machine does not trust (%v): give it one from an authority the system trusts, or add its authority (SSL_CERT_FILE)", where, setting, certError(err).Err)
	case timedOut:
		why := ""
		if op := (*net.OpError)(nil); errors.As(err, &op) {
			why = fmt.Sprintf(" (%v)", op.Err)
		}
		return failure(runlet.EUNAVAILABLE, err, "the broker at %s (%s) did not answer within %s%s: check that it runs and that this machine can reach it, or wait longer with --broker-timeout", where, setting, timeout, why)
	}
	return failure(runlet.EUNAVAILABLE, err, "cannot connect to the broker at %s (%s): %v", where, setting, err)
}
