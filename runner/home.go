package runner

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
)

// HomeDir is where a job without a cwd runs (Config.DefaultCwd): the home
// directory of the user the runner runs as, as `ssh host cmd` runs there.
// It is $HOME (%USERPROFILE% on Windows) when that names a directory, else
// the user's home in the system's user database (/etc/passwd) when that is
// one, else the root of the file system ("/", or the system drive's root
// on Windows), where sshd puts a user whose home is missing.
func HomeDir() string {
	return homeDir(os.UserHomeDir, userHome, isDir)
}

// userHome is the user's home in the system's user database.
func userHome() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}

// homeDir is HomeDir with its sources given, for tests.
func homeDir(env, db func() (string, error), isDir func(string) bool) string {
	for _, from := range []func() (string, error){env, db} {
		if dir, err := from(); err == nil && filepath.IsAbs(dir) && isDir(dir) {
			return dir
		}
	}
	return rootDir()
}

// rootDir is the root of the file system the system runs from.
func rootDir() string {
	if runtime.GOOS == "windows" {
		if d := os.Getenv("SystemDrive"); d != "" {
			return d + `\`
		}
		return `C:\`
	}
	return "/"
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// defaultCwd is where a job without a cwd runs: Config.DefaultCwd, else
// HomeDir, read at each start so that a home created since counts.
func (r *Runner) defaultCwd() string {
	if r.cfg.DefaultCwd != "" {
		return r.cfg.DefaultCwd
	}
	return HomeDir()
}
