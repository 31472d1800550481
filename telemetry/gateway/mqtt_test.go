package gateway_test

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/runlet/runlet/internal/testenv"
	"github.com/runlet/runlet/telemetry/gateway"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// mosquittoAddr is the Mosquitto broker of this machine.
const mosquittoAddr = "127.0.0.1:1883"

// mosquitto skips the test (unless RUNLET_REQUIRE_SERVICES=1) when no
// broker or no mosquitto_pub is there.
func mosquitto(t *testing.T) {
	t.Helper()
	if err := testenv.Reachable(mosquittoAddr); err != nil {
		testenv.Unavailable(t, "Mosquitto", err)
	}
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		testenv.Unavailable(t, "mosquitto_pub", err)
	}
}

// publish sends each message to topic with QoS 1, as a sensor would.
func publish(t *testing.T, topic string, msgs ...string) {
	t.Helper()
	cmd := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-t", topic, "-l")
	cmd.Stdin = strings.NewReader(strings.Join(msgs, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
}

// serveMQTT runs g's MQTT subscription until stop.
func serveMQTT(t *testing.T, g *gateway.Gateway, cfg gateway.MQTTConfig) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.ServeMQTT(ctx, cfg) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("ServeMQTT: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Messages published to the user's broker reach the spool, bad ones are
// counted and do not stop the others, and what is published while the
// gateway is away is delivered when it is back (a persistent session).
func TestMQTT(t *testing.T) {
	mosquitto(t)
	topic := testenv.RandomName("runlet-test") + "/sensors"
	cfg := gateway.MQTTConfig{URL: "tcp://" + mosquittoAddr, Topic: topic + "/#", ClientID: testenv.RandomName("runlet-test")}
	t.Cleanup(func() { endSession(cfg.ClientID) })
	sp := openSpool(t, t.TempDir())
	g := newGateway(t, sp, nil, "")
	stop := serveMQTT(t, g, cfg)
	// The subscription is in place once a first message comes through.
	testenv.Eventually(t, "a first message over MQTT", patience, func() bool {
		publish(t, topic+"/probe", msg(9, "s", 0))
		return g.Stats().Accepted > 0
	})
	probes := g.Stats().Accepted

	var live []string
	for i := range 20 {
		live = append(live, msg(1, "s3cret", float64(i)))
	}
	live = append(live, `{"device":{"id":1,"auth":"s3cret"},"reading":{"temp":"warm"}}`, `not json`)
	publish(t, topic+"/fridge", live...)
	testenv.Eventually(t, "20 readings over MQTT", patience, func() bool { return g.Stats().Accepted == probes+20 })
	testenv.Eventually(t, "2 refusals over MQTT", patience, func() bool {
		st := g.Stats()
		return st.Refused[sensormsg.ReasonNotNumeric] == 1 && st.Refused[sensormsg.ReasonJSON] == 1
	})

	// Away: the broker keeps the session's messages.
	stop()
	var away []string
	for i := range 30 {
		away = append(away, msg(2, "s3cret", float64(100+i)))
	}
	publish(t, topic+"/freezer", away...)
	g2 := newGateway(t, sp, nil, "")
	serveMQTT(t, g2, cfg)
	testenv.Eventually(t, "the 30 readings published while the gateway was away", patience, func() bool {
		return g2.Stats().Accepted >= 30
	})
	if n := g2.Stats().Accepted; n != 30 {
		t.Errorf("the gateway back took %d readings, want 30", n)
	}
	if p := sp.Stats().Pending; p != probes+20+30 {
		t.Errorf("the spool holds %d readings, want %d", p, probes+20+30)
	}
}

// endSession removes the persistent session of client id from the broker:
// connecting with a clean session ends the previous one.
func endSession(id string) {
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + mosquittoAddr).SetClientID(id).SetCleanSession(true))
	if t := c.Connect(); t.WaitTimeout(10*time.Second) && t.Error() == nil {
		c.Disconnect(0)
	}
}
