package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// The channels that carry alerts to people (R-TEL-5): `runlet channels`
// lists them; add, set, rm and test manage one. A member manages their
// own channels, an admin every one: runlet signs in as the user --admin
// names for that request only.

const channelAsHelp = "email of the user to do it as: an admin, or a member for their own channels (env RUNLET_ADMIN; asked at a terminal)"

func (m *Main) channelsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "channels",
		Aliases: []string{"channel"},
		Short:   "List and manage the channels alerts are sent on (e-mail, webhook, SMS)",
		Long: `channels lists the channels alerts go out on: e-mail addresses, webhooks
(a signed JSON POST) and phone numbers (SMS through the workspace's
provider, 'runlet notify settings').

A channel of the workspace carries every alert of its routes (all when it
names none); a member's channel carries what the workspace's routing sends
to that member ('runlet alerts settings'): the alerts of the sensors they
own, or, for admins, battery, device and system alerts. Every member sees
the workspace's channels and their own.`,
		Example: `  runlet channels
  runlet channels add email ops@example.com --route offline --route threshold.batt
  runlet channels add sms +441234567890 --user me --admin ada@example.com
  runlet channels add webhook https://hooks.example.com/runlet --secret-file hook.secret
  runlet channels test ch_1234
  runlet channels rm ch_1234`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listChannels(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the channels as JSON")
	cmd.AddCommand(m.channelsListCommand(), m.channelsAddCommand(), m.channelsSetCommand(), m.channelsRmCommand(), m.channelsTestCommand())
	return cmd
}

func (m *Main) channelsListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the channels you may see",
		Example: `  runlet channels list
  runlet channels list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listChannels(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the channels as JSON")
	return cmd
}

func (m *Main) listChannels(ctx context.Context, asJSON bool) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	list, err := client.Channels(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "No channels yet: add one with 'runlet channels add email you@example.com'.")
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tTARGET\tFOR\tROUTES\tSTATE")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", safe(c.ID), c.Kind, safe(c.Target), channelFor(c), channelRoutes(c), channelState(c))
	}
	return tw.Flush()
}

func channelFor(c runlet.Channel) string {
	if c.User == "" {
		return "workspace"
	}
	return "user " + safe(c.User)
}

func channelRoutes(c runlet.Channel) string {
	switch {
	case c.User != "":
		return "as routed"
	case len(c.Routes) == 0:
		return "all"
	}
	rs := make([]string, len(c.Routes))
	for i, r := range c.Routes {
		rs[i] = safe(string(r))
	}
	return strings.Join(rs, ",")
}

func channelState(c runlet.Channel) string {
	s := "enabled"
	if c.Disabled {
		s = "disabled"
	}
	if c.HasSecret {
		s += ", signed"
	}
	return s
}

// channelFlags are what add and set take of a channel.
type channelFlags struct {
	user        string
	routes      []string
	secretFile  string
	clearSecret bool
	disabled    bool
	enable      bool
	target      string
	admin       string
}

func (m *Main) channelsAddCommand() *cobra.Command {
	var f channelFlags
	cmd := &cobra.Command{
		Use:   "add email|webhook|sms TARGET [--user me|ID] [--route R]... [--secret-file F]",
		Short: "Add a channel: an e-mail address, a webhook URL or a phone number",
		Long: `add adds a channel of the kind given: email with an address, webhook with an
http or https URL, sms with a phone number in international form
(+441234567890).

Without --user, the channel is the workspace's (admins only) and carries
every alert of the routes --route names, or every alert. --user me makes it
yours: it carries what the workspace's routing sends to you. An admin may
add one for another member with --user and their id or e-mail address.

A webhook's secret (--secret-file, '-' for stdin) signs each request
(X-Runlet-Signature, see docs/notifications.md); it is never shown again.`,
		Example: `  runlet channels add email ops@example.com
  runlet channels add email ops@example.com --route offline --route outbox --route refused
  runlet channels add sms "+44 1234 567890" --user me --admin ada@example.com
  runlet channels add webhook https://hooks.example.com/runlet --secret-file hook.secret`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.addChannel(cmd.Context(), args[0], args[1], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.user, "user", "", `whose channel: "me", or a member's id or e-mail (admins); none: the workspace's`)
	fl.StringArrayVar(&f.routes, "route", nil, "only for a workspace channel: carry this route (threshold.temp, threshold.batt, silence, offline, outbox, refused); repeat for several")
	fl.StringVar(&f.secretFile, "secret-file", "", "webhooks: read the signing secret from this file ('-' for stdin)")
	fl.BoolVar(&f.disabled, "disabled", false, "add it disabled: nothing is sent on it until 'runlet channels set ID --enable'")
	fl.StringVar(&f.admin, "admin", m.getenv("RUNLET_ADMIN"), channelAsHelp)
	return cmd
}

