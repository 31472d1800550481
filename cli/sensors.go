package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// The sensors of the workspace: `runlet sensors` lists them, and add,
// show, set, rm and readings manage and query one. Reading is every
// member's and device's; changing is an admin's, signed in for the one
// request (--admin, RUNLET_PASSWORD), as `runlet devices rm` does.

const adminFlagHelp = "email of the workspace admin to do it as (env RUNLET_ADMIN; asked at a terminal)"

func (m *Main) sensorsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "sensors",
		Aliases: []string{"sensor"},
		Short:   "List and manage the workspace's sensors (thermometers, batteries)",
		Long: `sensors lists the sensors registered in the workspace: their state, when
each last reported, and its latest temperature and battery. A sensor sends
its readings to a device nearby (the device's daemon takes them on
POST /v1/readings, over MQTT, or with 'runlet telemetry push'), and the
server keeps those of registered, active sensors whose secret is right.

Reading is every member's; adding, changing and removing sensors is an
admin's: runlet signs in as the admin named by --admin (env RUNLET_ADMIN)
with the password typed at the terminal, or from RUNLET_PASSWORD, for that
request only.`,
		Example: `  runlet sensors
  runlet sensors add 123 --secret 789 --name "Fridge 1" --location Kitchen
  runlet sensors show 123
  runlet sensors readings 123 --from -7d --step auto
  runlet sensors set 123 --state inactive
  runlet sensors rm 123`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listSensors(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sensors as JSON")
	cmd.AddCommand(m.sensorsListCommand(), m.sensorsAddCommand(), m.sensorsShowCommand(),
		m.sensorsSetCommand(), m.sensorsRmCommand(), m.sensorsReadingsCommand())
	return cmd
}

func (m *Main) sensorsListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the workspace's sensors with their latest values",
		Example: `  runlet sensors list
  runlet sensors list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.listSensors(cmd.Context(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sensors as JSON")
	return cmd
}

func (m *Main) listSensors(ctx context.Context, asJSON bool) error {
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	list, err := client.Sensors(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(m.Stdout, "No sensors yet: add one with 'runlet sensors add ID --secret SECRET'.")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tLAST SEEN\tTEMP\tBATT\tLOCATION\tOWNER\tSTATUS")
	for _, s := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, dash(s.Name), s.State, ago(now, s.LastSeen),
			latest(s, runlet.MetricTemp), latest(s, runlet.MetricBatt), dash(s.Location), dash(s.Owner), dash(string(s.Status)))
	}
	return tw.Flush()
}

// latest is a sensor's latest value of m as a table cell: °C or %.
func latest(s runlet.Sensor, m runlet.Metric) string {
	v, ok := s.Latest[m]
	if !ok {
		return "-"
	}
	return formatValue(m, v)
}

func formatValue(m runlet.Metric, v float64) string {
	n := strconv.FormatFloat(v, 'f', -1, 64)
	switch m {
	case runlet.MetricTemp:
		return n + "°C"
	case runlet.MetricBatt:
		return n + "%"
	}
	return n
}

// sensorFlags are what add and set take of a sensor, with its alert
// rules (issue 14).
type sensorFlags struct {
	name, owner, location, contact string
	state                          string
	secret, secretFile             string
	inactive                       bool
	admin                          string
	rules                          ruleFlags
}

// bind adds the flags of the fields people set on a sensor.
func (f *sensorFlags) bind(m *Main, cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.name, "name", "", "what people call it (Fridge 1)")
	fl.StringVar(&f.owner, "owner", "", "who answers for it")
	fl.StringVar(&f.location, "location", "", "where it is (Kitchen, cold room 2)")
	fl.StringVar(&f.contact, "contact", "", "whom to call about it (a phone, an email)")
	fl.StringVar(&f.secret, "secret", "", `its secret, the "auth" of its messages (a number or a string)`)
	fl.StringVar(&f.secretFile, "secret-file", "", "read the secret from this file ('-' for stdin), so that it is not in the shell's history")
	fl.StringVar(&f.admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	cmd.MarkFlagsMutuallyExclusive("secret", "secret-file")
}

// readSecret is the secret of --secret or --secret-file, "" for neither.
func (m *Main) readSecret(f *sensorFlags) (string, error) {
	if f.secretFile == "" {
		return f.secret, nil
	}
	return m.readSecretFile(f.secretFile, "secret", runlet.MaxSensorSecret+2)
}

// readSecretFile reads what (a secret, a password) from file ("-":
// stdin, at most limit bytes), without its line end; an empty file is an
// error.
func (m *Main) readSecretFile(file, what string, limit int64) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(m.Stdin, limit))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return "", runlet.Errorf(runlet.EINVALID, "read the %s: %v", what, err)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", runlet.Errorf(runlet.EINVALID, "the %s file %s is empty", what, file)
	}
	return s, nil
}

// newSecret is a secret like the seed's: a random positive 63-bit integer.
func newSecret() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return "", fmt.Errorf("make a secret: %w", err)
	}
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n.String(), nil
}

// sensorArg reads a sensor id argument.
func sensorArg(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, runlet.Errorf(runlet.EINVALID, "%q is not a sensor id: a sensor's id is a positive integer, the \"id\" of its messages", safe(v))
	}
	return id, nil
}

func (m *Main) sensorsAddCommand() *cobra.Command {
	var f sensorFlags
	cmd := &cobra.Command{
		Use:   "add ID [--secret SECRET]",
		Short: "Register a sensor, so that its readings are kept",
		Long: `add registers the sensor ID in the workspace, with its secret: the id and
