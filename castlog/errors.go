package castlog

import (
	"errors"

	"github.com/runlet/runlet"
)

var (
	errNoIdentity = errors.New("no identity opens this log: it is encrypted to another log key")
	// errWrongPassphrase is an application error (EFORBIDDEN) so that the
	// CLI and the HTTP layer can map it without knowing this package.
	errWrongPassphrase error = runlet.Errorf(runlet.EFORBIDDEN, "wrong passphrase: it does not open the log key")
)

// damaged is the EINVALID error for damage found in a log.
func damaged(format string, args ...any) error {
	return runlet.Errorf(runlet.EINVALID, format, args...)
}
