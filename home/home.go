// Package home is a device's own directory (--home, RUNLET_HOME, default
// ~/.runlet): the credentials it received at sign-in, its execution logs and
// the state its daemon keeps across restarts. Several homes on one machine
// are several devices.
package home

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/runlet/runlet"
)

// Credentials are what a device receives when it signs in.
type Credentials struct {
	// Server is the API's base URL ("http://127.0.0.1:8080").
	Server string `json:"server"`
	// Workspace is the workspace's id, the scope of every bus call.
	Workspace     string `json:"workspace"`
	WorkspaceName string `json:"workspaceName"`
	// Device is this device's name (unique in its workspace); DeviceID its id.
	Device   string `json:"device"`
	DeviceID string `json:"deviceId"`
	// Token is the bearer token for the API.
	Token string `json:"token"`
	// Broker is the broker URL without credentials; BrokerUser and
	// BrokerPassword are this device's own, scoped to its workspace.
	Broker         string `json:"broker"`
	BrokerUser     string `json:"brokerUser"`
	BrokerPassword string `json:"brokerPassword"`
	// ServerFingerprint is the fingerprint of the server's certificate
	// (tlspin) that this device confirmed at sign-in because no authority
	// it trusts vouches for it; "" when none was needed. The API and the
	// embedded broker must present that certificate (or one an authority
	// vouches for) ever after. The CLI sets it, never the server.
	ServerFingerprint string `json:"serverFingerprint,omitempty"`
}

// Dir is a device's home directory.
type Dir string

const credentialsFile = "credentials.json"

// Default is the home when neither --home nor RUNLET_HOME names one:
// ~/.runlet, or "" when the user's home directory is not known.
func Default() Dir {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return Dir(filepath.Join(h, ".runlet"))
}

// Path joins elem to the home directory.
func (d Dir) Path(elem ...string) string {
	return filepath.Join(append([]string{string(d)}, elem...)...)
}

// LogDir is where execution logs go.
func (d Dir) LogDir() string { return d.Path("logs") }

// LogPath is the output log of execution exec in this home: LogFile in
// LogDir.
func (d Dir) LogPath(exec string) (string, error) { return LogFile(d.LogDir(), exec) }

// LogFile is the output log of execution exec in the log directory dir:
// dir/<exec>.log, the one place that says so. Execution ids come from the
// bus (dispatches, replay requests), so an id that would name a file
// anywhere else ("../x", "a/b", "C:x", "") is refused with EINVALID.
func LogFile(dir, exec string) (string, error) {
	name := exec + ".log"
	if exec == "" || strings.ContainsAny(exec, `/\:`+"\x00") || !filepath.IsLocal(name) {
		return "", runlet.Errorf(runlet.EINVALID, "execution id %q cannot name a log file: use one file name, without '/', '\\' or ':'", exec)
	}
	return filepath.Join(dir, name), nil
}

// CastFile is the encrypted log (package castlog) of execution exec in
// the log directory dir: dir/<exec>.rcast, beside its plaintext frame log
// while the run is live. The daemon writes it; the CLI reads it as the
// local copy (R-LOG-3) when the run was on this device. EINVALID as for
// LogFile.
func CastFile(dir, exec string) (string, error) {
	p, err := LogFile(dir, exec)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, ".log") + ".rcast", nil
}

// CastPath is CastFile in LogDir.
func (d Dir) CastPath(exec string) (string, error) { return CastFile(d.LogDir(), exec) }

// FetchedCastPath is where the CLI keeps its local copy of the encrypted
// log of execution exec on another device (by the device's name):
// logs/fetched/<device>/<exec>.rcast. EINVALID for a name or id that
// cannot name a file.
func (d Dir) FetchedCastPath(device, exec string) (string, error) {
	if _, err := LogFile("", device); err != nil {
		return "", runlet.Errorf(runlet.EINVALID, "device name %q cannot name a directory", device)
	}
	return CastFile(filepath.Join(d.LogDir(), "fetched", device), exec)
}

// IdentityFile is where `runlet keys unlock --save` keeps the workspace's
// unsealed log identities on this device (mode 0600), so that reading
// logs asks for no passphrase.
func (d Dir) IdentityFile() string { return d.Path("keys", "log-identities.txt") }

// UploadDir is where the daemon queues the uploads of finished logs, one
// file per log, until the server confirmed each.
func (d Dir) UploadDir() string { return d.Path("state", "uploads") }

// StateDir is where the daemon keeps what must survive a restart.
func (d Dir) StateDir() string { return d.Path("state") }

// LockFile is the file a running daemon holds locked, with its process id
// in it, so that a second daemon on this home is refused.
func (d Dir) LockFile() string { return d.Path("daemon.lock") }

// Credentials reads the credentials, or returns an EUNAUTHORIZED error
// telling the person to sign in.
func (d Dir) Credentials() (*Credentials, error) {
	b, err := os.ReadFile(d.Path(credentialsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, runlet.Errorf(runlet.EUNAUTHORIZED, "this device is not signed in (no %s); run 'runlet @signin --server URL'", d.Path(credentialsFile))
	}
	if err != nil {
		return nil, fmt.Errorf("read credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read credentials %s: %w (sign in again to replace the file)", d.Path(credentialsFile), err)
	}
	return &c, nil
}

// SaveCredentials writes c with mode 0600, atomically, creating the home
// directory (0700) if needed.
func (d Dir) SaveCredentials(c *Credentials) error {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return fmt.Errorf("create home %s: %w", d, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(string(d), credentialsFile+".*")
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp.Name(), d.Path(credentialsFile)); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// ForgetCredentials removes the credentials; forgetting twice is fine.
func (d Dir) ForgetCredentials() error {
	err := os.Remove(d.Path(credentialsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget credentials: %w", err)
	}
	return nil
}
