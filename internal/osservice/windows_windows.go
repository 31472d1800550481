//go:build windows

package osservice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/runlet/runlet"
)

// SCM manages Windows services through the service control manager: a
// service started automatically (delayed, after the network), restarted
// RestartDelay after a failure (recovery actions, also when it stops with
// an error), its output in the Application event log.
type SCM struct{}

var _ Manager = SCM{}

func windowsManager() (Manager, error) { return SCM{}, nil }

func scmLogs(name string) string {
	return "Get-WinEvent -ProviderName " + name + " -MaxEvents 50 (PowerShell), or Event Viewer, Windows Logs, Application"
}

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return nil, runlet.Errorf(runlet.EFORBIDDEN, "the service control manager refused: install, remove, start and stop services from an administrator's prompt")
	}
	if err != nil {
		return nil, fmt.Errorf("connect to the service control manager: %w", err)
	}
	return m, nil
}

// open opens service name, or says it is not installed.
func open(m *mgr.Mgr, name string) (*mgr.Service, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	s, err := m.OpenService(name)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return nil, notInstalled(name, "Windows service of that name")
	}
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return nil, runlet.Errorf(runlet.EFORBIDDEN, "the service control manager refused: use an administrator's prompt")
	}
	if err != nil {
		return nil, fmt.Errorf("open the service %s: %w", name, err)
	}
	return s, nil
}

// Install creates the service (or replaces the configuration of one of
// that name), its recovery actions, environment and event-log source, and
// starts it.
func (SCM) Install(ctx context.Context, sp Spec) (Installed, error) {
	if err := sp.check(); err != nil {
		return Installed{}, err
	}
	w := windowsDefinition(sp)
	m, err := connect()
	if err != nil {
		return Installed{}, err
	}
	defer m.Disconnect()
	cfg := mgr.Config{
		DisplayName:      w.DisplayName,
		Description:      w.Description,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: w.DelayedAutoStart,
		ErrorControl:     mgr.ErrorNormal,
		ServiceStartName: w.Account,
		Password:         sp.Password,
	}
	if cfg.ServiceStartName == "" {
		// Named, so that a replaced service running as another account
		// comes back to LocalSystem.
		cfg.ServiceStartName = "LocalSystem"
	}
	s, err := m.OpenService(sp.Name)
	if err == nil {
		defer s.Close()
		if err := stop(ctx, s); err != nil {
			return Installed{}, err
		}
		old, err := s.Config()
		if err != nil {
			return Installed{}, fmt.Errorf("read the service %s: %w", sp.Name, err)
		}
		cfg.ServiceType = old.ServiceType
		cfg.BinaryPathName = w.Command
		if err := s.UpdateConfig(cfg); err != nil {
			return Installed{}, fmt.Errorf("replace the service %s: %w", sp.Name, err)
		}
	} else {
		s, err = m.CreateService(sp.Name, sp.Program, cfg, sp.Args...)
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return Installed{}, runlet.Errorf(runlet.EFORBIDDEN, "the service control manager refused: install services from an administrator's prompt")
		}
		if err != nil {
			return Installed{}, fmt.Errorf("create the service %s: %w", sp.Name, err)
		}
		defer s.Close()
	}
	var actions []mgr.RecoveryAction
	for _, d := range w.Restarts {
		actions = append(actions, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	if err := s.SetRecoveryActions(actions, uint32(w.ResetPeriod.Seconds())); err != nil {
		return Installed{}, fmt.Errorf("set the recovery of %s: %w", sp.Name, err)
	}
	// Also when it stops itself with an error, not only when it dies.
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return Installed{}, fmt.Errorf("set the recovery of %s: %w", sp.Name, err)
	}
	if err := setEnvironment(sp.Name, w.Environment, w.Protected); err != nil {
		return Installed{}, err
	}
	_ = eventlog.Remove(w.EventSource)
	if err := eventlog.InstallAsEventCreate(w.EventSource, eventlog.Error|eventlog.Warning|eventlog.Info); err != nil {
		return Installed{}, fmt.Errorf("register the event-log source %s: %w", w.EventSource, err)
	}
	if err := s.Start(); err != nil {
		return Installed{}, fmt.Errorf("start the service %s: %w", sp.Name, err)
	}
	return Installed{Logs: scmLogs(sp.Name)}, nil
}

// setEnvironment writes the Environment value of the service's registry
// key, which the SCM gives the process; with secrets, the key is closed to
// all but SYSTEM and Administrators (its default lets users read it).
func setEnvironment(name string, env []string, protect bool) error {
	path := `SYSTEM\CurrentControlSet\Services\` + name
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.SET_VALUE|windows.WRITE_DAC)
	if err != nil {
		return fmt.Errorf("open the registry key of %s: %w", name, err)
	}
	defer k.Close()
	if protect {
		sd, err := windows.SecurityDescriptorFromString("D:P(A;CI;KA;;;SY)(A;CI;KA;;;BA)")
		if err != nil {
			return err
		}
		dacl, _, err := sd.DACL()
		if err != nil {
			return err
		}
		if err := windows.SetSecurityInfo(windows.Handle(k), windows.SE_REGISTRY_KEY,
			windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
			return fmt.Errorf("protect the registry key of %s: %w", name, err)
		}
	}
	if len(env) == 0 {
		if err := k.DeleteValue("Environment"); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return fmt.Errorf("clear the environment of %s: %w", name, err)
		}
		return nil
	}
	if err := k.SetStringsValue("Environment", env); err != nil {
		return fmt.Errorf("set the environment of %s: %w", name, err)
	}
	return nil
}

// Uninstall stops and deletes the service and its event-log source; the
// events stay in the log.
func (SCM) Uninstall(ctx context.Context, name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := stop(ctx, s); err != nil {
		return err
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("delete the service %s: %w", name, err)
	}
	_ = eventlog.Remove(name)
	return nil
}

// Start starts the service.
func (SCM) Start(ctx context.Context, name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State == svc.Running {
		return nil
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("start the service %s: %w", name, err)
	}
	return nil
}

// Stop stops the service and waits until it has.
func (SCM) Stop(ctx context.Context, name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	return stop(ctx, s)
}

// stop asks a running service to stop and waits (30s at most) for it.
func stop(ctx context.Context, s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query the service %s: %w", s.Name, err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil {
			return fmt.Errorf("stop the service %s: %w", s.Name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query the service %s: %w", s.Name, err)
		}
		if st.State == svc.Stopped {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service %s has not stopped after 30s", s.Name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Status says whether the service is installed and running.
func (SCM) Status(ctx context.Context, name string) (Status, error) {
	st := Status{Logs: scmLogs(name)}
	m, err := connect()
	if err != nil {
		return st, err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if runlet.ErrorCode(err) == runlet.ENOTFOUND {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer s.Close()
	st.Installed = true
	q, err := s.Query()
	if err != nil {
		return st, fmt.Errorf("query the service %s: %w", name, err)
	}
	st.Running = q.State == svc.Running
	st.Detail = fmt.Sprintf("state = %s\npid = %d", stateName(q.State), q.ProcessId)
	return st, nil
}

func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "stopped"
	case svc.StartPending:
		return "starting"
	case svc.StopPending:
		return "stopping"
	case svc.Running:
		return "running"
	case svc.ContinuePending:
		return "continuing"
	case svc.PausePending:
		return "pausing"
	case svc.Paused:
		return "paused"
	}
	return fmt.Sprint(uint32(s))
}
