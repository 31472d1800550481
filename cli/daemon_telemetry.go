package cli

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/daemon"
	"github.com/runlet/runlet/telemetry/gateway"
)

// telemetryFlags are `runlet daemon`'s flags for its sensors: where it
// takes their readings, and how much its outbox may hold.
type telemetryFlags struct {
	listen       string
	mqtt         string
	topic        string
	user         string
	passwordFile string
	outboxMB     int64
	batchTime    time.Duration
}

func (f *telemetryFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "telemetry-listen", daemon.ListenAuto,
		"address of the local readings endpoint (POST /v1/readings), loopback unless told otherwise; 'auto': "+gateway.DefaultListen+", or a free loopback port when another daemon has it (written to the home's "+gateway.AddrFile+", where 'runlet telemetry push' finds it); 'off' serves none")
	fs.StringVar(&f.mqtt, "mqtt", "", "MQTT broker the sensors publish to, tcp://host:1883 (user:password@ allowed); none by default")
	fs.StringVar(&f.topic, "mqtt-topic", gateway.DefaultMQTTTopic, "MQTT topic filter of the sensors' messages")
	fs.StringVar(&f.user, "mqtt-user", "", "MQTT user name (overrides the URL's)")
	fs.StringVar(&f.passwordFile, "mqtt-password-file", "", "file holding the MQTT password (overrides the URL's)")
	fs.DurationVar(&f.batchTime, "telemetry-batch-time", gateway.DefaultBatchTime,
		"how long readings are gathered into one message to the server, at most "+gateway.MaxBatchTime.String()+"; on a metered link whose sensors report minutes apart, 5m sends one message instead of one per reading (docs/bandwidth.md)")
	fs.Int64Var(&f.outboxMB, "telemetry-outbox-mb", 0,
		"MiB of disk the readings waiting for the broker may take; past it the oldest are dropped, counted (0: 256 MiB, about 3.8 million readings)")
}

// config turns the flags into the daemon's telemetry configuration.
func (f *telemetryFlags) config() (daemon.Config, error) {
	cfg := daemon.Config{TelemetryListen: f.listen}
	if f.outboxMB < 0 {
		return cfg, runlet.Errorf(runlet.EINVALID, "--telemetry-outbox-mb %d is negative: give a size in MiB, or 0 for the default.", f.outboxMB)
	}
	cfg.TelemetrySpoolBytes = f.outboxMB << 20
	if f.batchTime <= 0 || f.batchTime > gateway.MaxBatchTime {
		return cfg, runlet.Errorf(runlet.EINVALID, "--telemetry-batch-time %s is out of range: give a duration above 0 and at most %s.", f.batchTime, gateway.MaxBatchTime)
	}
	cfg.TelemetryBatchTime = f.batchTime
	if f.mqtt == "" {
		return cfg, nil
	}
	cfg.MQTT = gateway.MQTTConfig{URL: f.mqtt, Topic: f.topic, User: f.user}
	if f.passwordFile != "" {
		b, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return cfg, runlet.Errorf(runlet.EINVALID, "Cannot read the MQTT password: %v.", err)
		}
		cfg.MQTT.Password = strings.TrimRight(string(b), "\r\n")
	}
	return cfg, nil
}
