package alert

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/runlet/runlet"
)

// cache remembers, per workspace and for at most ttl each, what deciding
// and routing read: the settings and sensors (every batch needs them),
// the members and channels (only a notification does), and the devices
// (the leader's device alerts). A sensor it has not seen yet (just
// registered) is read alone.
type cache struct {
	db  Store
	now func() time.Time
	ttl time.Duration

	mu sync.Mutex
	ws map[string]*wsCache
}

type wsCache struct {
	rules    *rules
	audience *audience
	devices  *devices
}

// rules are a workspace's alert settings and sensors.
type rules struct {
	at       time.Time
	settings runlet.AlertSettings
	mu       sync.Mutex // guards sensors and gone: one read alone is added
	sensors  map[int64]runlet.Sensor
	gone     map[int64]bool // not the workspace's (deleted), as read alone
}

// audience is who may be told in a workspace.
type audience struct {
	at       time.Time
	members  []member
	channels []runlet.Channel
}

type member struct {
	user  runlet.User
	admin bool
}

type devices struct {
	at   time.Time
	list []runlet.Device
}

func (c *cache) forget(ws string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.ws, ws)
}

func (c *cache) entry(ws string) *wsCache {
	e := c.ws[ws]
	if e == nil {
		e = &wsCache{}
		c.ws[ws] = e
	}
	return e
}

func (c *cache) fresh(at time.Time) bool { return c.now().Sub(at) < c.ttl }

// rules returns the workspace's settings and sensors.
func (c *cache) rules(ctx context.Context, ws string) (*rules, error) {
	c.mu.Lock()
	if r := c.entry(ws).rules; r != nil && c.fresh(r.at) {
		c.mu.Unlock()
		return r, nil
	}
	c.mu.Unlock()
	at := c.now()
	settings, err := c.db.AlertSettings(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("read the alert settings of workspace %s: %w", ws, err)
	}
	list, err := c.db.ListSensors(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("read the sensors of workspace %s: %w", ws, err)
	}
	r := &rules{at: at, settings: settings, sensors: make(map[int64]runlet.Sensor, len(list)), gone: map[int64]bool{}}
	for _, sn := range list {
		r.sensors[sn.ID] = sn
	}
	c.mu.Lock()
	c.entry(ws).rules = r
	c.mu.Unlock()
	return r, nil
}

// sensor returns the workspace's sensor with the id, ok false when it is
// not the workspace's (deleted).
func (c *cache) sensor(ctx context.Context, ws string, r *rules, id int64) (runlet.Sensor, bool, error) {
	r.mu.Lock()
	sn, ok := r.sensors[id]
	gone := r.gone[id]
	r.mu.Unlock()
	if ok {
		return sn, true, nil
	}
	unknown := runlet.Sensor{ID: id, Workspace: ws, Name: fmt.Sprintf("Sensor %d", id)}
	if gone {
		return unknown, false, nil
	}
	sn, err := c.db.Sensor(ctx, ws, id)
	switch {
	case runlet.ErrorCode(err) == runlet.ENOTFOUND:
		r.mu.Lock()
		r.gone[id] = true
		r.mu.Unlock()
		return unknown, false, nil
	case err != nil:
		return runlet.Sensor{}, false, fmt.Errorf("read sensor %d of workspace %s: %w", id, ws, err)
	}
	r.mu.Lock()
	r.sensors[id] = sn
	r.mu.Unlock()
	return sn, true, nil
}

// audience returns the workspace's members and channels.
func (c *cache) audience(ctx context.Context, ws string) (*audience, error) {
	c.mu.Lock()
	if a := c.entry(ws).audience; a != nil && c.fresh(a.at) {
		c.mu.Unlock()
		return a, nil
	}
	c.mu.Unlock()
	a := &audience{at: c.now()}
	ms, err := c.db.ListMembers(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("read the members of workspace %s: %w", ws, err)
	}
	for _, m := range ms {
		u, err := c.db.User(ctx, m.User)
		if runlet.ErrorCode(err) == runlet.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read member %s of workspace %s: %w", m.User, ws, err)
		}
		a.members = append(a.members, member{user: u, admin: m.Role == runlet.RoleOwner || m.Role == runlet.RoleAdmin})
	}
	if a.channels, err = c.db.Channels(ctx, ws); err != nil {
		return nil, fmt.Errorf("read the channels of workspace %s: %w", ws, err)
	}
	c.mu.Lock()
	c.entry(ws).audience = a
	c.mu.Unlock()
	return a, nil
}

// devices returns the workspace's devices as the store lists them.
func (c *cache) devices(ctx context.Context, ws string) ([]runlet.Device, error) {
	c.mu.Lock()
	if d := c.entry(ws).devices; d != nil && c.fresh(d.at) {
		c.mu.Unlock()
		return d.list, nil
	}
	c.mu.Unlock()
	at := c.now()
	list, err := c.db.ListDevices(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("read the devices of workspace %s: %w", ws, err)
	}
	c.mu.Lock()
	c.entry(ws).devices = &devices{at: at, list: list}
	c.mu.Unlock()
	return list, nil
}
