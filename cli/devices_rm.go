package cli

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/apiclient"
	"github.com/runlet/runlet/home"
)

func (m *Main) devicesRmCommand() *cobra.Command {
	var (
		yes   bool
		admin string
	)
	cmd := &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove"},
		Short:   "Remove a device from the workspace, cutting its access at once",
		Long: `rm removes the device NAME from the workspace: its tokens are revoked, its
connections to the broker are closed and refused from then on, its API calls
get 401 and its daemon stops. Use it for a lost, stolen or retired device,
which cannot sign itself out; a device at hand signs out with 'runlet
@signout'. To come back, the device signs in again ('runlet @signin').

Removing a device is an admin's to do: runlet signs in as the admin named
by --admin (env RUNLET_ADMIN) with the password typed at the terminal, or
from RUNLET_PASSWORD when there is none, for this request only. At a
terminal it asks before removing; elsewhere, confirm with --yes.`,
		Example: `  runlet devices rm pi-3
  runlet devices rm pi-3 --admin admin@localhost
  RUNLET_PASSWORD=... runlet devices rm pi-3 --admin admin@localhost --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.removeDevice(cmd.Context(), args[0], admin, yes)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking (needed when not at a terminal)")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), "email of the workspace admin to remove it as (env RUNLET_ADMIN; asked at a terminal)")
	return cmd
}

func (m *Main) removeDevice(ctx context.Context, name, admin string, yes bool) error {
	cred, client, err := m.signedIn()
	if err != nil {
		return err
	}
	if name == cred.Device {
		return runlet.Errorf(runlet.EINVALID, "%s is this device: sign it out with 'runlet @signout', which also deletes its credentials here", safe(name))
	}
	// Say a wrong name before asking anything.
	devs, err := client.Devices(ctx)
	if err != nil {
		return err
	}
	var names []string
	found := false
	for _, d := range devs {
		names = append(names, safe(d.Name))
		found = found || d.Name == name
	}
	if !found {
		return runlet.Errorf(runlet.ENOTFOUND, "there is no device named %q in workspace %s; its devices are: %s", name, safe(cred.WorkspaceName), strings.Join(names, ", "))
	}

	t := openTerminal(m.Stdin, nil)
	in := bufio.NewReader(m.Stdin)
	if !yes {
		if t.in == nil {
			return runlet.Errorf(runlet.EINVALID, "not at a terminal to confirm the removal of %s: add --yes", safe(name))
		}
		fmt.Fprintf(m.Stdout, "Remove %s from workspace %s? It loses its access at once, and must sign in again to come back. [y/N] ", safe(name), safe(cred.WorkspaceName))
		line, _ := in.ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintf(m.Stdout, "%s was not removed.\n", safe(name))
			return &exitError{code: 1}
		}
	}
	adminClient, err := m.signInAdmin(ctx, cred, t, in, admin, "removing a device")
	if err != nil {
		return err
	}
	err = adminClient.RemoveDevice(ctx, name)
	// The session was for this request only.
	_ = adminClient.Logout(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Removed %s: its tokens are revoked and its connections closed. It must sign in again ('runlet @signin') to come back.\n", safe(name))
	return nil
}

// signInAdmin signs in to the device's server as the admin with email
// (asked at the terminal when empty) and the password typed at the
// terminal or, without one, from RUNLET_PASSWORD. The caller signs the
// session out when done.
func (m *Main) signInAdmin(ctx context.Context, cred *home.Credentials, t *terminal, in *bufio.Reader, email, doing string) (*apiclient.Client, error) {
	if email == "" {
		if t.in == nil {
			return nil, runlet.Errorf(runlet.EINVALID, "%s needs a workspace admin: name one with --admin EMAIL (env RUNLET_ADMIN), with the password in RUNLET_PASSWORD", doing)
		}
		fmt.Fprint(m.Stdout, "Admin email: ")
		line, _ := in.ReadString('\n')
		if email = strings.TrimSpace(line); email == "" {
			return nil, runlet.Errorf(runlet.EINVALID, "no admin email given: nothing changed")
		}
	}
	password := m.getenv("RUNLET_PASSWORD")
	if password == "" {
		if t.in == nil {
			return nil, runlet.Errorf(runlet.EINVALID, "no password for %s: set RUNLET_PASSWORD, or run this at a terminal to type it", safe(email))
		}
		fmt.Fprintf(m.Stdout, "Password of %s: ", safe(email))
		b, err := term.ReadPassword(int(t.in.Fd()))
		fmt.Fprintln(m.Stdout)
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		password = string(b)
	}
	c := m.deviceClient(cred) // the same server, and the same pin
	resp, err := c.Login(ctx, email, password)
	if err != nil {
		return nil, err
	}
	c.Token = resp.Token
	return c, nil
}
