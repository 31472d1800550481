//go:build unix

package osservice

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Owner is the name of the account that owns path: the account a system
// service for a home or a data directory runs as, unless told otherwise.
// It is "" for root, whose services need no account named.
func Owner(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return "", nil
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return "", fmt.Errorf("who owns %s: %w", path, err)
	}
	return u.Username, nil
}

// chown gives path to account when this process may (root) and account is
// named; a service run as that account must write there.
func chown(path, account string) error {
	if account == "" || os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(account)
	if err != nil {
		return fmt.Errorf("give %s to %s: %w", path, account, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give %s to %s: %w", path, account, err)
	}
	return nil
}
