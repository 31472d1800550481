// Package sshd runs the machine's OpenSSH server on loopback for the SSH
// baselines of the benchmarks: a spare port, a throwaway host key and user
// key in a temporary directory, key authentication only, as the user
// running the benchmark.
package sshd

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet/internal/testenv"
)

// Binary is where Debian's openssh-server installs the daemon.
const Binary = "/usr/sbin/sshd"

// Server is an sshd listening on 127.0.0.1:Port until Close.
type Server struct {
	Port int
	Dir  string // host key, user key, config, pid file
	Key  string // the user's private key
	User string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

// Available says why sshd or the ssh client cannot run here, or nil.
func Available() error {
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("no OpenSSH server at %s (Debian package openssh-server): %w", Binary, err)
	}
	for _, p := range []string{"ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("no %s (Debian package openssh-client): %w", p, err)
		}
	}
	return nil
}

// Start starts sshd and waits until it accepts connections.
func Start(ctx context.Context) (s *Server, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "runlet-bench-sshd-")
	if err != nil {
		return nil, err
	}
	s = &Server{Dir: dir, Key: filepath.Join(dir, "id_user"), stderr: &lockedBuffer{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.User = os.Getenv("USER"); s.User == "" {
		s.User = "root"
	}
	for _, key := range []string{"host_key", "id_user"} {
		out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, key)).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("ssh-keygen: %w\n%s", err, out)
		}
	}
	pub, err := os.ReadFile(s.Key + ".pub")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600); err != nil {
		return nil, err
	}
	// sshd refuses to start without its privilege separation directory,
	// which the Debian service creates at boot and a container lacks.
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("create sshd's privilege separation directory: %w", err)
		}
	}
	if s.Port, err = sparePort(); err != nil {
		return nil, err
	}
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(s.config()), 0o600); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(Binary, "-D", "-e", "-f", config)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	return s, s.waitListening(ctx)
}

// config is sshd_config. SetEnv SHLVL=1 makes the user's bash (which sshd
// runs the command with) skip ~/.bashrc, which bash otherwise sources for
// a command run by sshd: on this machine it runs pyenv and costs seconds,
// which is not what the baseline measures.
func (s *Server) config() string {
	return fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
AuthorizedKeysFile %s
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 1000
MaxSessions 1000
SetEnv SHLVL=1
LogLevel ERROR
`, s.Port, filepath.Join(s.Dir, "host_key"), filepath.Join(s.Dir, "sshd.pid"), filepath.Join(s.Dir, "authorized_keys"))
}

// waitListening polls the port until sshd accepts a connection.
func (s *Server) waitListening(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			return c.Close()
		}
		select {
		case err := <-s.done:
			return fmt.Errorf("sshd exited: %v\n%s", err, s.stderr.String())
		case <-ctx.Done():
			return fmt.Errorf("sshd does not listen on %s: %w\n%s", addr, ctx.Err(), s.stderr.String())
		case <-tick.C:
		}
	}
}

// Args are the ssh client's arguments to reach this server, with extra
// options before the destination; the remote command goes after them.
func (s *Server) Args(extra ...string) []string {
	args := []string{
		"-F", "/dev/null", // no user or system client configuration
		"-p", strconv.Itoa(s.Port), "-i", s.Key,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
	}
	args = append(args, extra...)
	return append(args, s.User+"@127.0.0.1")
}

// Close stops sshd and removes its directory. Sessions still open end
// with it.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = os.RemoveAll(s.Dir)
}

// Version is the ssh client's OpenSSH version, as in "OpenSSH_9.2p1".
type Version struct {
	Major, Minor int
	Raw          string
}

// AtLeast says whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

var versionRE = regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)\S*`)

// ClientVersion runs ssh -V.
func ClientVersion() (Version, error) {
	out, err := exec.Command("ssh", "-V").CombinedOutput()
	if err != nil {
		return Version{}, fmt.Errorf("ssh -V: %w", err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return Version{}, fmt.Errorf("ssh -V says %q, which names no OpenSSH version", strings.TrimSpace(string(out)))
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{Major: major, Minor: minor, Raw: m[0]}, nil
}

// sparePort asks the kernel for a free loopback port. Another process may
// take it before sshd binds it; Start then fails with sshd's message.
func sparePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects sshd's log for error messages: a testenv.Buffer
// that stops keeping what comes after its first 64 KiB.
type lockedBuffer struct{ testenv.Buffer }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	if b.Len() > 64<<10 { // sshd is the only writer: the length only grows
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
