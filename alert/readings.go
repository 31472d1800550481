package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// Readings decides the alerts of a batch of readings the ingest just
// committed, before it acks them: an error makes the ingest give the
// batch back for redelivery, and deciding again changes nothing the
// first time decided (the keys' state is in the store).
//
// On the common path it costs one write (every sensor of the batch is
// heard: its silence due time moves, R-TEL-4; a sensor whose Due would
// move by less than its slack, see MaxHeardSlack, is left out, and a
// batch with none left writes nothing) and one read (the open alerts); a sensor's key is decided in a transaction only when one of
// its readings breaks a threshold or the key has an alert open (R-TEL-3).
func (s *Service) Readings(ctx context.Context, ws string, rs []runlet.RawReading) error {
	if len(rs) == 0 {
		return nil
	}
	now := s.now()
	r, err := s.cache.rules(ctx, ws)
	if err != nil {
		return err
	}
	var order []int64
	bySensor := map[int64][]runlet.RawReading{}
	for _, x := range rs {
		if _, ok := bySensor[x.Sensor]; !ok {
			order = append(order, x.Sensor)
		}
		bySensor[x.Sensor] = append(bySensor[x.Sensor], x)
	}
	sensors := make(map[int64]runlet.Sensor, len(order))
	heard := make([]store.SensorHeard, 0, len(order))
	for _, id := range order {
		sn, _, err := s.cache.sensor(ctx, ws, r, id)
		if err != nil {
			return err
		}
		sensors[id] = sn
		xs := bySensor[id]
		heard = append(heard, store.SensorHeard{Key: runlet.SilenceKey(id), Sensor: id, Device: xs[len(xs)-1].Device,
			Heard: now, Due: now.Add(r.settings.SilenceOf(sn.Rules))})
	}
	periods := make(map[int64]time.Duration, len(order))
	for _, id := range order {
		periods[id] = r.settings.SilenceOf(sensors[id].Rules)
	}
	write := s.heard.filter(ws, heard, func(h store.SensorHeard) time.Duration { return periods[h.Sensor] })
	if err := s.db.HeardSensors(ctx, ws, write); err != nil {
		return fmt.Errorf("record the sensors heard in workspace %s: %w", ws, err)
	}
	s.heard.wrote(ws, write)
	list, err := s.db.OpenAlerts(ctx, ws)
	if err != nil {
		return fmt.Errorf("read the open alerts of workspace %s: %w", ws, err)
	}
	open := make(map[string]*runlet.Alert, len(list))
	for i := range list {
		open[list[i].Key] = &list[i]
	}
	var errs []error
	for _, id := range order {
		if a := open[runlet.SilenceKey(id)]; a != nil {
			sn := sensors[id]
			errs = append(errs, s.heardAgain(ctx, ws, r, &sn, now))
		}
	}
	for _, id := range order {
		sn := sensors[id]
		xs := bySensor[id]
		slices.SortStableFunc(xs, func(a, b runlet.RawReading) int { return a.Time.Compare(b.Time) })
		th := sn.Rules.Thresholds.Or(r.settings.Defaults.Thresholds)
		for _, m := range runlet.Metrics {
			key := runlet.ThresholdKey(id, m) // once a sensor and metric, not a reading
			for _, x := range xs {
				v, ok := x.Value(m)
				if !ok {
					continue
				}
				if err := s.threshold(ctx, ws, r, &sn, th, m, key, x, v, now, open); err != nil {
					errs = append(errs, err)
					break
				}
			}
		}
	}
	return s.retryable(ws, errs)
}

// retryable returns the errors that a redelivery may cure (the store is
// down: internal errors) and logs the others, which would come back with
// every delivery and hold up the workspace's telemetry.
func (s *Service) retryable(ws string, errs []error) error {
	var retry []error
	for _, err := range errs {
		switch {
		case err == nil:
		case runlet.ErrorCode(err) == runlet.EINTERNAL:
			retry = append(retry, err)
		default:
			s.log.Warn("an alert could not be decided; the readings are kept", "workspace", ws, "err", err)
		}
	}
	return errors.Join(retry...)
}

// heardAgain resolves the open silence alert of a sensor just heard;
// people told of it are told of its end.
func (s *Service) heardAgain(ctx context.Context, ws string, r *rules, sn *runlet.Sensor, now time.Time) error {
	chans, err := s.recipients(ctx, ws, r, runlet.AlertSilence, "", sn)
	if err != nil {
		return err
	}
	_, err = s.change(ctx, ws, runlet.SilenceKey(sn.ID), func(m store.AlertMark) (store.AlertChange, error) {
		if m.Open == nil {
			return store.AlertChange{}, nil
		}
		a := *m.Open
		silent := now.Sub(a.At) + time.Duration(a.Limit*float64(time.Second))
		ch := store.AlertChange{Resolve: true, Recovery: silenceRecovery(sn, now, silent)}
		if !a.Notified.IsZero() {
			a.Resolved, a.Recovery = now, ch.Recovery
			ch.Notify = notifications(chans, runlet.EventResolved, a, sn)
		}
		return ch, nil
	})
	return err
}

