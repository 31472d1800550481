package assemble

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
)

// TestBrokerError: each way of failing to reach the broker is one sentence
// with its code, naming the broker (as given, credentials masked) and what
// to check.
func TestBrokerError(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	live, stopped := context.Background(), func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}()
	cases := []struct {
		name     string
		ctx      context.Context
		timedOut bool
		err      error
		code     string
		want     string
	}{
		{"refused", live, true, fmt.Errorf("amqp: connect: %w", refused), runlet.EUNAVAILABLE,
			"the broker at B (--broker, RUNLET_BROKER) did not answer within 2s (connect: connection refused): check that it runs and that this machine can reach it, or wait longer with --broker-timeout"},
		{"silent", live, true, errors.New("nats: no servers available for connection"), runlet.EUNAVAILABLE,
			"the broker at B (--broker, RUNLET_BROKER) did not answer within 2s: check that it runs"},
		{"credentials", live, false, fmt.Errorf("%w: ACCESS_REFUSED", bus.ErrAuth), runlet.EUNAUTHORIZED,
			"the broker at B (--broker, RUNLET_BROKER) refused the server's credentials: check the user and the password in the URL"},
		{"vhost", live, false, fmt.Errorf("%w: vhost not found", bus.ErrForbidden), runlet.EFORBIDDEN,
			"the broker at B (--broker, RUNLET_BROKER) does not let the server in: check that the vhost in the URL exists"},
		{"scheme", live, false, fmt.Errorf("%w: mqtt", bus.ErrScheme), runlet.EINVALID,
			"the broker URL B (--broker, RUNLET_BROKER) is not one runlet knows: use nats://, tls://, amqp:// or amqps://"},
		{"certificate", live, false, fmt.Errorf("x: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), runlet.EUNAVAILABLE,
			"the broker at B (--broker, RUNLET_BROKER) has a certificate this machine does not trust (x509: certificate signed by unknown authority): give it one"},
		{"other", live, false, errors.New("amqp: frame too large"), runlet.EUNAVAILABLE,
			"cannot connect to the broker at B (--broker, RUNLET_BROKER): amqp: frame too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := brokerError(c.ctx, c.timedOut, "B", 2*time.Second, c.err)
			if runlet.ErrorCode(err) != c.code || !strings.HasPrefix(runlet.ErrorMessage(err), c.want) {
				t.Errorf("got %q (%s)\nwant %q (%s)", runlet.ErrorMessage(err), runlet.ErrorCode(err), c.want, c.code)
			}
			if !errors.Is(err, c.err) {
				t.Errorf("the cause is not in the chain: %v", err)
			}
		})
	}
	t.Run("interrupted", func(t *testing.T) {
		err := brokerError(stopped, true, "B", 2*time.Second, refused)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped while connecting to the broker at B") {
			t.Errorf("got %v", err)
		}
	})
}

func TestWorthWaiting(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("x: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("amqp: %w", io.EOF), true},
		{errors.New("amqp: frame too large"), false},
		{fmt.Errorf("%w: no", bus.ErrAuth), false},
		{fmt.Errorf("%w: %w", bus.ErrAuth, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false},
		{&tls.CertificateVerificationError{}, false},
	} {
		if got := worthWaiting(c.err); got != c.want {
			t.Errorf("worthWaiting(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestListenError(t *testing.T) {
	inUse := fmt.Errorf("listen on A: %w", &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)})
	if err := listenError("A", "--listen, RUNLET_LISTEN", inUse); runlet.ErrorMessage(err) != "the address A (--listen, RUNLET_LISTEN) is in use by another process, another runlet server perhaps: stop it, or choose another address with --listen" {
		t.Errorf("in use: %q", runlet.ErrorMessage(err))
	}
	windows := &net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.Errno(wsaeaddrinuse))}
	if err := listenError("A", "--broker-listen, RUNLET_BROKER_LISTEN", windows); !strings.Contains(runlet.ErrorMessage(err), "is in use by another process") {
		t.Errorf("in use on Windows: %q", runlet.ErrorMessage(err))
	}
	other := &net.OpError{Op: "listen", Err: os.NewSyscallError("bind", syscall.EACCES)}
	if err := listenError("A", "--listen, RUNLET_LISTEN", other); runlet.ErrorMessage(err) != "cannot listen on A (--listen, RUNLET_LISTEN): bind: permission denied" {
		t.Errorf("permission: %q", runlet.ErrorMessage(err))
	}
	tlsErr := errors.New("server: give both the TLS certificate and its key")
	if err := listenError("A", "--listen, RUNLET_LISTEN", tlsErr); err != tlsErr {
		t.Errorf("another error was changed: %v", err)
	}
}
