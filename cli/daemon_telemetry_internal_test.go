package cli

import (
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/runlet/runlet"
)

// TestTelemetryBatchTimeFlag: --telemetry-batch-time reaches the daemon,
// within (0, gateway.MaxBatchTime]; outside it is refused by name.
func TestTelemetryBatchTimeFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
		ok   bool
	}{
		{nil, 50 * time.Millisecond, true},
		{[]string{"--telemetry-batch-time", "5m"}, 5 * time.Minute, true},
		{[]string{"--telemetry-batch-time", "15m"}, 15 * time.Minute, true},
		{[]string{"--telemetry-batch-time", "16m"}, 0, false},
		{[]string{"--telemetry-batch-time", "0s"}, 0, false},
	} {
		var f telemetryFlags
		fs := pflag.NewFlagSet("daemon", pflag.ContinueOnError)
		f.add(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := f.config()
		switch {
		case c.ok && (err != nil || cfg.TelemetryBatchTime != c.want):
			t.Errorf("%v: %v, %v; want %v", c.args, cfg.TelemetryBatchTime, err, c.want)
		case !c.ok && runlet.ErrorCode(err) != runlet.EINVALID:
			t.Errorf("%v: %v, want an invalid-flag error", c.args, err)
		}
	}
}