// threshold applies the threshold rule to one value v of metric m (its
// key is key, runlet.ThresholdKey) of the reading x, the readings of a sensor taken in time order:
//   - out of range with no alert open: one opens, and people are told
//     unless they were told of the key less than a period ago;
//   - out of range with the alert open, the reading not older than its
//     breach: once a period has passed since people were told, they are
//     told again with the latest value (a reminder; "opened" when they
//     were never told of this alert);
//   - back in range, the reading not older than the breach: the alert is
//     resolved, and those told of it are told of the recovery.
//
// open is the workspace's open alerts, kept up to date with the
// decisions taken here, so that a key is decided in a transaction only
// when something may change.
func (s *Service) threshold(ctx context.Context, ws string, r *rules, sn *runlet.Sensor, th runlet.Thresholds, m runlet.Metric, key string, x runlet.RawReading, v float64, now time.Time, open map[string]*runlet.Alert) error {
	cur := open[key]
	bound, limit, out := th.Breach(m, v)
	period := r.settings.Period()
	switch {
	case cur == nil && !out:
		return nil
	case cur != nil && x.Time.Before(cur.At):
		return nil
	case cur != nil && out && !cur.Notified.IsZero() && now.Sub(cur.Notified) < period:
		return nil
	}
	chans, err := s.recipients(ctx, ws, r, runlet.AlertThreshold, m, sn)
	if err != nil {
		return err
	}
	ch, err := s.change(ctx, ws, key, func(mk store.AlertMark) (store.AlertChange, error) {
		return decideThreshold(mk, chans, sn, m, x, v, bound, limit, out, now, period), nil
	})
	if err != nil {
		return err
	}
	switch {
	case ch.Open != nil:
		a := *ch.Open
		open[key] = &a
	case ch.Resolve:
		delete(open, key)
	case ch.Notified && cur != nil:
		c := *cur
		c.Notified = now
		open[key] = &c
	}
	return nil
}

// decideThreshold is the threshold rule on the key's state as committed.
// A reading not newer than the last one decided on for the key
// (mark.Evaluated) was decided already: a batch delivered again, one that
// went out of range and back, must not open the alert again.
func decideThreshold(mk store.AlertMark, chans []runlet.Channel, sn *runlet.Sensor, m runlet.Metric, x runlet.RawReading, v float64, bound runlet.Bound, limit float64, out bool, now time.Time, period time.Duration) store.AlertChange {
	ch := decideThresholdAt(mk, chans, sn, m, x, v, bound, limit, out, now, period)
	if ch.Open != nil || ch.Resolve || ch.Notified {
		ch.Evaluated = x.Time
	}
	return ch
}

func decideThresholdAt(mk store.AlertMark, chans []runlet.Channel, sn *runlet.Sensor, m runlet.Metric, x runlet.RawReading, v float64, bound runlet.Bound, limit float64, out bool, now time.Time, period time.Duration) store.AlertChange {
	cur := mk.Open
	switch {
	case !x.Time.After(mk.Evaluated):
		return store.AlertChange{}
	case cur == nil && out:
		a := runlet.Alert{Workspace: mk.Workspace, Kind: runlet.AlertThreshold, Key: mk.Key, Sensor: sn.ID, Device: x.Device,
			Metric: m, Bound: bound, Value: v, Limit: limit, At: x.Time, Opened: now,
			Summary: thresholdSummary(sn, m, v, bound, limit, x.Time)}
		ch := store.AlertChange{Open: &a}
		if due(mk, now, period) {
			a.Notified = now
			ch.Notified = true
			ch.Notify = notifications(chans, runlet.EventOpened, a, sn)
		}
		return ch
	case cur == nil || x.Time.Before(cur.At):
		return store.AlertChange{}
	case out:
		if !due(mk, now, period) {
			return store.AlertChange{}
		}
		ev := runlet.EventReminder
		if cur.Notified.IsZero() {
			ev = runlet.EventOpened
		}
		a := *cur
		a.Value, a.Limit, a.Bound, a.Device = v, limit, bound, cmp.Or(x.Device, a.Device)
		a.Summary = thresholdSummary(sn, m, v, bound, limit, x.Time)
		a.Notified = now
		ch := store.AlertChange{Update: &a, Notified: true, Remind: ev == runlet.EventReminder}
		if ch.Remind {
			a.Reminders++
		}
		ch.Notify = notifications(chans, ev, a, sn)
		return ch
	default:
		ch := store.AlertChange{Resolve: true, Recovery: thresholdRecovery(sn, m, v, x.Time)}
		if !cur.Notified.IsZero() {
			a := *cur
			a.Resolved, a.Recovery = now, ch.Recovery
			ch.Notify = notifications(chans, runlet.EventResolved, a, sn)
		}
		return ch
	}
}
