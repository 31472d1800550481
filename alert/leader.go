package alert

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// silences opens the silence alerts that fell due (R-TEL-4): the marks
// whose Due is past and which have no alert open, at most dueBatch a
// pass (the loop comes back at once while more are due).
func (s *Service) silences(ctx context.Context, now time.Time) error {
	if err := s.leader.Leading(ctx); err != nil {
		return err
	}
	marks, err := s.db.DueMarks(ctx, now, dueBatch)
	if err != nil {
		return fmt.Errorf("read the sensors due a silence alert: %w", err)
	}
	var errs []error
	for _, m := range marks {
		if err := s.leader.Leading(ctx); err != nil {
			return err
		}
		errs = append(errs, s.silent(ctx, m, now))
	}
	return errors.Join(errs...)
}

// silent opens the silence alert of mark m, due at now, unless the
// sensor was heard meanwhile or another decided first (the mark as
// committed says). A sensor deleted or made inactive is no longer
// watched instead.
func (s *Service) silent(ctx context.Context, m store.AlertMark, now time.Time) error {
	ws := m.Workspace
	r, err := s.cache.rules(ctx, ws)
	if err != nil {
		return err
	}
	sn, found, err := s.cache.sensor(ctx, ws, r, m.Sensor)
	if err != nil {
		return err
	}
	if !found || sn.State == runlet.SensorInactive {
		_, err := s.change(ctx, ws, m.Key, func(mk store.AlertMark) (store.AlertChange, error) {
			if mk.Open != nil || mk.Due.IsZero() || mk.Due.After(now) {
				return store.AlertChange{}, nil
			}
			return store.AlertChange{Unwatch: true}, nil
		})
		return err
	}
	period := r.settings.SilenceOf(sn.Rules)
	every := r.settings.Period()
	chans, err := s.recipients(ctx, ws, r, runlet.AlertSilence, "", &sn)
	if err != nil {
		return err
	}
	gw := s.presenceOf(ws)
	_, err = s.change(ctx, ws, m.Key, func(mk store.AlertMark) (store.AlertChange, error) {
		if mk.Open != nil || mk.Due.IsZero() || mk.Due.After(now) {
			return store.AlertChange{}, nil
		}
		var dev *runlet.DevicePresence
		if d, ok := gw[mk.Device]; ok {
			dev = &d
		}
		a := runlet.Alert{Workspace: ws, Kind: runlet.AlertSilence, Key: mk.Key, Sensor: sn.ID, Device: mk.Device,
			Value: now.Sub(mk.Heard).Seconds(), Limit: period.Seconds(), At: mk.Due, Opened: now,
			Summary: silenceSummary(&sn, mk.Heard, period, dev)}
		ch := store.AlertChange{Open: &a}
		if due(mk, now, every) {
			a.Notified = now
			ch.Notified = true
			ch.Notify = notifications(chans, runlet.EventOpened, a, &sn)
		}
		return ch, nil
	})
	return err
}

// presenceOf returns the presence of the workspace's devices by name.
func (s *Service) presenceOf(ws string) map[string]runlet.DevicePresence {
	out := map[string]runlet.DevicePresence{}
	if s.cfg.Presence == nil {
		return out
	}
	for _, d := range s.cfg.Presence.Devices(ws) {
		out[d.Name] = d
	}
	return out
}

