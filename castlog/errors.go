package castlog

import "errors"

var (
	errNoIdentity      = errors.New("no identity opens this log: it is encrypted to another log key")
	errWrongPassphrase = errors.New("wrong passphrase: it does not open the log key")
)
