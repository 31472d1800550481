package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/runlet/runlet"
)

// The alert rules people set on a sensor, and the defaults of the
// workspace (issue 14, R-TEL-3, R-TEL-4): the temperature and battery
// ranges and the silence period, each set by a flag, cleared by its
// --clear- twin (then the workspace's default applies).

// ruleFlags are the flags of a sensor's rules.
type ruleFlags struct {
	tempMin, tempMax, battMin, battMax float64
	silence                            time.Duration
	clear                              map[string]*bool
}

// boundFlags are the flags of the four bounds, in the order they print.
var boundFlags = []string{"temp-min", "temp-max", "batt-min", "batt-max"}

// bind adds the flags; with clears, the --clear- twins too.
func (f *ruleFlags) bind(cmd *cobra.Command, clears bool, whose string) {
	fl := cmd.Flags()
	fl.Float64Var(&f.tempMin, "temp-min", 0, "alert when the temperature is below this, in °C"+whose)
	fl.Float64Var(&f.tempMax, "temp-max", 0, "alert when the temperature is above this, in °C"+whose)
	fl.Float64Var(&f.battMin, "batt-min", 0, "alert when the battery is below this, in %"+whose)
	fl.Float64Var(&f.battMax, "batt-max", 0, "alert when the battery is above this, in %"+whose)
	fl.DurationVar(&f.silence, "silence", 0, "alert when it has not reported for this long (90s, 30m, 2h)"+whose)
	if !clears {
		return
	}
	f.clear = map[string]*bool{}
	for _, name := range append(boundFlags, "silence") {
		f.clear[name] = new(bool)
		fl.BoolVar(f.clear[name], "clear-"+name, false, "remove the --"+name+" set before, so that the workspace's default applies")
		cmd.MarkFlagsMutuallyExclusive(name, "clear-"+name)
	}
}

// changed reports whether any rule flag was given.
func (f *ruleFlags) changed(cmd *cobra.Command) bool {
	for _, name := range append(boundFlags, "silence") {
		if cmd.Flags().Changed(name) || cmd.Flags().Changed("clear-"+name) {
			return true
		}
	}
	return false
}

// apply changes r as the flags given say.
func (f *ruleFlags) apply(cmd *cobra.Command, r *runlet.SensorRules) error {
	changed := cmd.Flags().Changed
	for _, b := range []struct {
		name string
		v    float64
		to   **float64
	}{{"temp-min", f.tempMin, &r.TempMin}, {"temp-max", f.tempMax, &r.TempMax}, {"batt-min", f.battMin, &r.BattMin}, {"batt-max", f.battMax, &r.BattMax}} {
		switch {
		case changed(b.name):
			v := b.v
			*b.to = &v
		case changed("clear-" + b.name):
			*b.to = nil
		}
	}
	switch {
	case changed("silence"):
		if f.silence < runlet.MinAlertPeriod {
			return runlet.Errorf(runlet.EINVALID, "--silence must be at least %v, not %v", runlet.MinAlertPeriod, f.silence)
		}
		r.Silence = runlet.Duration(f.silence)
	case changed("clear-silence"):
		r.Silence = 0
	}
	return r.Check()
}

// bound is a bound as a table cell: its value with its unit, or def
// (what applies when it is unset).
func bound(m runlet.Metric, v *float64, def string) string {
	if v == nil {
		return def
	}
	return formatValue(m, *v)
}

// rulesLines are the rows of a sensor's rules for printSensor, each
// saying "default" when the workspace's applies.
func rulesLines(r runlet.SensorRules) [][2]string {
	temp := fmt.Sprintf("%s .. %s", bound(runlet.MetricTemp, r.TempMin, "default"), bound(runlet.MetricTemp, r.TempMax, "default"))
	batt := fmt.Sprintf("%s .. %s", bound(runlet.MetricBatt, r.BattMin, "default"), bound(runlet.MetricBatt, r.BattMax, "default"))
	silence := "default"
	if r.Silence > 0 {
		silence = runlet.FormatDuration(time.Duration(r.Silence))
	}
	return [][2]string{{"Temperature range", temp}, {"Battery range", batt}, {"Silence period", silence}}
}
