package vault

import (
	"context"
	"errors"
	"fmt"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/blob"
	"github.com/runlet/runlet/lease"
)

// Sweep applies each workspace's retention to the object store (R-LOG-2),
// when this process holds the sweep's lease (taken or renewed here): the
// logs uploaded longer ago than the retention go, object first, then
// record, so that a sweep cut short leaves a record whose object is gone
// (deleted again next time), never an object nobody can find. It also
// deletes the objects that have had no record since the sweep before and
// are older than OrphanAge (an upload whose record was never written).
// Start runs it every SweepEvery; tests that move the clock call it.
func (s *Service) Sweep(ctx context.Context) error {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	lead, err := s.leader.Lead(ctx)
	if !lead {
		return err
	}
	wss, err := s.db.ListWorkspaces(ctx)
	if err != nil {
		return fmt.Errorf("list workspaces: %w", err)
	}
	var errs []error
	orphans := map[string]struct{}{}
	for _, w := range wss {
		if err := s.leader.Leading(ctx); err != nil {
			if errors.Is(err, lease.ErrLost) {
				return nil
			}
			return err
		}
		for _, step := range []func() error{
			func() error { return s.expire(ctx, w.ID) },
			func() error { return s.sweepOrphans(ctx, w.ID, orphans) },
		} {
			err := step()
			if errors.Is(err, lease.ErrLost) {
				return errors.Join(errs...) // the new holder sweeps
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("workspace %s: %w", w.Name, err))
			}
		}
	}
	s.orphans = orphans
	return errors.Join(errs...)
}

// expire deletes the workspace's logs that its retention has passed.
func (s *Service) expire(ctx context.Context, ws string) error {
	set, err := s.db.LogSettings(ctx, ws)
	if err != nil {
		return fmt.Errorf("read the log settings: %w", err)
	}
	before := s.now().Add(-set.RetentionOrDefault())
	for {
		objs, err := s.db.ExpiredLogObjects(ctx, ws, before, sweepBatch)
		if err != nil {
			return fmt.Errorf("read the expired logs: %w", err)
		}
		for _, o := range objs {
			if err := s.leader.Leading(ctx); err != nil {
				return err
			}
			if err := s.blobs.Delete(ctx, ObjectKey(ws, o.Execution, o.Device)); err != nil {
				return fmt.Errorf("delete the log of %s on %s: %w", o.Execution, o.DeviceName, err)
			}
			if err := s.db.DeleteLogObject(ctx, ws, o.Execution, o.Device); err != nil {
				return fmt.Errorf("delete the record of the log of %s on %s: %w", o.Execution, o.DeviceName, err)
			}
			s.log.Info("run log expired", "workspace", ws, "execution", o.Execution, "device", o.DeviceName, "uploaded", o.Uploaded)
		}
		if len(objs) < sweepBatch {
			return nil
		}
	}
}

// sweepOrphans deletes the workspace's objects without a record that
// the sweep before found so too and that are older than OrphanAge, and
// notes in seen those without a record now.
func (s *Service) sweepOrphans(ctx context.Context, ws string, seen map[string]struct{}) error {
	var found []blob.Info
	err := s.blobs.List(ctx, workspacePrefix(ws), func(in blob.Info) error {
		exec, dev, ok := parseObjectKey(ws, in.Key)
		if !ok {
			return nil // not ours to judge
		}
		_, err := s.db.LogObject(ctx, ws, exec, dev)
		switch runlet.ErrorCode(err) {
		case "":
			return nil
		case runlet.ENOTFOUND:
			found = append(found, in)
			return nil
		}
		return fmt.Errorf("read the record of %s: %w", in.Key, err)
	})
	if err != nil {
		return fmt.Errorf("list the log objects: %w", err)
	}
	old := s.now().Add(-s.cfg.OrphanAge)
	for _, in := range found {
		_, before := s.orphans[in.Key]
		if !before || in.Modified.After(old) {
			seen[in.Key] = struct{}{}
			continue
		}
		if err := s.leader.Leading(ctx); err != nil {
			return err
		}
		if err := s.blobs.Delete(ctx, in.Key); err != nil {
			return fmt.Errorf("delete the orphan object %s: %w", in.Key, err)
		}
		s.log.Info("run log object without a record deleted", "workspace", ws, "key", in.Key, "modified", in.Modified)
	}
	return nil
}
