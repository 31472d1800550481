package nats_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/runlet/runlet/bus"
	natsbus "github.com/runlet/runlet/bus/nats"
	"github.com/runlet/runlet/bus/nats/embedded"
)

// TestDevicePermissions: a device principal consumes its own dispatch
// queue, publishes status, and is refused everything else.
func TestDevicePermissions(t *testing.T) {
	s := startEmbedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := s.Bus(ctx, bus.Options{Name: "runlet-server", Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	const ws = "acme"
	mine := bus.Queue{Name: bus.DispatchQueue("pi"), Pattern: bus.DispatchKey("pi"), AckWait: 2 * time.Second}
	theirs := bus.Queue{Name: bus.DispatchQueue("pj"), Pattern: bus.DispatchKey("pj"), AckWait: 2 * time.Second}
	status := bus.Queue{Name: bus.StatusQueue, Pattern: bus.AllStatus, AckWait: 2 * time.Second}
	for _, q := range []bus.Queue{mine, theirs, status} {
		if err := srv.DeclareQueue(ctx, ws, q); err != nil {
			t.Fatalf("server declares %s: %v", q.Name, err)
		}
	}
	dev := open(t, withUser(s.URL(), "device:acme:pi", testPassword), bus.Options{Name: "pi"})

	// Its own dispatch queue.
	dispatched := make(chan bus.Delivery, 1)
	if _, err := dev.Consume(ctx, ws, mine, func(d bus.Delivery) { _ = d.Ack(); dispatched <- d }); err != nil {
		t.Fatalf("device consumes its dispatch queue: %v", err)
	}
	if err := srv.PublishDurable(ctx, ws, bus.Message{ID: "job-1", Key: bus.DispatchKey("pi")}); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-dispatched:
		if d.ID != "job-1" {
			t.Errorf("dispatched %q", d.ID)
		}
	case <-ctx.Done():
		t.Fatal("the device got no dispatch")
	}

	// Status to the servers: declare (it exists) and publish durably.
	if err := dev.DeclareQueue(ctx, ws, status); err != nil {
		t.Errorf("device declares the existing status queue: %v", err)
	}
	got := make(chan bus.Delivery, 1)
	if _, err := srv.Consume(ctx, ws, status, func(d bus.Delivery) { _ = d.Ack(); got <- d }); err != nil {
		t.Fatal(err)
	}
	if err := dev.PublishDurable(ctx, ws, bus.Message{ID: "st-1", Key: bus.StatusKey("e1", "pi")}); err != nil {
		t.Fatalf("device publishes status: %v", err)
	}
	select {
	case d := <-got:
		if d.ID != "st-1" {
			t.Errorf("status %q", d.ID)
		}
	case <-ctx.Done():
		t.Fatal("the server got no status")
	}

	// Refused: another device's queue, making or deleting queues, another
	// workspace.
	forbidden := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, bus.ErrForbidden) {
			t.Errorf("device %s: got %v, want ErrForbidden", op, err)
		}
	}
	_, err = dev.Consume(ctx, ws, theirs, func(bus.Delivery) {})
	forbidden("consumes another device's queue", err)
	forbidden("declares a new queue", dev.DeclareQueue(ctx, ws, bus.Queue{Name: "mine", Pattern: "x.y"}))
	forbidden("deletes its queue", dev.DeleteQueue(ctx, ws, mine.Name))
	forbidden("publishes in another workspace", dev.Publish(ctx, "other", bus.Message{Key: bus.HeartbeatKey("pi")}))
	_, err = dev.Subscribe(ctx, "other", "#", func(bus.Message) {})
	forbidden("subscribes in another workspace", err)

	// Still connected and useful after the refusals.
	beats := make(chan bus.Message, 1)
	if _, err := srv.Subscribe(ctx, ws, bus.AllHeartbeats, func(m bus.Message) { beats <- m }); err != nil {
		t.Fatal(err)
	}
	if err := dev.Publish(ctx, ws, bus.Message{ID: "hb", Key: bus.HeartbeatKey("pi")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-beats:
	case <-ctx.Done():
		t.Fatal("the server got no heartbeat")
	}
}

// TestConsumerConnectionDies: a consumer whose connection drops without
// settling (no Close, no nak) gets its delivery redelivered after AckWait.
func TestConsumerConnectionDies(t *testing.T) {
	s := startEmbedded(t)
	u := withUser(s.URL(), "w", testPassword)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pub := open(t, u, bus.Options{})
	q := bus.Queue{Name: "work", Pattern: bus.DispatchKey("pi"), AckWait: time.Second}
	if err := pub.DeclareQueue(ctx, "w", q); err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishDurable(ctx, "w", bus.Message{ID: "m", Key: bus.DispatchKey("pi")}); err != nil {
		t.Fatal(err)
	}
	dying := open(t, u, bus.Options{})
	first := make(chan struct{}, 1)
	if _, err := dying.Consume(ctx, "w", q, func(bus.Delivery) { first <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	<-first
	natsbus.Kill(dying)
	again := make(chan bus.Delivery, 1)
	if _, err := open(t, u, bus.Options{}).Consume(ctx, "w", q, func(d bus.Delivery) { _ = d.Ack(); again <- d }); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-again:
		if !d.Redelivered {
			t.Error("not marked Redelivered")
		}
	case <-ctx.Done():
		t.Fatal("no redelivery after the consumer's connection died")
	}
}

// TestEmbeddedTLS: with a certificate, clients connect over TLS.
func TestEmbeddedTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	cfg := embeddedConfig(t.TempDir())
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	s, err := embedded.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := withUser(s.URL(), "w", testPassword)
	b, err := natsbus.Open(ctx, u, bus.Options{Logger: quiet()}, natsgo.Secure(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("open over TLS: %v", err)
	}
	defer b.Close()
	got := make(chan bus.Message, 1)
	if _, err := b.Subscribe(ctx, "w", "#", func(m bus.Message) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, "w", bus.Message{ID: "x", Key: bus.EventKey}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("nothing over TLS")
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "runlet test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
