package ingest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// maxCached bounds each cache: past it the cache starts again empty, so
// that a flood of made-up sensor ids or secrets cannot grow it forever.
const maxCached = 1 << 20

// authCache remembers the answers of the store about devices, sensors and
// workspace settings, each until its expiry.
type authCache struct {
	ttl time.Duration

	mu       sync.Mutex
	devices  map[deviceKey]cached[Reason]
	sensors  map[sensorKey]cached[Reason]
	settings map[string]cached[store.TelemetrySettings]
}

type deviceKey struct{ ws, name string }

// sensorKey is a sensor id and the hash of the secret it was presented
// with: a secret is only remembered hashed, and another secret for the
// same sensor is checked again.
type sensorKey struct {
	ws     string
	id     int64
	secret [sha256.Size]byte
}

type cached[T any] struct {
	v       T
	expires time.Time
}

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{
		ttl:      ttl,
		devices:  map[deviceKey]cached[Reason]{},
		sensors:  map[sensorKey]cached[Reason]{},
		settings: map[string]cached[store.TelemetrySettings]{},
	}
}

func lookup[K comparable, T any](mu *sync.Mutex, m map[K]cached[T], k K, now time.Time) (T, bool) {
	mu.Lock()
	defer mu.Unlock()
	c, ok := m[k]
	if !ok || !now.Before(c.expires) {
		var zero T
		return zero, false
	}
	return c.v, true
}

func remember[K comparable, T any](mu *sync.Mutex, m map[K]cached[T], k K, v T, expires time.Time) {
	mu.Lock()
	defer mu.Unlock()
	if len(m) >= maxCached {
		clear(m)
	}
	m[k] = cached[T]{v: v, expires: expires}
}

// ttlFor is how long an answer is kept: refusals only briefly.
func (c *authCache) ttlFor(r Reason) time.Duration {
	if r.refusal() {
		return min(c.ttl, negativeTTL)
	}
	return c.ttl
}

// device says whether the device named in a telemetry key is one of the
// workspace's unrevoked devices: Accepted or UnknownDevice. A store error
// is returned for the delivery to come again.
func (s *Service) device(ctx context.Context, ws, name string) (Reason, error) {
	k := deviceKey{ws, name}
	now := s.now()
	if r, ok := lookup(&s.auth.mu, s.auth.devices, k, now); ok {
		return r, nil
	}
	r := Accepted
	_, err := s.db.DeviceByName(ctx, ws, name) // unrevoked only
	switch runlet.ErrorCode(err) {
	case "":
	case runlet.ENOTFOUND:
		r = UnknownDevice
	default:
		return 0, fmt.Errorf("look up device %s: %w", name, err)
	}
	remember(&s.auth.mu, s.auth.devices, k, r, now.Add(s.auth.ttlFor(r)))
	return r, nil
}

// sensor authenticates sensor id of workspace ws with the secret its
// reading came with (hasSecret false: the batch carried none): Accepted,
// or the reason to refuse its readings. An unknown sensor is registered
// with that secret when the workspace lets it.
func (s *Service) sensor(ctx context.Context, ws string, id int64, secret string, hasSecret bool) (Reason, error) {
	if !hasSecret || secret == "" {
		return BadSecret, nil
	}
	k := sensorKey{ws: ws, id: id, secret: sha256.Sum256([]byte(secret))}
	now := s.now()
	if r, ok := lookup(&s.auth.mu, s.auth.sensors, k, now); ok {
		return r, nil
	}
	r, err := s.checkSensor(ctx, ws, id, secret)
	if err != nil {
		return 0, err
	}
	remember(&s.auth.mu, s.auth.sensors, k, r, now.Add(s.auth.ttlFor(r)))
	return r, nil
}

// checkSensor asks the store.
func (s *Service) checkSensor(ctx context.Context, ws string, id int64, secret string) (Reason, error) {
	sn, err := s.db.CheckSensor(ctx, id, secret)
	switch runlet.ErrorCode(err) {
	case "":
		return sensorReason(ws, sn), nil
	case runlet.EUNAUTHORIZED:
		return BadSecret, nil
	case runlet.ENOTFOUND:
		return s.register(ctx, ws, id, secret)
	default:
		return 0, fmt.Errorf("authenticate sensor %d: %w", id, err)
	}
}

func sensorReason(ws string, sn runlet.Sensor) Reason {
	switch {
	case sn.Workspace != ws:
		return OtherWorkspace
	case sn.State == runlet.SensorInactive:
		return Inactive
	}
	return Accepted
}

// register adds an unknown sensor to the workspace with the secret it
// presented, when the workspace's settings let it: later readings must
// present the same secret. Otherwise the sensor is unknown.
func (s *Service) register(ctx context.Context, ws string, id int64, secret string) (Reason, error) {
	set, err := s.settings(ctx, ws)
	if err != nil {
		return 0, err
	}
	if !set.AutoRegister || id <= 0 || len(secret) > runlet.MaxSensorSecret {
		return UnknownSensor, nil
	}
	sn := &runlet.Sensor{ID: id, Workspace: ws, Name: fmt.Sprintf("sensor-%d", id), State: runlet.SensorActive}
	err = s.db.AddSensor(ctx, sn, secret)
	switch runlet.ErrorCode(err) {
	case "":
		s.log.Info("sensor registered by its first reading", "workspace", ws, "sensor", id)
		return Accepted, nil
	case runlet.ECONFLICT:
		// Registered meanwhile (another server, or another workspace):
		// its secret decides.
		sn, err := s.db.CheckSensor(ctx, id, secret)
		switch runlet.ErrorCode(err) {
		case "":
			return sensorReason(ws, sn), nil
		case runlet.EUNAUTHORIZED:
			return BadSecret, nil
		case runlet.ENOTFOUND:
			return UnknownSensor, nil
		}
		return 0, fmt.Errorf("authenticate sensor %d: %w", id, err)
	case runlet.EINVALID:
		return UnknownSensor, nil
	default:
		return 0, fmt.Errorf("register sensor %d: %w", id, err)
	}
}

// settings returns the workspace's telemetry settings, cached.
func (s *Service) settings(ctx context.Context, ws string) (store.TelemetrySettings, error) {
	now := s.now()
	if v, ok := lookup(&s.auth.mu, s.auth.settings, ws, now); ok {
		return v, nil
	}
	v, err := s.db.TelemetrySettings(ctx, ws)
	if err != nil {
		return v, fmt.Errorf("read the telemetry settings of workspace %s: %w", ws, err)
	}
	remember(&s.auth.mu, s.auth.settings, ws, v, now.Add(s.auth.ttl))
	return v, nil
}

// Forget drops what the caches hold about sensor id (every secret it was
// presented with), so that a changed secret or state, or a removal, made
// through this server takes effect at the next reading rather than after
// CacheTTL. Other server processes learn it when their entries expire.
func (s *Service) Forget(id int64) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	for k := range s.auth.sensors {
		if k.id == id {
			delete(s.auth.sensors, k)
		}
	}
}

// ForgetSettings drops the cached telemetry settings of workspace ws
// (auto-registration), as Forget does for a sensor.
func (s *Service) ForgetSettings(ws string) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	delete(s.auth.settings, ws)
}
