package cli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// The workspace's alerts (issue 14, R-TEL-3 to R-TEL-5): `runlet alerts`
// lists them, `alerts show` one with the notifications sent of it, and
// `alerts settings` reads or changes the workspace's alert settings.
// Reading is every member's and device's; changing the settings is an
// admin's (--admin, RUNLET_PASSWORD).

func (m *Main) alertsCommand() *cobra.Command {
	var f alertListFlags
	cmd := &cobra.Command{
		Use:     "alerts",
		Aliases: []string{"alert"},
		Short:   "List the workspace's alerts, show one, change the alert settings",
		Long: `alerts lists the workspace's alerts, newest first: a sensor out of its
range (threshold), a sensor silent for longer than its silence period
(silence), a device offline for too long (offline), a device's telemetry
outbox filling or dropping (outbox), readings refused for bad credentials
(refused). An alert is open until what it is about is back; people are
told through their channels ('runlet channels') when it opens, at most once
a period while it stays open, and when it is resolved.

Set a sensor's thresholds with 'runlet sensors set ID --temp-max 8', the
workspace's defaults and routing with 'runlet alerts settings'.`,
		Example: `  runlet alerts
  runlet alerts --open
  runlet alerts list --kind threshold --sensor 123
  runlet alerts show 42
  runlet alerts settings --every 1h --temp-min 2 --temp-max 8 --route threshold.batt=both`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listAlerts(cmd.Context(), &f)
		},
	}
	f.bind(cmd)
	cmd.AddCommand(m.alertsListCommand(), m.alertsShowCommand(), m.alertsSettingsCommand())
	return cmd
}

// alertListFlags select the alerts listed.
type alertListFlags struct {
	open   bool
	kind   string
	sensor int64
	device string
	limit  int
	asJSON bool
}

func (f *alertListFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.open, "open", false, "only the alerts still open")
	fl.StringVar(&f.kind, "kind", "", "only alerts of this kind: threshold, silence, offline, outbox or refused")
	fl.Int64Var(&f.sensor, "sensor", 0, "only the alerts about this sensor")
	fl.StringVar(&f.device, "device", "", "only the alerts about this device")
	fl.IntVar(&f.limit, "limit", 50, "at most this many (up to 1000)")
	fl.BoolVar(&f.asJSON, "json", false, "print the alerts as JSON")
}

func (m *Main) alertsListCommand() *cobra.Command {
	var f alertListFlags
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the workspace's alerts, newest first",
		Example: `  runlet alerts list --open
  runlet alerts list --kind silence --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listAlerts(cmd.Context(), &f)
		},
	}
	f.bind(cmd)
	return cmd
}

func (m *Main) listAlerts(ctx context.Context, f *alertListFlags) error {
	k := runlet.AlertKind(f.kind)
	if k != "" && !k.Valid() {
		return runlet.Errorf(runlet.EINVALID, "--kind must be threshold, silence, offline, outbox or refused, not %q", safe(f.kind))
	}
	if f.limit < 0 || f.sensor < 0 {
		return runlet.Errorf(runlet.EINVALID, "--limit and --sensor must be positive")
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	page, err := client.Alerts(ctx, api.AlertQuery{Open: f.open, Kind: k, Sensor: f.sensor, Device: f.device, Limit: f.limit})
	if err != nil {
		return err
	}
	if f.asJSON {
		return m.printJSON(page)
	}
	if len(page.Alerts) == 0 {
		if f.open {
			fmt.Fprintln(m.Stdout, "No open alerts.")
		} else {
			fmt.Fprintln(m.Stdout, "No alerts.")
		}
		return nil
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSTATE\tAT\tSUMMARY")
	for _, a := range page.Alerts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, alertWhat(a), alertState(a), a.At.Local().Format("2006-01-02 15:04"), safe(a.Summary))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if page.Next != 0 {
		fmt.Fprintf(m.Stdout, "More alerts are older: ask with --limit %d for more.\n", min(f.limit*2, 1000))
	}
	return nil
}

// alertWhat is an alert's kind, with the metric of a threshold alert.
func alertWhat(a runlet.Alert) string {
	if a.Metric != "" {
		return string(a.Kind) + "." + string(a.Metric)
	}
	return string(a.Kind)
}

func alertState(a runlet.Alert) string {
	if a.Open() {
		return "open"
	}
	return "resolved"
}

func (m *Main) alertsShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an alert and the notifications sent of it",
		Long: `show prints the alert ID (what happened, its value and limit, when it was
opened and resolved) and every notification of it: the channel and target,
whether it was sent, is pending (and when it is retried) or failed, and
why.`,
		Example: `  runlet alerts show 42
  runlet alerts show 42 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.showAlert(cmd.Context(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the alert and its notifications as JSON")
	return cmd
}

func (m *Main) showAlert(ctx context.Context, arg string, asJSON bool) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return runlet.Errorf(runlet.EINVALID, "%q is not an alert id: see the ID column of 'runlet alerts'", safe(arg))
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	d, err := client.Alert(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(d)
	}
	a := d.Alert
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	rows := [][2]string{
		{"Alert", strconv.FormatInt(a.ID, 10)},
		{"Kind", alertWhat(a)},
		{"State", alertState(a)},
		{"Summary", safe(a.Summary)},
	}
	if a.Sensor != 0 {
		rows = append(rows, [2]string{"Sensor", strconv.FormatInt(a.Sensor, 10)})
	}
	if a.Device != "" {
		rows = append(rows, [2]string{"Device", safe(a.Device)})
	}
	if a.Kind == runlet.AlertThreshold {
		rows = append(rows, [2]string{"Value", formatValue(a.Metric, a.Value)}, [2]string{"Limit", string(a.Bound) + " " + formatValue(a.Metric, a.Limit)})
	}
	rows = append(rows, [2]string{"At", localTime(a.At)}, [2]string{"Opened", localTime(a.Opened)})
	if !a.Open() {
		rows = append(rows, [2]string{"Resolved", localTime(a.Resolved)}, [2]string{"Recovery", dash(a.Recovery)})
	}
	rows = append(rows, [2]string{"Told", told(a)})
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout)
	m.printNotifications(d.Notifications)
	return nil
}

