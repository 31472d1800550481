package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/apiclient"
)

// `runlet telemetry`: the workspace's telemetry as a whole. push feeds
// readings to this device's daemon; replay, settings and stats speak to
// the server.

func (m *Main) telemetryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "telemetry",
		Short: "Sensor readings: push them to the daemon, see the pipeline's counts, settings, replay",
		Long: `telemetry gathers what concerns the sensors' readings as a whole: 'push'
hands readings to this device's daemon, which keeps them in its outbox
until the server has them; 'stats' shows what the server's pipeline did
with the workspace's readings; 'settings' shows or changes how long they
are kept and whether unknown sensors register themselves; 'replay' feeds a
sensor's raw archive through the pipeline again. Each sensor is managed
with 'runlet sensors'.`,
		Example: `  runlet telemetry push --file readings.ndjson
  runlet telemetry stats
  runlet telemetry settings --retention 90d
  runlet telemetry replay --sensor 123 --from -7d`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(m.telemetryReplayCommand(), m.telemetrySettingsCommand(), m.telemetryStatsCommand())
	cmd.AddCommand(newTelemetryPushCmd())
	return cmd
}

func (m *Main) telemetryReplayCommand() *cobra.Command {
	var (
		sensor int64
		req    api.ReplayRequest
		admin  string
	)
	cmd := &cobra.Command{
		Use:   "replay --sensor ID [--from T] [--to T]",
		Short: "Feed a sensor's archived raw readings through the pipeline again",
		Long: `replay takes the archived raw readings of the sensor with a time in
[--from, --to) — the whole archive by default — through the server's
pipeline again, in the order they were archived: series points that are
missing come back, nothing is stored twice, and the readings are published
again to whatever consumes them (the original system kept its raw archive
"for re-playability"). Times are RFC 3339, unix seconds, or relative to now
(-24h, -7d). Replaying is an admin's to do (--admin, RUNLET_PASSWORD).`,
		Example: `  runlet telemetry replay --sensor 123
  runlet telemetry replay --sensor 123 --from -7d --to -6d --admin admin@localhost`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if sensor <= 0 {
				return runlet.Errorf(runlet.EINVALID, "name the sensor to replay with --sensor ID")
			}
			ctx := cmd.Context()
			var n int
			err := m.asAdmin(ctx, admin, "replaying readings", func(c *apiclient.Client) (err error) {
				n, err = c.Replay(ctx, sensor, req)
				return err
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "Replayed %d readings of sensor %d.\n", n, sensor)
			return nil
		},
	}
	cmd.Flags().Int64Var(&sensor, "sensor", 0, "the sensor's id (required)")
	cmd.Flags().StringVar(&req.From, "from", "", "replay readings from this time: RFC 3339, unix seconds, or relative (-7d); default the archive's start")
	cmd.Flags().StringVar(&req.To, "to", "", "up to this time (excluded); default now")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	return cmd
}

func (m *Main) telemetrySettingsCommand() *cobra.Command {
	var (
		retention    string
		autoRegister bool
		admin        string
		asJSON       bool
	)
	cmd := &cobra.Command{
		Use:   "settings [--retention D] [--auto-register=true|false]",
		Short: "Show or change how long readings are kept and whether sensors register themselves",
		Long: `settings shows the workspace's telemetry settings, or changes those given:
--retention is how long readings (series and raw archive) are kept, a
duration of an hour or more (720h, 90d, 52w; 366d by default); with
--auto-register=true the first reading of an unknown sensor registers it,
with that reading's secret as its secret, which its later readings must
then give (off by default: unknown sensors are refused and counted).
Changing them is an admin's to do (--admin, RUNLET_PASSWORD).`,
		Example: `  runlet telemetry settings
  runlet telemetry settings --retention 90d
  runlet telemetry settings --auto-register=true --admin admin@localhost`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var upd api.TelemetrySettingsUpdate
			if cmd.Flags().Changed("retention") {
				upd.Retention = &retention
			}
			if cmd.Flags().Changed("auto-register") {
				upd.AutoRegister = &autoRegister
			}
			var ts api.TelemetrySettings
			var err error
			if upd == (api.TelemetrySettingsUpdate{}) {
				_, client, err := m.signedIn()
				if err != nil {
					return err
				}
				ts, err = client.TelemetrySettings(ctx)
				if err != nil {
					return err
				}
			} else if err = m.asAdmin(ctx, admin, "changing the telemetry settings", func(c *apiclient.Client) (err error) {
				ts, err = c.SetTelemetrySettings(ctx, upd)
				return err
			}); err != nil {
				return err
			}
			if asJSON {
				return m.printJSON(ts)
			}
			auto := "off: readings of unknown sensors are refused"
			if ts.AutoRegister {
				auto = "on: an unknown sensor's first reading registers it"
			}
			fmt.Fprintf(m.Stdout, "Retention:          %s\nAuto-registration:  %s\n", ts.Retention, auto)
			return nil
		},
	}
	cmd.Flags().StringVar(&retention, "retention", "", "keep readings this long (720h, 90d, 52w)")
	cmd.Flags().BoolVar(&autoRegister, "auto-register", false, "let an unknown sensor's first reading register it (true or false)")
	cmd.Flags().StringVar(&admin, "admin", m.getenv("RUNLET_ADMIN"), adminFlagHelp)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the settings as JSON")
	return cmd
}

func (m *Main) telemetryStatsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stats",
		Short: "Show what the server's pipeline did with the workspace's readings",
		Long: `stats shows the counts of the server's telemetry pipeline for the
workspace since the server started: readings accepted (stored, or
duplicates of readings stored already), stored at their arrival time
because the sensor's clock was implausible, and refused, by reason.
Messages refused whole (a bad key, a bad batch, an unknown device) are
counted as messages, the others as readings.`,
		Example: `  runlet telemetry stats
  runlet telemetry stats --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, client, err := m.signedIn()
			if err != nil {
				return err
			}
			st, err := client.TelemetryStats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return m.printJSON(st)
			}
			m.printTelemetryStats(st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the counts as JSON")
	return cmd
}

func (m *Main) printTelemetryStats(st api.TelemetryStats) {
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	for _, row := range []struct {
		what string
		n    int64
	}{
		{"accepted", st.Accepted},
		{"  stored", st.Stored},
		{"  duplicates (stored already)", st.Duplicate},
		{"  at arrival time (implausible sensor time)", st.TimeReplaced},
		{"refused: unknown sensor", st.UnknownSensor},
		{"refused: wrong secret", st.BadSecret},
		{"refused: another workspace's sensor", st.OtherWorkspace},
		{"refused: inactive sensor", st.Inactive},
		{"refused messages: unknown device", st.UnknownDevice},
		{"refused messages: not a telemetry key", st.BadKey},
		{"refused messages: not a batch", st.BadBatch},
	} {
		fmt.Fprintf(tw, "%s\t%d\n", row.what, row.n)
	}
	_ = tw.Flush()
}
