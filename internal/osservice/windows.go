package osservice

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// windowsService is what the Windows installer hands the service control
// manager for a Spec; String renders it for the golden files, so what is
// tested is what is installed.
type windowsService struct {
	Name        string
	DisplayName string
	Description string
	// Command is the service's command line (BinaryPathName), quoted as
	// the SCM's CreateService quotes it (syscall.EscapeArg).
	Command string
	// Account is the account it runs as; "" is LocalSystem.
	Account string
	// Start automatic, delayed: after the network is up.
	DelayedAutoStart bool
	// Restarts are the recovery actions' delays, for the first, second and
	// later failures; ResetPeriod forgets the failures.
	Restarts    []time.Duration
	ResetPeriod time.Duration
	// Environment is the service's own (KEY=VALUE, sorted), in the
	// Environment value of its registry key, which the SCM hands the
	// process; Protected closes that key to all but SYSTEM and
	// Administrators, for secrets.
	Environment []string
	Protected   bool
	// EventSource is the event-log source (Application log) its output
	// goes to.
	EventSource string
}

func windowsDefinition(sp Spec) windowsService {
	w := windowsService{
		Name:             sp.Name,
		DisplayName:      sp.Description,
		Description:      sp.Description + ". Installed by runlet; its output goes to the Application event log, source " + sp.Name + ".",
		Command:          windowsCommandLine(sp.Program, sp.Args),
		Account:          sp.User,
		DelayedAutoStart: true,
		Restarts:         []time.Duration{RestartDelay, RestartDelay, RestartDelay},
		ResetPeriod:      24 * time.Hour,
		Protected:        len(sp.Secrets) > 0,
		EventSource:      sp.Name,
	}
	for _, m := range []map[string]string{sp.Env, sp.Secrets} {
		for k, v := range m {
			w.Environment = append(w.Environment, k+"="+v)
		}
	}
	slices.Sort(w.Environment)
	return w
}

// String is the definition as a person reads it (and the golden files
// hold), secrets included: the golden files use made-up ones.
func (w windowsService) String() string {
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k+":", v) }
	row("service", w.Name)
	row("display", w.DisplayName)
	row("description", w.Description)
	row("command", w.Command)
	account := w.Account
	if account == "" {
		account = "LocalSystem"
	}
	row("account", account)
	start := "automatic"
	if w.DelayedAutoStart {
		start += " (delayed start)"
	}
	row("start", start)
	var delays []string
	for _, d := range w.Restarts {
		delays = append(delays, "restart after "+d.String())
	}
	row("recovery", strings.Join(delays, ", then ")+"; failures forgotten after "+w.ResetPeriod.String()+"; also when it stops with an error, except exit status "+fmt.Sprint(ExitNoRestart))
	env := "none"
	if len(w.Environment) > 0 {
		env = "registry value Environment"
		if w.Protected {
			env += ", key readable by SYSTEM and Administrators only"
		}
	}
	row("environment", env)
	for _, kv := range w.Environment {
		b.WriteString("             " + kv + "\n")
	}
	row("logs", "event log Application, source "+w.EventSource)
	return b.String()
}

// windowsCommandLine is program and args as one command line, each quoted
// as syscall.EscapeArg does (which CreateService uses): copied here so the
// definition renders on any OS, and checked against it on Windows.
func windowsCommandLine(program string, args []string) string {
	words := []string{escapeArg(program)}
	for _, a := range args {
		words = append(words, escapeArg(a))
	}
	return strings.Join(words, " ")
}

func escapeArg(s string) string {
	if s == "" {
		return `""`
	}
	backslash := strings.ContainsAny(s, `"\`)
	space := strings.ContainsAny(s, " \t")
	switch {
	case !backslash && !space:
		return s
	case !backslash:
		return `"` + s + `"`
	}
	var b []byte
	if space {
		b = append(b, '"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		default:
			slashes = 0
		case '\\':
			slashes++
		case '"':
			for ; slashes > 0; slashes-- {
				b = append(b, '\\')
			}
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	if space {
		for ; slashes > 0; slashes-- {
			b = append(b, '\\')
		}
		b = append(b, '"')
	}
	return string(b)
}