// devices decides the device alerts of every workspace: offline longer
// than the limit, an outbox full or dropping, refusals that stopped a
// period ago.
func (s *Service) devices(ctx context.Context, now time.Time) error {
	wss, err := s.db.ListWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	var errs []error
	for _, w := range wss {
		if err := s.leader.Leading(ctx); err != nil {
			return err
		}
		if err := s.workspaceDevices(ctx, w.ID, now); err != nil {
			errs = append(errs, fmt.Errorf("workspace %s: %w", w.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) workspaceDevices(ctx context.Context, ws string, now time.Time) error {
	r, err := s.cache.rules(ctx, ws)
	if err != nil {
		return err
	}
	list, err := s.db.OpenAlerts(ctx, ws)
	if err != nil {
		return fmt.Errorf("read the open alerts: %w", err)
	}
	open := map[string]*runlet.Alert{}
	for i := range list {
		open[list[i].Key] = &list[i]
	}
	var errs []error
	for _, a := range list {
		if a.Kind == runlet.AlertRefused && now.Sub(a.At) >= r.settings.Period() {
			errs = append(errs, s.resolveDevice(ctx, ws, r, a.Key, a.Kind, refusedRecovery(a.Device, a.At, r.settings.Period()), now))
		}
	}
	if s.cfg.Presence == nil {
		return errors.Join(errs...)
	}
	devs := s.presenceOf(ws)
	stored, err := s.cache.devices(ctx, ws)
	if err != nil {
		return err
	}
	// A device this process never heard from since it started is offline
	// since the store last saw it.
	for _, d := range stored {
		if _, ok := devs[d.Name]; !ok && !d.Revoked && !d.LastSeen.IsZero() {
			devs[d.Name] = runlet.DevicePresence{Name: d.Name, Since: d.LastSeen}
		}
	}
	limit := r.settings.Offline()
	for _, name := range slices.Sorted(maps.Keys(devs)) {
		d := devs[name]
		offKey := runlet.DeviceKey(name, runlet.AlertOffline)
		switch {
		case !d.Online && now.Sub(d.Since) >= limit && open[offKey] == nil:
			a := runlet.Alert{Kind: runlet.AlertOffline, Device: name, At: d.Since.Add(limit),
				Value: now.Sub(d.Since).Seconds(), Limit: limit.Seconds(), Summary: offlineSummary(name, d.Since, limit)}
			errs = append(errs, s.openDevice(ctx, ws, r, offKey, a, now))
		case d.Online && open[offKey] != nil:
			a := open[offKey]
			off := now.Sub(a.At) + time.Duration(a.Limit*float64(time.Second))
			errs = append(errs, s.resolveDevice(ctx, ws, r, offKey, runlet.AlertOffline, offlineRecovery(name, now, off), now))
		}
		if !d.Online {
			continue // what its outbox does is not known until it is back
		}
		boxKey := runlet.DeviceKey(name, runlet.AlertOutbox)
		switch bad := d.Outbox.Troubled(); {
		case bad && open[boxKey] == nil:
			a := runlet.Alert{Kind: runlet.AlertOutbox, Device: name, At: now, Value: float64(d.Outbox.Dropped),
				Summary: outboxSummary(name, d.Outbox, now)}
			errs = append(errs, s.openDevice(ctx, ws, r, boxKey, a, now))
		case !bad && open[boxKey] != nil:
			errs = append(errs, s.resolveDevice(ctx, ws, r, boxKey, runlet.AlertOutbox, outboxRecovery(name, now), now))
		}
	}
	return errors.Join(errs...)
}

// openDevice opens alert a of a device's key unless one is open, told by
// the once-per-period rule.
func (s *Service) openDevice(ctx context.Context, ws string, r *rules, key string, a runlet.Alert, now time.Time) error {
	chans, err := s.recipients(ctx, ws, r, a.Kind, "", nil)
	if err != nil {
		return err
	}
	every := r.settings.Period()
	_, err = s.change(ctx, ws, key, func(mk store.AlertMark) (store.AlertChange, error) {
		if mk.Open != nil {
			return store.AlertChange{}, nil
		}
		a := a
		a.Workspace, a.Key, a.Opened = ws, key, now
		ch := store.AlertChange{Open: &a}
		if due(mk, now, every) {
			a.Notified = now
			ch.Notified = true
			ch.Notify = notifications(chans, runlet.EventOpened, a, nil)
		}
		return ch, nil
	})
	return err
}

// resolveDevice resolves the open alert of a device's key; those told of
// it are told of its end.
func (s *Service) resolveDevice(ctx context.Context, ws string, r *rules, key string, k runlet.AlertKind, recovery string, now time.Time) error {
	chans, err := s.recipients(ctx, ws, r, k, "", nil)
	if err != nil {
		return err
	}
	_, err = s.change(ctx, ws, key, func(mk store.AlertMark) (store.AlertChange, error) {
		if mk.Open == nil || mk.Open.Kind != k {
			return store.AlertChange{}, nil
		}
		ch := store.AlertChange{Resolve: true, Recovery: recovery}
		if !mk.Open.Notified.IsZero() {
			a := *mk.Open
			a.Resolved, a.Recovery = now, recovery
			ch.Notify = notifications(chans, runlet.EventResolved, a, nil)
		}
		return ch, nil
	})
	return err
}

// deviceRef names a device of a workspace.
type deviceRef struct{ ws, device string }

// refusals are the readings a device relayed that were refused for bad
// credentials, counted since they were last written, by reason.
type refusals struct {
	n       int64
	reasons map[string]int64
	at      time.Time // the last
}

// Refused counts readings relayed by device that the ingest refused for
// reason; those refused for bad credentials (a wrong or missing secret,
// another workspace's sensor) raise the device's refused alert, written
// at the next pass of every process (Step), not in the ingest's path. The
// alert is resolved once a period passes without one.
func (s *Service) Refused(ws, device, reason string, n int64) {
	if n <= 0 || (reason != "bad_secret" && reason != "other_workspace") {
		return
	}
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	k := deviceRef{ws, device}
	r := s.refused[k]
	if r == nil {
		r = &refusals{reasons: map[string]int64{}}
		s.refused[k] = r
	}
	r.n += n
	r.reasons[reason] += n
	r.at = s.now()
}

// flushRefused writes the refusals counted: each device's refused alert
// opens, or its count and last refusal move (reminding people once a
// period). What fails to be written is counted again at the next pass.
func (s *Service) flushRefused(ctx context.Context) error {
	s.refusedMu.Lock()
	pending := s.refused
	s.refused = map[deviceRef]*refusals{}
	s.refusedMu.Unlock()
	var errs []error
	for k, rf := range pending {
		if err := s.refusedAlert(ctx, k, rf); err != nil {
			errs = append(errs, err)
			s.refusedMu.Lock()
			cur := s.refused[k]
			if cur == nil {
				s.refused[k] = rf
			} else {
				cur.n += rf.n
				for r, n := range rf.reasons {
					cur.reasons[r] += n
				}
			}
			s.refusedMu.Unlock()
		}
	}
	return errors.Join(errs...)
}

func (s *Service) refusedAlert(ctx context.Context, k deviceRef, rf *refusals) error {
	r, err := s.cache.rules(ctx, k.ws)
	if err != nil {
		return err
	}
	chans, err := s.recipients(ctx, k.ws, r, runlet.AlertRefused, "", nil)
	if err != nil {
		return err
	}
	var reasons []string
	for _, name := range slices.Sorted(maps.Keys(rf.reasons)) {
		reasons = append(reasons, fmt.Sprintf("%s: %d", name, rf.reasons[name]))
	}
	why := strings.Join(reasons, ", ")
	now, every, key := s.now(), r.settings.Period(), runlet.DeviceKey(k.device, runlet.AlertRefused)
	_, err = s.change(ctx, k.ws, key, func(mk store.AlertMark) (store.AlertChange, error) {
		if mk.Open == nil {
			a := runlet.Alert{Workspace: k.ws, Kind: runlet.AlertRefused, Key: key, Device: k.device, Value: float64(rf.n),
				At: rf.at, Opened: now, Summary: refusedSummary(k.device, float64(rf.n), why, rf.at, rf.at)}
			ch := store.AlertChange{Open: &a}
			if due(mk, now, every) {
				a.Notified = now
				ch.Notified = true
				ch.Notify = notifications(chans, runlet.EventOpened, a, nil)
			}
			return ch, nil
		}
		a := *mk.Open
		a.Value += float64(rf.n)
		a.At = rf.at
		a.Summary = refusedSummary(k.device, a.Value, why, a.Opened, rf.at)
		ch := store.AlertChange{Update: &a}
		if due(mk, now, every) {
			ev := runlet.EventReminder
			if a.Notified.IsZero() {
				ev = runlet.EventOpened
			}
			a.Notified = now
			ch.Notified, ch.Remind = true, ev == runlet.EventReminder
			if ch.Remind {
				a.Reminders++
			}
			ch.Notify = notifications(chans, ev, a, nil)
		}
		return ch, nil
	})
	return err
}
