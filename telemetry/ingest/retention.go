package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// retain prunes every RetentionEvery until Close.
func (s *Service) retain() {
	t := time.NewTicker(s.cfg.RetentionEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Prune(s.ctx); err != nil && s.ctx.Err() == nil {
			s.log.Warn("could not prune old readings; trying again later", "err", err)
		}
	}
}

// Prune deletes, in every workspace, the readings older than its
// retention (store.TelemetrySettings.Retention) at Now, and returns how
// many rows went. Every server process runs it; it is idempotent.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	wss, err := s.db.ListWorkspaces(ctx)
	if err != nil {
		return 0, fmt.Errorf("list workspaces to prune: %w", err)
	}
	var total int64
	var errs []error
	now := s.now()
	for _, ws := range wss {
		set, err := s.db.TelemetrySettings(ctx, ws.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("read the retention of workspace %s: %w", ws.Name, err))
			continue
		}
		n, err := s.db.PruneReadings(ctx, ws.ID, now.Add(-set.Retention))
		if err != nil {
			errs = append(errs, fmt.Errorf("prune the readings of workspace %s: %w", ws.Name, err))
			continue
		}
		if n > 0 {
			s.log.Info("pruned old readings", "workspace", ws.Name, "rows", n, "retention", set.Retention)
		}
		total += n
	}
	return total, errors.Join(errs...)
}
