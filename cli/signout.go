package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/home"
)

func (m *Main) signoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "@signout",
		Aliases: []string{"signout"},
		Short:   "Revoke this device on the server and forget its credentials",
		Long: `@signout asks the server to revoke this device and every token it holds,
then deletes the credentials from --home. The device's name becomes free.

When the server cannot be reached the credentials are forgotten here all
the same, and runlet says so and exits 1: revoke the device on the server
later.`,
		Example: `  runlet @signout
  runlet --home /var/lib/runlet/pi-2 @signout`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.signout(cmd.Context())
		},
	}
}

func (m *Main) signout(ctx context.Context) error {
	cred, client, err := m.signedIn()
	if err != nil {
		if runlet.ErrorCode(err) == runlet.EUNAUTHORIZED {
			fmt.Fprintln(m.Stdout, "This device is not signed in; nothing to do.")
			return nil
		}
		return err
	}
	serverErr := client.Signout(ctx)
	// A token the server no longer knows was revoked already.
	if runlet.ErrorCode(serverErr) == runlet.EUNAUTHORIZED {
		serverErr = nil
	}
	if err := home.Dir(m.home).ForgetCredentials(); err != nil {
		return err
	}
	if serverErr != nil {
		return runlet.Errorf(runlet.EUNAVAILABLE, "forgot the credentials of %q here, but could not revoke the device on %s (%s): revoke it there when the server is back", cred.Device, cred.Server, message(serverErr))
	}
	fmt.Fprintf(m.Stdout, "Signed out: device %q is revoked on %s and its credentials are gone.\n", cred.Device, safe(cred.Server))
	return nil
}
