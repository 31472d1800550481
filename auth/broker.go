package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/bus"
	"github.com/runlet/runlet/store"
)

// A broker client other than the server itself is a device: user = the
// device ID, password = the device's API token, while neither is revoked.
// What a principal may then do is bus.PolicyFor's to say; the brokers'
// adapters (the embedded NATS authenticator, the RabbitMQ HTTP auth
// backend) ask here only who the client is.

var errNoDevice = errors.New("no such device, or revoked")

// BrokerUser is the embedded NATS Authenticator: the principal of a device
// connecting with its ID and API token, or an error that refuses it.
func (s *Service) BrokerUser(user, password string) (bus.Principal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.brokerUser(ctx, user, password)
}

func (s *Service) brokerUser(ctx context.Context, user, password string) (bus.Principal, error) {
	t, err := s.db.TokenByHash(ctx, store.HashSecret(password))
	if err != nil {
		return bus.Principal{}, errors.New("unknown, revoked or expired token")
	}
	if t.Kind != runlet.TokenDevice || t.Subject != user {
		return bus.Principal{}, errors.New("not this device's token")
	}
	d, err := s.db.Device(ctx, t.Workspace, t.Subject)
	if err != nil || d.Revoked {
		return bus.Principal{}, errors.New("revoked device")
	}
	return bus.Principal{Role: bus.RoleDevice, Workspace: t.Workspace, Device: d.Name}, nil
}

// Directory tells a broker's auth backend who a device is, now: the
// rabbitauth.Directory of the RabbitMQ HTTP auth backend, which asks again
// for every operation (behind its own short cache, which OnRevoke can
// empty of a device).
type Directory struct {
	s *Service

	mu      sync.Mutex
	devices map[string]string // device ID → workspace ID, learnt on the way
}

// Directory returns the service's Directory.
func (s *Service) Directory() *Directory { return s.dir }

// Authenticate checks a device's credentials (user = device ID, password
// = its API token) and returns its principal; an error refuses it.
func (d *Directory) Authenticate(ctx context.Context, user, password string) (bus.Principal, error) {
	p, err := d.s.brokerUser(ctx, user, password)
	if err != nil {
		return bus.Principal{}, err
	}
	d.mu.Lock()
	d.devices[user] = p.Workspace
	d.mu.Unlock()
	return p, nil
}

// Principal returns the principal of the device with the ID user while it
// is not revoked; an error refuses whatever it asks for.
func (d *Directory) Principal(ctx context.Context, user string) (bus.Principal, error) {
	dev, err := d.device(ctx, user)
	if err != nil {
		return bus.Principal{}, err
	}
	return bus.Principal{Role: bus.RoleDevice, Workspace: dev.Workspace, Device: dev.Name}, nil
}

// device returns the unrevoked device with the ID, finding its workspace
// once (brokers name users, not workspaces).
func (d *Directory) device(ctx context.Context, id string) (runlet.Device, error) {
	d.mu.Lock()
	ws, ok := d.devices[id]
	d.mu.Unlock()
	if ok {
		dev, err := d.s.db.Device(ctx, ws, id)
		if err != nil || dev.Revoked {
			return runlet.Device{}, errNoDevice
		}
		return dev, nil
	}
	wss, err := d.s.db.ListWorkspaces(ctx)
	if err != nil {
		return runlet.Device{}, fmt.Errorf("list workspaces: %w", err)
	}
	for _, w := range wss {
		dev, err := d.s.db.Device(ctx, w.ID, id)
		if err != nil {
			continue
		}
		d.mu.Lock()
		d.devices[id] = w.ID
		d.mu.Unlock()
		if dev.Revoked {
			return runlet.Device{}, errNoDevice
		}
		return dev, nil
	}
	return runlet.Device{}, errNoDevice
}
