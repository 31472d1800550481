package amqp_test

import (
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/internal/testenv"
)

func TestWrongCredentials(t *testing.T) {
	url := testenv.RabbitMQ(t)
	user := testenv.RandomName("runlet-user-")
	good := testenv.RabbitMQUser(t, url, user, "right", ".*", ".*", ".*")
	bad := strings.Replace(good, ":right@", ":wrong@", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := amqpbus.Open(ctx, bad, bus.Options{})
	if !errors.Is(err, bus.ErrAuth) {
		t.Fatalf("open with a wrong password: got %v, want ErrAuth", err)
	}
	if b != nil || strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the password, or a bus came back", err)
	}
	t.Logf("wrong password: %v", err)
}

func TestUnknownScheme(t *testing.T) {
	for _, u := range []string{"nats://127.0.0.1:4222", "http://x", "127.0.0.1:5672"} {
		if _, err := amqpbus.Open(context.Background(), u, bus.Options{}); !errors.Is(err, bus.ErrScheme) {
			t.Errorf("open %s: got %v, want ErrScheme", u, err)
		}
	}
	// amqps is taken (here it fails its TLS handshake with a plain port).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := amqpbus.Open(ctx, "amqps://guest:guest@"+testenv.RabbitMQAddr+"/", bus.Options{}); err == nil || errors.Is(err, bus.ErrScheme) {
		t.Errorf("open amqps:// on a plain port: got %v, want a TLS error", err)
	} else {
		t.Logf("amqps on a plain port: %v", err)
	}
}

// TestForbidden: a user whose permissions name one workspace is refused
// another's exchange with ErrForbidden, and the refusal (which closes an
// AMQP channel) leaves its bus working.
func TestForbidden(t *testing.T) {
	url := testenv.RabbitMQ(t)
	ctx := testCtx(t)
	perm := amqpbus.Permission("mine")
	b := open(t, testenv.RabbitMQUser(t, url, testenv.RandomName("runlet-user-"), "pw", perm, perm, perm), bus.Options{})
	q := bus.Queue{Name: "status", Pattern: bus.AllStatus}
	for op, err := range map[string]error{
		"Publish":        b.Publish(ctx, "theirs", msg(bus.EventKey, "x")),
		"PublishDurable": b.PublishDurable(ctx, "theirs", msg(bus.StatusKey("e", "d"), "y")),
		"DeclareQueue":   b.DeclareQueue(ctx, "theirs", q),
		"DeleteQueue":    b.DeleteQueue(ctx, "theirs", "status"),
	} {
		if !errors.Is(err, bus.ErrForbidden) {
			t.Errorf("%s in a forbidden workspace: got %v, want ErrForbidden", op, err)
		}
	}
	must(t, "declare in my workspace", b.DeclareQueue(ctx, "mine", q))
	must(t, "publish durable in my workspace", b.PublishDurable(ctx, "mine", msg(bus.StatusKey("e", "d"), "z")))
	if s := b.State(); s != bus.Connected {
		t.Errorf("state after refusals = %v", s)
	}
}

// TestPermission: the regexp a server grants a workspace's principals
// covers every name of that workspace and nothing of another, including
// workspaces whose names contain dots.
func TestPermission(t *testing.T) {
	re := regexp.MustCompile(amqpbus.Permission("a", "b.c"))
	allowed := []string{
		amqpbus.ExchangeName("a"), amqpbus.QueueName("a", "device.pi"), amqpbus.ExchangeName("a") + ".sub.x",
		amqpbus.ExchangeName("b.c"), amqpbus.QueueName("b.c", "status"),
	}
	refused := []string{
		amqpbus.ExchangeName("ab"), amqpbus.ExchangeName("b"), amqpbus.QueueName("b", "c"),
		amqpbus.ExchangeName("a.b"), "runlet.a%2Eb", "amq.default", "runlet", "xrunlet.a",
	}
	for _, n := range allowed {
		if !re.MatchString(n) {
			t.Errorf("%s refused by %s", n, re)
		}
	}
	for _, n := range refused {
		if re.MatchString(n) {
			t.Errorf("%s allowed by %s", n, re)
		}
	}
}

// TestTooLarge lowers the broker's max_message_size (holding the broker
// exclusively, restored after): a durable message over it fails with
// ErrTooLarge, without failing the bus.
func TestTooLarge(t *testing.T) {
	url := testenv.RabbitMQForRestart(t)
	ctx := testCtx(t)
	testenv.Run(t, "rabbitmqctl", "-q", "eval", "application:set_env(rabbit, max_message_size, 65536).")
	t.Cleanup(func() {
		if out, err := exec.Command("rabbitmqctl", "-q", "eval", "application:set_env(rabbit, max_message_size, 134217728).").CombinedOutput(); err != nil {
			t.Errorf("restore max_message_size: %v\n%s", err, out)
		}
	})
	b := open(t, url, bus.Options{})
	q := bus.Queue{Name: "status", Pattern: bus.AllStatus}
	must(t, "declare", b.DeclareQueue(ctx, "ws", q))
	big := msg(bus.StatusKey("e", "d"), "big")
	big.Body = make([]byte, 100_000)
	if err := b.PublishDurable(ctx, "ws", big); !errors.Is(err, bus.ErrTooLarge) {
		t.Errorf("publish durable of 100 kB over a 64 KiB maximum: got %v, want ErrTooLarge", err)
	} else {
		t.Logf("too large: %v", err)
	}
	must(t, "publish durable after", b.PublishDurable(ctx, "ws", msg(bus.StatusKey("e", "d"), "small")))
}