func told(a runlet.Alert) string {
	if a.Notified.IsZero() {
		return "not yet"
	}
	s := localTime(a.Notified)
	if a.Reminders > 0 {
		s += fmt.Sprintf(" (%d reminders)", a.Reminders)
	}
	return s
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// printNotifications prints a table of notifications.
func (m *Main) printNotifications(ns []runlet.Notification) {
	if len(ns) == 0 {
		fmt.Fprintln(m.Stdout, "No notifications: nobody's channel carries this alert, or people had been told of its key within the period.")
		return
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tCHANNEL\tTARGET\tSTATE\tATTEMPTS\tWHEN\tERROR")
	for _, n := range ns {
		when := localTime(n.Created)
		switch n.State {
		case runlet.NotificationSent:
			when = localTime(n.Sent)
		case runlet.NotificationPending:
			if !n.Next.IsZero() {
				when = "next " + localTime(n.Next)
			}
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%d\t%s\t%s\n", n.Event, n.Kind, safe(n.Channel), safe(n.Target), n.State, n.Attempts, when, dash(n.Error))
	}
	_ = tw.Flush()
}

// alertSettingsFlags change the workspace's alert settings.
type alertSettingsFlags struct {
	every, offline time.Duration
	routes         []string
	rules          ruleFlags
	admin          string
	asJSON         bool
}

func (m *Main) alertsSettingsCommand() *cobra.Command {
	var f alertSettingsFlags
	cmd := &cobra.Command{
		Use:   "settings [--every 1h] [--offline 15m] [--temp-min N ...] [--route ROUTE=WHO ...]",
		Short: "Show or change the workspace's alert settings",
		Long: `settings prints the workspace's alert settings, or changes those its flags
name (admins only) and prints them all:

  --every      people are told of one alert at most once this often, however
               many readings break the rule (default 1h, as the seed's rule)
  --offline    how long a device may be offline before an alert (default 15m)
  --temp-min, --temp-max, --batt-min, --batt-max, --silence
               the defaults of sensors that do not set their own
               ('runlet sensors set ID --temp-max 8'); --clear-temp-min and
               the like remove a default
  --route      who is told of a route: owner (the sensor's owner), admins or
               both. The routes are threshold.temp, threshold.batt, silence,
               offline, outbox and refused; unset, temperature and silence
               go to the owner, the others to the admins. ROUTE=default
               removes a route's setting.

A change takes effect within seconds.`,
		Example: `  runlet alerts settings
  runlet alerts settings --every 30m --offline 10m
  runlet alerts settings --temp-min 2 --temp-max 8 --batt-min 20 --silence 1h
  runlet alerts settings --route threshold.batt=both --route offline=admins --admin admin@localhost`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.alertSettings(cmd, &f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.every, "every", 0, "tell people of one alert at most once this often (default 1h)")
	fl.DurationVar(&f.offline, "offline", 0, "alert when a device is offline longer than this (default 15m)")
	fl.StringArrayVar(&f.routes, "route", nil, "ROUTE=owner|admins|both|default: who is told of a route (repeat for several)")
	fl.StringVar(&f.admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	fl.BoolVar(&f.asJSON, "json", false, "print the settings as JSON")
	f.rules.bind(cmd, true, " (the workspace's default)")
	return cmd
}

func (m *Main) alertSettings(cmd *cobra.Command, f *alertSettingsFlags) error {
	ctx := cmd.Context()
	changed := cmd.Flags().Changed
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	st, err := client.AlertSettings(ctx)
	if err != nil {
		return err
	}
	if changed("every") || changed("offline") || len(f.routes) > 0 || f.rules.changed(cmd) {
		if err := f.apply(cmd, &st); err != nil {
			return err
		}
		err = m.asAdmin(ctx, f.admin, "changing the alert settings", func(c *apiclient.Client) error {
			st, err = c.SetAlertSettings(ctx, st)
			return err
		})
		if err != nil {
			return err
		}
	}
	if f.asJSON {
		return m.printJSON(st)
	}
	m.printAlertSettings(st)
	return nil
}

// apply changes st as the flags given say.
func (f *alertSettingsFlags) apply(cmd *cobra.Command, st *runlet.AlertSettings) error {
	changed := cmd.Flags().Changed
	for _, d := range []struct {
		name string
		v    time.Duration
		to   *runlet.Duration
	}{{"every", f.every, &st.Every}, {"offline", f.offline, &st.OfflineLimit}} {
		if !changed(d.name) {
			continue
		}
		if d.v < runlet.MinAlertPeriod {
			return runlet.Errorf(runlet.EINVALID, "--%s must be at least %v, not %v", d.name, runlet.MinAlertPeriod, d.v)
		}
		*d.to = runlet.Duration(d.v)
	}
	for _, r := range f.routes {
		route, who, ok := strings.Cut(r, "=")
		if !ok {
			return runlet.Errorf(runlet.EINVALID, "--route %q: give ROUTE=WHO, such as threshold.batt=both", safe(r))
		}
		rt := runlet.Route(strings.TrimSpace(route))
		if _, ok := runlet.DefaultRouting()[rt]; !ok {
			return runlet.Errorf(runlet.EINVALID, "--route: there is no route %q; the routes are threshold.temp, threshold.batt, silence, offline, outbox and refused", safe(string(rt)))
		}
		a := runlet.Audience(strings.TrimSpace(who))
		switch {
		case a == "default":
			delete(st.Routing, rt)
			continue
		case !a.Valid():
			return runlet.Errorf(runlet.EINVALID, "--route %s: say owner, admins, both or default, not %q", rt, safe(string(a)))
		}
		if st.Routing == nil {
			st.Routing = map[runlet.Route]runlet.Audience{}
		}
		st.Routing[rt] = a
	}
	if f.rules.changed(cmd) {
		return f.rules.apply(cmd, &st.Defaults)
	}
	return nil
}

func (m *Main) printAlertSettings(st runlet.AlertSettings) {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	d := st.Defaults
	rows := [][2]string{
		{"Tell at most every", runlet.FormatDuration(st.Period())},
		{"Device offline after", runlet.FormatDuration(st.Offline())},
		{"Temperature range", fmt.Sprintf("%s .. %s", bound(runlet.MetricTemp, d.TempMin, "none"), bound(runlet.MetricTemp, d.TempMax, "none"))},
		{"Battery range", fmt.Sprintf("%s .. %s", bound(runlet.MetricBatt, d.BattMin, "none"), bound(runlet.MetricBatt, d.BattMax, "none"))},
		{"Silence period", runlet.FormatDuration(st.SilenceOf(runlet.SensorRules{}))},
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	routes := make([]runlet.Route, 0, len(runlet.DefaultRouting()))
	for r := range runlet.DefaultRouting() {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		fmt.Fprintf(tw, "Route %s:\t%s\n", r, st.AudienceOf(r))
	}
	_ = tw.Flush()
}