"auth" of its messages, {"device":{"id":ID,"auth":SECRET},"reading":{...}}.
A sensor's id is unique on the server. The secret is stored hashed and never
shown again; without --secret or --secret-file, runlet makes one (a random
63-bit integer, as the original system did) and prints it once, to program
into the sensor. An inactive sensor's readings are refused and counted.`,
		Example: `  runlet sensors add 123 --secret 789
  runlet sensors add 123 --secret-file secret.txt --name "Fridge 1" --location Kitchen --owner Ada
  runlet sensors add 124 --inactive --admin admin@localhost
  runlet sensors add 125 --name "Freezer" --temp-min -25 --temp-max -15 --silence 30m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.addSensor(cmd, args[0], &f)
		},
	}
	f.bind(m, cmd)
	f.rules.bind(cmd, false, " (default: the workspace's)")
	cmd.Flags().BoolVar(&f.inactive, "inactive", false, "register it inactive: its readings are refused until 'runlet sensors set ID --state active'")
	return cmd
}

func (m *Main) addSensor(cmd *cobra.Command, arg string, f *sensorFlags) error {
	ctx := cmd.Context()
	id, err := sensorArg(arg)
	if err != nil {
		return err
	}
	secret, err := m.readSecret(f)
	if err != nil {
		return err
	}
	made := secret == ""
	if made {
		if secret, err = newSecret(); err != nil {
			return err
		}
	}
	req := api.NewSensor{ID: id, Name: f.name, Secret: api.SensorSecret(secret), Owner: f.owner, Location: f.location, Contact: f.contact, State: runlet.SensorActive}
	if f.inactive {
		req.State = runlet.SensorInactive
	}
	if f.rules.changed(cmd) {
		req.Rules = &runlet.SensorRules{}
		if err := f.rules.apply(cmd, req.Rules); err != nil {
			return err
		}
	}
	var sn runlet.Sensor
	err = m.asAdmin(ctx, f.admin, "adding a sensor", func(c *apiclient.Client) error {
		sn, err = c.AddSensor(ctx, req)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Added sensor %d%s (%s).\n", sn.ID, nameSuffix(sn), sn.State)
	if made {
		fmt.Fprintf(m.Stdout, "Its secret, shown this once: %s\nProgram it into the sensor as \"auth\": {\"device\":{\"id\":%d,\"auth\":%s}, ...}\n", secret, sn.ID, secret)
	}
	return nil
}

func nameSuffix(s runlet.Sensor) string {
	if s.Name == "" {
		return ""
	}
	return " " + strconv.Quote(safe(s.Name))
}

// asAdmin runs do with a client signed in as the workspace's admin for
// this command only (signInAdmin), and signs the session out after.
func (m *Main) asAdmin(ctx context.Context, admin, doing string, do func(*apiclient.Client) error) error {
	cred, _, err := m.signedIn()
	if err != nil {
		return err
	}
	c, err := m.signInAdmin(ctx, cred, openTerminal(m.Stdin, nil), bufio.NewReader(m.Stdin), admin, doing)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(context.WithoutCancel(ctx)) }()
	return do(c)
}

func (m *Main) sensorsShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a sensor: its state, latest values and when it last reported",
		Example: `  runlet sensors show 123
  runlet sensors show 123 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.showSensor(cmd.Context(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sensor as JSON")
	return cmd
}

func (m *Main) showSensor(ctx context.Context, arg string, asJSON bool) error {
	id, err := sensorArg(arg)
	if err != nil {
		return err
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	s, err := client.Sensor(ctx, id)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(s)
	}
	m.printSensor(s, time.Now())
	return nil
}

func (m *Main) printSensor(s runlet.Sensor, now time.Time) {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	seen := ago(now, s.LastSeen)
	if !s.LastSeen.IsZero() {
		seen += " (" + s.LastSeen.Local().Format("2006-01-02 15:04:05") + ")"
	}
	for _, row := range [][2]string{
		{"Sensor", strconv.FormatInt(s.ID, 10)},
		{"Name", dash(s.Name)},
		{"State", string(s.State)},
		{"Last seen", seen},
		{"Temperature", latest(s, runlet.MetricTemp)},
		{"Battery", latest(s, runlet.MetricBatt)},
		{"Location", dash(s.Location)},
		{"Owner", dash(s.Owner)},
		{"Contact", dash(s.Contact)},
		{"Status", dash(string(s.Status))},
		rulesLines(s.Rules)[0], rulesLines(s.Rules)[1], rulesLines(s.Rules)[2],
		{"Added", s.Created.Local().Format("2006-01-02 15:04")},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	_ = tw.Flush()
}

func (m *Main) sensorsSetCommand() *cobra.Command {
	var f sensorFlags
	cmd := &cobra.Command{
		Use:   "set ID [--name N] [--state active|inactive] [--secret S] ...",
		Short: "Change a sensor: its name, state, secret, owner, location, contact or alert rules",
		Long: `set changes what its flags name of the sensor ID and leaves the rest; an
empty value ("") clears a text field. --state inactive makes the server
refuse (and count) the sensor's readings from then on, --state active takes
them again. A new --secret replaces the old one at once: program it into
the sensor too. The server's pipeline may take the old state or secret for
up to a minute, the life of its cache.

The alert rules: a reading below --temp-min or above --temp-max (°C), or
below --batt-min or above --batt-max (%), raises an alert for the sensor and
that metric, told at most once an hour ('runlet alerts settings --every');
a value equal to a bound is in range. --silence is how long the sensor may
stay silent before an alert. A rule the sensor does not set takes the
workspace's default ('runlet alerts settings'); --clear-temp-min and the
like remove the sensor's own. A change takes effect within seconds.`,
		Example: `  runlet sensors set 123 --name "Fridge 1" --location "Cold room"
  runlet sensors set 123 --state inactive
  runlet sensors set 123 --temp-min 2 --temp-max 8 --batt-min 20 --silence 30m
  runlet sensors set 123 --clear-temp-min --clear-silence
  runlet sensors set 123 --secret-file new-secret.txt --admin admin@localhost`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.setSensor(cmd, args[0], &f)
		},
	}
	f.bind(m, cmd)
	f.rules.bind(cmd, true, "")
	cmd.Flags().StringVar(&f.state, "state", "", "active (its readings are kept) or inactive (refused and counted)")
	return cmd
}

func (m *Main) setSensor(cmd *cobra.Command, arg string, f *sensorFlags) error {
	ctx := cmd.Context()
	id, err := sensorArg(arg)
	if err != nil {
		return err
	}
	var upd api.SensorUpdate
	changed := cmd.Flags().Changed
	for _, x := range []struct {
		flag string
		from *string
		to   **string
	}{{"name", &f.name, &upd.Name}, {"owner", &f.owner, &upd.Owner}, {"location", &f.location, &upd.Location}, {"contact", &f.contact, &upd.Contact}} {
		if changed(x.flag) {
			*x.to = x.from
		}
	}
	if changed("state") {
		st := runlet.SensorState(f.state)
		if !st.Valid() {
			return runlet.Errorf(runlet.EINVALID, "--state must be active or inactive, not %q", safe(f.state))
		}
		upd.State = &st
	}
	if changed("secret") || changed("secret-file") {
		secret, err := m.readSecret(f)
		if err != nil {
			return err
		}
		if secret == "" {
			return runlet.Errorf(runlet.EINVALID, "--secret is empty: a sensor's secret cannot be removed, only replaced")
		}
		s := api.SensorSecret(secret)
		upd.Secret = &s
	}
	if f.rules.changed(cmd) {
		// Rules are replaced whole: start from the sensor's.
		_, client, err := m.signedIn()
		if err != nil {
			return err
		}
		sn, err := client.Sensor(ctx, id)
		if err != nil {
			return err
		}
		if err := f.rules.apply(cmd, &sn.Rules); err != nil {
			return err
		}
		upd.Rules = &sn.Rules
	}
	if upd == (api.SensorUpdate{}) {
		return runlet.Errorf(runlet.EINVALID, "nothing to change: name what to set, e.g. --name, --state, --secret or --temp-max (see runlet sensors set --help)")
	}
	var sn runlet.Sensor
	err = m.asAdmin(ctx, f.admin, "changing a sensor", func(c *apiclient.Client) error {
		sn, err = c.UpdateSensor(ctx, id, upd)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Changed sensor %d%s (%s).\n", sn.ID, nameSuffix(sn), sn.State)
	return nil
}

func (m *Main) sensorsRmCommand() *cobra.Command {
	var (
		yes   bool
		admin string
	)
	cmd := &cobra.Command{
		Use:     "rm ID",
		Aliases: []string{"remove"},
		Short:   "Remove a sensor, with its readings",
		Long: `rm removes the sensor ID from the workspace, with its series and its raw
archive: this cannot be undone. Its later readings are refused as an
unknown sensor's. To stop taking its readings but keep them, use
'runlet sensors set ID --state inactive' instead. At a terminal it asks
before removing; elsewhere, confirm with --yes.`,
		Example: `  runlet sensors rm 123
  RUNLET_PASSWORD=... runlet sensors rm 123 --admin admin@localhost --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.removeSensor(cmd.Context(), args[0], admin, yes)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking (needed when not at a terminal)")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	return cmd
}

func (m *Main) removeSensor(ctx context.Context, arg, admin string, yes bool) error {
	id, err := sensorArg(arg)
	if err != nil {
		return err
	}
	cred, client, err := m.signedIn()
	if err != nil {
		return err
	}
	// Say a wrong id before asking anything.
	sn, err := client.Sensor(ctx, id)
	if err != nil {
		return err
	}
	t := openTerminal(m.Stdin, nil)
	in := bufio.NewReader(m.Stdin)
	if !yes {
		if t.in == nil {
			return runlet.Errorf(runlet.EINVALID, "not at a terminal to confirm the removal of sensor %d: add --yes", id)
		}
		fmt.Fprintf(m.Stdout, "Remove sensor %d%s from workspace %s, with all its readings? This cannot be undone. [y/N] ", id, nameSuffix(sn), safe(cred.WorkspaceName))
		line, _ := in.ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			fmt.Fprintf(m.Stdout, "Sensor %d was not removed.\n", id)
			return &exitError{code: 1}
		}
	}
	c, err := m.signInAdmin(ctx, cred, t, in, admin, "removing a sensor")
	if err != nil {
		return err
	}
	err = c.RemoveSensor(ctx, id)
	_ = c.Logout(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "Removed sensor %d%s and its readings.\n", id, nameSuffix(sn))
	return nil
}
