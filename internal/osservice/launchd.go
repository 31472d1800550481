package osservice

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Launchd manages launchd jobs: a LaunchDaemon in the system domain
// (/Library/LaunchDaemons, started at boot) or, with User, a LaunchAgent in
// the user's GUI domain (~/Library/LaunchAgents, started at login). The
// output goes to NAME.log in /Library/Logs/Runlet or ~/Library/Logs/Runlet.
type Launchd struct {
	// User picks the user's LaunchAgents and their gui/UID domain.
	User bool
	// Home is the user's home directory, for User jobs.
	Home string
	// UID is the user's id, for the gui/UID domain.
	UID int
	// Root prefixes every file written or read ("" is /).
	Root string
	// Run runs launchctl.
	Run Runner
	// Wait is how long Install waits for a replaced job to be gone
	// (default 10s): launchctl bootout returns before it is.
	Wait time.Duration
}

var _ Manager = (*Launchd)(nil)

// Label is the launchd label of service name: runlet-daemon is
// io.github.runlet.daemon.
func Label(name string) string {
	return "io.github.runlet." + strings.TrimPrefix(name, "runlet-")
}

// PlistPath is where the job of service name is defined.
func (l *Launchd) PlistPath(name string) string {
	if l.User {
		return filepath.Join(l.Home, "Library", "LaunchAgents", Label(name)+".plist")
	}
	return filepath.Join("/Library/LaunchDaemons", Label(name)+".plist")
}

// LogPath is the file the job's output goes to.
func (l *Launchd) LogPath(name string) string {
	if l.User {
		return filepath.Join(l.Home, "Library", "Logs", "Runlet", name+".log")
	}
	return filepath.Join("/Library/Logs/Runlet", name+".log")
}

func (l *Launchd) domain() string {
	if l.User {
		return "gui/" + strconv.Itoa(l.UID)
	}
	return "system"
}

func (l *Launchd) target(name string) string { return l.domain() + "/" + Label(name) }

func (l *Launchd) launchctl(ctx context.Context, args ...string) ([]byte, error) {
	return l.Run(ctx, "launchctl", args...)
}

// loaded reports whether launchd has the job, and what it says of it.
func (l *Launchd) loaded(ctx context.Context, name string) (bool, string) {
	out, err := l.launchctl(ctx, "print", l.target(name))
	return err == nil, string(out)
}

// Install writes the plist (0644, or 0600 when it holds secrets), replaces
// a loaded job of that name and bootstraps the new one, which starts it
// (RunAtLoad).
func (l *Launchd) Install(ctx context.Context, sp Spec) (Installed, error) {
	if err := sp.check(); err != nil {
		return Installed{}, err
	}
	if l.User {
		sp.User = ""
	}
	in := Installed{Path: l.PlistPath(sp.Name), Logs: "tail -f " + l.LogPath(sp.Name)}
	if err := makeDir(under(l.Root, sp.Dir), sp.User); err != nil {
		return Installed{}, err
	}
	if err := l.makeLog(sp.Name, sp.User); err != nil {
		return Installed{}, err
	}
	mode := os.FileMode(0o644)
	if len(sp.Secrets) > 0 {
		mode = 0o600
	}
	if err := writeFile(under(l.Root, in.Path), launchdPlist(sp, l.LogPath(sp.Name), l.User), mode, 0o755); err != nil {
		return Installed{}, err
	}
	if err := l.unload(ctx, sp.Name); err != nil {
		return Installed{}, err
	}
	// A job once disabled (launchctl disable) refuses to bootstrap.
	if _, err := l.launchctl(ctx, "enable", l.target(sp.Name)); err != nil {
		return Installed{}, err
	}
	if _, err := l.launchctl(ctx, "bootstrap", l.domain(), in.Path); err != nil {
		return Installed{}, fmt.Errorf("the job is written to %s, but launchd did not take it: %w", in.Path, err)
	}
	if l.User {
		in.Note = "a LaunchAgent runs while you are logged in to this Mac; on a Mac nobody logs in to, install the system's LaunchDaemon instead (sudo, without --user)"
	}
	return in, nil
}

