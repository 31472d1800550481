package cli

import (
	"context"
	"fmt"
	"math"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

func (m *Main) sensorsReadingsCommand() *cobra.Command {
	var (
		q             api.SeriesQuery
		metric        string
		asCSV, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "readings ID",
		Short: "Show a sensor's readings: every point, or min, max and mean per step",
		Long: `readings shows one metric of the sensor ID (temp, the default, or batt)
over a range: the last 24 hours unless --from and --to say otherwise, each
an RFC 3339 time, unix seconds, or a time relative to now (-24h, -7d, now).
Without --step every reading is shown; with a step (5m, 1h, 1d) the
readings are summed up per bucket of that width (min, max, mean, count);
--step auto picks one that makes at most about 1,000 buckets. At most
--limit lines (1,000 at most) are shown: for more, narrow the range or
widen the step. --csv prints time,min,max,mean,count lines for a
spreadsheet.`,
		Example: `  runlet sensors readings 123
  runlet sensors readings 123 --from -7d --step 1h
  runlet sensors readings 123 --metric batt --from 2026-12-01T00:00:00Z --to 2026-12-02T00:00:00Z
  runlet sensors readings 123 --from -30d --step auto --csv > fridge.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q.Metric = runlet.Metric(metric)
			return m.sensorReadings(cmd.Context(), args[0], q, asCSV, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&metric, "metric", string(runlet.MetricTemp), "temp (°C) or batt (%)")
	fl.StringVar(&q.From, "from", "", "start: RFC 3339, unix seconds, or relative (-24h, -7d); default 24 h before --to")
	fl.StringVar(&q.To, "to", "", "end (excluded), as --from; default now")
	fl.StringVar(&q.Step, "step", "", "bucket width (5m, 1h, 1d) or auto; default every reading")
	fl.IntVar(&q.Limit, "limit", 0, "at most this many lines (default and maximum 1000)")
	fl.BoolVar(&asCSV, "csv", false, "print CSV: time,min,max,mean,count")
	fl.BoolVar(&asJSON, "json", false, "print the answer as JSON")
	cmd.MarkFlagsMutuallyExclusive("csv", "json")
	return cmd
}

func (m *Main) sensorReadings(ctx context.Context, arg string, q api.SeriesQuery, asCSV, asJSON bool) error {
	id, err := sensorArg(arg)
	if err != nil {
		return err
	}
	_, client, err := m.signedIn()
	if err != nil {
		return err
	}
	if asCSV {
		b, err := client.SeriesCSV(ctx, id, q)
		if err != nil {
			return err
		}
		_, err = m.Stdout.Write(b)
		return err
	}
	s, err := client.Series(ctx, id, q)
	if err != nil {
		return err
	}
	if asJSON {
		return m.printJSON(s)
	}
	m.printSeries(s)
	return nil
}

// printSeries is a compact table: a value per line for every point, or
// min, max, mean and count per bucket.
func (m *Main) printSeries(s api.Series) {
	const layout = "2006-01-02 15:04:05"
	if len(s.Points) == 0 {
		fmt.Fprintf(m.Stdout, "No %s readings of sensor %d from %s to %s.\n", s.Metric, s.Sensor, s.From.Local().Format(layout), s.To.Local().Format(layout))
		return
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	if s.Step == "" {
		fmt.Fprintf(tw, "TIME\t%s\n", metricHeader(s.Metric))
		for _, p := range s.Points {
			fmt.Fprintf(tw, "%s\t%s\n", p.Time.Local().Format(layout), formatValue(s.Metric, p.Mean))
		}
	} else {
		fmt.Fprintf(tw, "TIME (%s)\tMIN\tMAX\tMEAN\tCOUNT\n", s.Step)
		for _, p := range s.Points {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", p.Time.Local().Format(layout),
				formatValue(s.Metric, p.Min), formatValue(s.Metric, p.Max), formatValue(s.Metric, round(p.Mean)), p.Count)
		}
	}
	_ = tw.Flush()
	if s.Truncated {
		fmt.Fprintf(m.Stderr, "Only the first %d lines: narrow the range (--from, --to) or widen the step (--step).\n", len(s.Points))
	}
}

func metricHeader(m runlet.Metric) string {
	switch m {
	case runlet.MetricTemp:
		return "TEMP"
	case runlet.MetricBatt:
		return "BATT"
	}
	return string(m)
}

// round keeps a mean to 3 decimals for the table.
func round(v float64) float64 { return math.Round(v*1000) / 1000 }
