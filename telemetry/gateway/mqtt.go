package gateway

import (
	"context"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/internal/redact"
	"github.com/runlet/runlet/telemetry/sensormsg"
)

// MQTTConfig says where the sensors publish: a broker the user runs.
type MQTTConfig struct {
	// URL is the broker, tcp://host:1883 (or ssl://, ws://, wss://); it
	// may carry user:password, which User and Password override.
	URL      string
	User     string
	Password string
	// Topic is the topic filter the sensors publish to (DefaultMQTTTopic).
	Topic string
	// ClientID names the gateway's persistent session at the broker: the
	// same id across restarts, unique among the broker's clients.
	// Required.
	ClientID string
	// MaxGroup bounds the readings kept in one spool write
	// (DefaultMQTTGroup): messages that arrive while one write is under
	// way share the next one.
	MaxGroup int
}

// Defaults of MQTTConfig.
const (
	DefaultMQTTTopic = "sensors/#"
	DefaultMQTTGroup = 1000
)

// mqttQueue bounds the messages taken from the broker and waiting for a
// spool write; beyond it the gateway stops reading the broker until the
// spool catches up.
const mqttQueue = 4096

// mqttWork is one MQTT message parsed, waiting for its readings to be
// kept before it is acknowledged.
type mqttWork struct {
	msgs []sensormsg.Message
	ack  func()
}

// ServeMQTT subscribes (QoS 1, a persistent session) to cfg.Topic at the
// broker and accepts what sensors publish there until ctx ends. Each
// message is acknowledged to the broker only once its readings are in the
// spool; a message the spool could not take is tried again, and stays
// unacknowledged, so that the broker delivers it again after a restart.
// Refused messages are acknowledged and counted. ServeMQTT connects in
// the background and reconnects by itself: it fails only on a
// configuration it cannot use.
func (g *Gateway) ServeMQTT(ctx context.Context, cfg MQTTConfig) error {
	if cfg.Topic == "" {
		cfg.Topic = DefaultMQTTTopic
	}
	if cfg.MaxGroup <= 0 {
		cfg.MaxGroup = DefaultMQTTGroup
	}
	opts, err := mqttOptions(cfg)
	if err != nil {
		return err
	}
	work := make(chan mqttWork, mqttQueue)
	handle := func(_ mqtt.Client, m mqtt.Message) {
		msgs, refused := sensormsg.Parse(m.Payload())
		g.Refused("mqtt "+m.Topic(), refused)
		if len(msgs) == 0 {
			m.Ack()
			return
		}
		select {
		case work <- mqttWork{msgs: msgs, ack: m.Ack}:
		case <-ctx.Done(): // unacknowledged: delivered again next time
		}
	}
	opts.SetDefaultPublishHandler(handle)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		t := c.Subscribe(cfg.Topic, 1, handle)
		if t.WaitTimeout(time.Minute) && t.Error() == nil {
			g.log.Info("listening for sensor readings over MQTT", "broker", redact.URL(cfg.URL), "topic", cfg.Topic)
			return
		}
		g.log.Error("the MQTT broker did not take the subscription; reconnecting", "broker", redact.URL(cfg.URL), "topic", cfg.Topic, "err", t.Error())
		c.Disconnect(0) // the reconnect subscribes again
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		g.log.Warn("lost the MQTT broker; reconnecting", "broker", redact.URL(cfg.URL), "err", err)
	})
	client := mqtt.NewClient(opts)
	client.Connect() // retries in the background (ConnectRetry)
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.keepMQTT(ctx, work, cfg.MaxGroup)
	}()
	<-ctx.Done()
	client.Disconnect(250)
	<-done
	return nil
}

// keepMQTT writes the readings of the waiting messages to the spool, as
// many as MaxGroup in one write, and acknowledges them once kept.
func (g *Gateway) keepMQTT(ctx context.Context, work <-chan mqttWork, maxGroup int) {
	var group []mqttWork
	var msgs []sensormsg.Message
	for {
		group, msgs = group[:0], msgs[:0]
		select {
		case <-ctx.Done():
			return
		case w := <-work:
			group, msgs = append(group, w), append(msgs, w.msgs...)
		}
	more:
		for len(msgs) < maxGroup {
			select {
			case w := <-work:
				group, msgs = append(group, w), append(msgs, w.msgs...)
			default:
				break more
			}
		}
		pause := g.cfg.RetryFirst
		for {
			_, err := g.Accept(ctx, msgs)
			if err == nil {
				break
			}
			g.log.Error("readings from MQTT were not kept; retrying", "readings", len(msgs), "err", err)
			if !sleep(ctx, pause) {
				return // unacknowledged: the broker delivers them again
			}
			pause = min(2*pause, g.cfg.RetryMax)
		}
		for _, w := range group {
			w.ack()
		}
	}
}

// mqttOptions checks cfg and turns it into paho's options.
func mqttOptions(cfg MQTTConfig) (*mqtt.ClientOptions, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "The MQTT broker URL %q is not valid: give one like tcp://localhost:1883.", redact.URL(cfg.URL))
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return nil, runlet.Errorf(runlet.EINVALID, "The MQTT broker URL %q has the scheme %q: use tcp://, ssl://, ws:// or wss://.", redact.URL(cfg.URL), u.Scheme)
	}
	if cfg.ClientID == "" {
		return nil, runlet.Errorf(runlet.EINVALID, "gateway: an MQTT client id is required")
	}
	user, password := cfg.User, cfg.Password
	if u.User != nil {
		if user == "" {
			user = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && password == "" {
			password = p
		}
		u.User = nil
	}
	opts := mqtt.NewClientOptions().
		AddBroker(u.String()).
		SetClientID(cfg.ClientID).
		SetUsername(user).
		SetPassword(password).
		SetCleanSession(false). // the broker keeps what comes while we are away
		SetAutoAckDisabled(true).
		SetOrderMatters(true). // one message at a time, in order
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second)
	return opts, nil
}