// makeLog creates the log file for the job's user: launchd opens it for
// the job, which must be able to write it.
func (l *Launchd) makeLog(name, user string) error {
	p := under(l.Root, l.LogPath(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return writeErr(p, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return writeErr(p, err)
	}
	if err := f.Close(); err != nil {
		return writeErr(p, err)
	}
	return chown(p, user)
}

// unload boots the job out when launchd has it, and waits until it is
// gone: a bootstrap right after a bootout can fail while the old one ends.
func (l *Launchd) unload(ctx context.Context, name string) error {
	if ok, _ := l.loaded(ctx, name); !ok {
		return nil
	}
	if _, err := l.launchctl(ctx, "bootout", l.target(name)); err != nil {
		return err
	}
	wait := l.Wait
	if wait == 0 {
		wait = 10 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		if ok, _ := l.loaded(ctx, name); !ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("launchd still has %s %s after bootout", l.target(name), wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Uninstall boots the job out and removes its plist; the log stays.
func (l *Launchd) Uninstall(ctx context.Context, name string) error {
	if err := l.installed(name); err != nil {
		return err
	}
	if err := l.unload(ctx, name); err != nil {
		return err
	}
	return removeFile(under(l.Root, l.PlistPath(name)))
}

// Start loads the job if launchd does not have it (which starts it), else
// kickstarts it.
func (l *Launchd) Start(ctx context.Context, name string) error {
	if err := l.installed(name); err != nil {
		return err
	}
	if ok, _ := l.loaded(ctx, name); !ok {
		_, err := l.launchctl(ctx, "bootstrap", l.domain(), l.PlistPath(name))
		return err
	}
	_, err := l.launchctl(ctx, "kickstart", l.target(name))
	return err
}

// Stop boots the job out, which stops it for good (KeepAlive would bring
// back a killed one); the plist stays, so it starts at the next boot (or
// login).
func (l *Launchd) Stop(ctx context.Context, name string) error {
	if err := l.installed(name); err != nil {
		return err
	}
	return l.unload(ctx, name)
}

// Status says whether the job is installed and running, with the lines of
// launchctl print that say so.
func (l *Launchd) Status(ctx context.Context, name string) (Status, error) {
	if err := checkName(name); err != nil {
		return Status{}, err
	}
	st := Status{Path: l.PlistPath(name), Logs: "tail -f " + l.LogPath(name)}
	if !exists(under(l.Root, st.Path)) {
		return Status{Logs: st.Logs}, nil
	}
	st.Installed = true
	ok, out := l.loaded(ctx, name)
	if !ok {
		st.Detail = "not loaded: launchd does not have " + l.target(name)
		return st, nil
	}
	var lines []string
	for line := range strings.SplitSeq(out, "\n") {
		t := strings.TrimSpace(line)
		for _, k := range []string{"state = ", "pid = ", "runs = ", "last exit code = "} {
			if strings.HasPrefix(t, k) {
				lines = append(lines, t)
				if t == "state = running" {
					st.Running = true
				}
			}
		}
	}
	st.Detail = strings.Join(lines, "\n")
	return st, nil
}

func (l *Launchd) installed(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if p := l.PlistPath(name); !exists(under(l.Root, p)) {
		return notInstalled(name, p)
	}
	return nil
}

// launchdPlist renders the job: started at load, started again
// RestartDelay after it exits with a failure or crashes (an ExitNoRestart
// too: launchd cannot tell them apart), its output appended to logPath.
func launchdPlist(sp Spec, logPath string, agent bool) []byte {
	var b bytes.Buffer
	indent := "\t"
	line := func(s string) { b.WriteString(indent + s + "\n") }
	str := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return "<string>" + e.String() + "</string>"
	}
	key := func(k string) { line("<key>" + k + "</key>") }
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- Installed by runlet: the next install rewrites this file, uninstall removes it. -->
<plist version="1.0">
<dict>
`)
	key("Label")
	line(str(Label(sp.Name)))
	key("ProgramArguments")
	line("<array>")
	for _, a := range append([]string{sp.Program}, sp.Args...) {
		line("\t" + str(a))
	}
	line("</array>")
	if sp.Dir != "" {
		key("WorkingDirectory")
		line(str(sp.Dir))
	}
	if sp.User != "" && !agent {
		key("UserName")
		line(str(sp.User))
	}
	env := maps.Clone(sp.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, sp.Secrets)
	if len(env) > 0 {
		key("EnvironmentVariables")
		line("<dict>")
		indent = "\t\t"
		for _, k := range slices.Sorted(maps.Keys(env)) {
			key(k)
			line(str(env[k]))
		}
		indent = "\t"
		line("</dict>")
	}
	key("RunAtLoad")
	line("<true/>")
	key("KeepAlive")
	line("<dict>")
	line("\t<key>SuccessfulExit</key>")
	line("\t<false/>")
	line("\t<key>Crashed</key>")
	line("\t<true/>")
	line("</dict>")
	key("ThrottleInterval")
	line(fmt.Sprintf("<integer>%d</integer>", int(RestartDelay.Seconds())))
	key("StandardOutPath")
	line(str(logPath))
	key("StandardErrorPath")
	line(str(logPath))
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes()
}
