//go:build !windows

package rabbitauth_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/runlet/runlet/bus"
	amqpbus "github.com/runlet/runlet/bus/amqp"
	"github.com/runlet/runlet/bus/amqp/rabbitauth"
	"github.com/runlet/runlet/bus/bustest"
	"github.com/runlet/runlet/internal/testenv"
)

const password = "pw-runlet"

// directory knows user "<workspace>" as a server of that workspace and
// "<workspace>~<device>" as that device.
type directory struct{}

func (directory) Authenticate(ctx context.Context, user, pw string) (bus.Principal, error) {
	if pw != password {
		return bus.Principal{}, errors.New("wrong password")
	}
	return directory{}.Principal(ctx, user)
}

func (directory) Principal(_ context.Context, user string) (bus.Principal, error) {
	if ws, device, ok := strings.Cut(user, "~"); ok {
		return bus.Principal{Role: bus.RoleDevice, Workspace: ws, Device: device}, nil
	}
	return bus.Principal{Role: bus.RoleServer, Workspace: user, Queues: bustest.QueueNames}, nil
}

// TestContractThroughBackend runs the contract suite, the device cases
// included, on a RabbitMQ node of the test's own whose only auth backend
// is this package answering from bus.PolicyFor.
func TestContractThroughBackend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	node := testenv.StartRabbitMQNode(t, "http://"+ln.Addr().String()+"/rabbitmq")
	u, err := url.Parse(node.URL)
	if err != nil {
		t.Fatal(err)
	}
	backend := rabbitauth.New(rabbitauth.Config{Vhost: strings.TrimPrefix(u.Path, "/"), Directory: directory{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	backend.Mount(mux, "/rabbitmq")
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	as := func(tb testing.TB, user string) bus.Bus {
		v := *u
		v.User = url.UserPassword(user, password)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := amqpbus.Open(ctx, v.String(), bus.Options{Name: tb.Name(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			tb.Fatalf("connect as %s: %v", user, err)
		}
		tb.Cleanup(func() { _ = b.Close() })
		return b
	}
	bustest.Run(t, bustest.Harness{
		Open: func(tb testing.TB, wss ...string) bus.Bus {
			if len(wss) != 1 {
				tb.Fatalf("this harness opens principals of one workspace, not %v", wss)
			}
			return as(tb, wss[0])
		},
		OpenDevice: func(tb testing.TB, ws, device string) bus.Bus { return as(tb, ws+"~"+device) },
		Workspace:  func(testing.TB) string { return testenv.RandomName("ws-") },
	})
}