func (m *Main) addChannel(ctx context.Context, kind, target string, f *channelFlags) error {
	k := runlet.ChannelKind(kind)
	if !k.Valid() {
		return runlet.Errorf(runlet.EINVALID, "%q is not a kind of channel: say email, webhook or sms", safe(kind))
	}
	secret, err := m.readChannelSecret(f.secretFile)
	if err != nil {
		return err
	}
	req := api.NewChannel{Kind: k, Target: target, User: f.user, Routes: routesOf(f.routes), Secret: secret, Disabled: f.disabled}
	var ch runlet.Channel
	err = m.asAdmin(ctx, f.admin, "adding a channel", func(c *apiclient.Client) error {
		ch, err = c.AddChannel(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	whose := "the workspace"
	if ch.User != "" {
		whose = "user " + safe(ch.User)
	}
	fmt.Fprintf(m.Stdout, "Added channel %s: %s %s for %s.\n", safe(ch.ID), ch.Kind, safe(ch.Target), whose)
	fmt.Fprintf(m.Stdout, "Send a test with 'runlet channels test %s'.\n", safe(ch.ID))
	return nil
}

func routesOf(flags []string) []runlet.Route {
	var out []runlet.Route
	for _, r := range flags {
		for _, x := range strings.Split(r, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, runlet.Route(x))
			}
		}
	}
	return out
}

// readChannelSecret is the secret in the file ("-": stdin), "" for none.
func (m *Main) readChannelSecret(file string) (string, error) {
	if file == "" {
		return "", nil
	}
	return m.readSecretFile(file, "secret", 4096)
}

func (m *Main) channelsSetCommand() *cobra.Command {
	var f channelFlags
	cmd := &cobra.Command{
		Use:   "set ID [--target T] [--route R]... [--enable|--disable] [--secret-file F|--clear-secret]",
		Short: "Change a channel: its target, routes, secret, or whether it is enabled",
		Long: `set changes what its flags name of the channel ID and leaves the rest.
--route replaces the routes of a workspace channel (--route all: every
route). --disable stops sending on it without removing it.`,
		Example: `  runlet channels set ch_1234 --disable
  runlet channels set ch_1234 --enable --target ops@example.com
  runlet channels set ch_1234 --route offline --route outbox
  runlet channels set ch_5678 --secret-file new.secret`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.setChannel(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "the new address, URL or phone number")
	fl.StringArrayVar(&f.routes, "route", nil, "the routes a workspace channel carries (all: every one); repeat for several")
	fl.StringVar(&f.secretFile, "secret-file", "", "webhooks: a new signing secret from this file ('-' for stdin)")
	fl.BoolVar(&f.clearSecret, "clear-secret", false, "webhooks: remove the signing secret")
	fl.BoolVar(&f.disabled, "disable", false, "send nothing on it until --enable")
	fl.BoolVar(&f.enable, "enable", false, "send on it again")
	fl.StringVar(&f.admin, "admin", m.getenv("RUNLET_ADMIN"), channelAsHelp)
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	cmd.MarkFlagsMutuallyExclusive("secret-file", "clear-secret")
	return cmd
}

func (m *Main) setChannel(cmd *cobra.Command, id string, f *channelFlags) error {
	ctx := cmd.Context()
	changed := cmd.Flags().Changed
	var upd api.ChannelUpdate
	if changed("target") {
		upd.Target = &f.target
	}
	if changed("route") {
		rs := routesOf(f.routes)
		if len(rs) == 1 && rs[0] == "all" {
			rs = []runlet.Route{}
		}
		upd.Routes = &rs
	}
	if changed("disable") || changed("enable") {
		off := f.disabled
		upd.Disabled = &off
	}
	secret, err := m.readChannelSecret(f.secretFile)
	if err != nil {
		return err
	}
	if secret != "" {
		upd.Secret = &secret
	}
	upd.ClearSecret = f.clearSecret
	if upd == (api.ChannelUpdate{}) {
		return runlet.Errorf(runlet.EINVALID, "nothing to change: name what to set, e.g. --disable, --target or --route (see runlet channels set --help)")
	}
	var ch runlet.Channel
	err = m.asAdmin(ctx, f.admin, "changing a channel", func(c *apiclient.Client) error {
		ch, err = c.UpdateChannel(ctx, id, upd)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Changed channel %s: %s %s (%s).\n", safe(ch.ID), ch.Kind, safe(ch.Target), channelState(ch))
	return nil
}

func (m *Main) channelsRmCommand() *cobra.Command {
	var admin string
	cmd := &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"remove"},
		Short:   "Remove a channel",
		Long: `rm removes the channel ID: nothing more is sent on it. The notifications
sent on it stay in the alerts' history, with their target.`,
		Example: `  runlet channels rm ch_1234
  RUNLET_PASSWORD=... runlet channels rm ch_1234 --admin admin@localhost`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			err := m.asAdmin(ctx, admin, "removing a channel", func(c *apiclient.Client) error {
				return c.RemoveChannel(ctx, args[0])
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "Removed channel %s.\n", safe(args[0]))
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), channelAsHelp)
	return cmd
}

func (m *Main) channelsTestCommand() *cobra.Command {
	var admin string
	cmd := &cobra.Command{
		Use:   "test ID",
		Short: "Send a test notification on a channel",
		Long: `test queues a test notification on the channel ID. It goes out as an
alert's would: through the outbox, retried when the channel fails, and
recorded; see what became of it with 'runlet alerts' notifications or the
web UI.`,
		Example: `  runlet channels test ch_1234`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var n runlet.Notification
			err := m.asAdmin(ctx, admin, "testing a channel", func(c *apiclient.Client) error {
				var err error
				n, err = c.TestChannel(ctx, args[0])
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "Queued a test notification to %s %s (key %s).\n", n.Kind, safe(n.Target), safe(n.Key))
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), channelAsHelp)
	return cmd
}
