package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const tickCols = `workspace_id, job, tick, every, execution, state, holder, claimed, reason`

func scanTick(s scanner) (runlet.Tick, error) {
	var t runlet.Tick
	err := s.Scan(&t.Workspace, &t.Job, timeCol{&t.At}, &t.Every, &t.Execution, &t.State, &t.Holder,
		timeCol{&t.Claimed}, &t.Reason)
	return t, err
}

// tickKey is the condition and the first three arguments that name a tick.
const tickKey = `workspace_id = $1 AND job = $2 AND tick = $3`

// ClaimTick implements store.Ticks: one upsert, so that of schedulers
// claiming a tick at once exactly one gets it, and a claim left by a
// scheduler that stopped is taken over with the same execution ID.
func (db *DB) ClaimTick(ctx context.Context, t runlet.Tick, stale time.Duration) (runlet.Tick, bool, error) {
	switch {
	case t.Job == "" || t.Holder == "" || t.Execution == "":
		return runlet.Tick{}, false, invalid("A tick needs a job, a holder and an execution ID.")
	case t.At.IsZero():
		return runlet.Tick{}, false, invalid("A tick needs the instant it fires at.")
	}
	now := db.now()
	got, err := scanTick(db.w.QueryRowContext(ctx, `INSERT INTO schedule_ticks (`+tickCols+`)
		VALUES ($1, $2, $3, $4, $5, 'claimed', $6, $7, '')
		ON CONFLICT (workspace_id, job, tick) DO UPDATE SET holder = excluded.holder, claimed = excluded.claimed
		WHERE schedule_ticks.state = 'claimed'
			AND (schedule_ticks.holder = excluded.holder OR schedule_ticks.claimed <= $8)
		RETURNING `+tickCols,
		t.Workspace, t.Job, db.t(t.At), t.Every, t.Execution, t.Holder, db.t(now), db.t(now.Add(-stale))))
	if err == nil {
		return got, true, nil
	}
	if db.dialect.IsForeignKey(err) {
		return runlet.Tick{}, false, runlet.Errorf(runlet.ENOTFOUND, "Workspace %q not found.", t.Workspace)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return runlet.Tick{}, false, wrap(err, "claim tick")
	}
	got, err = db.tick(ctx, db.w, t.Workspace, t.Job, t.At)
	return got, false, err
}

// FinishTick implements store.Ticks.
func (db *DB) FinishTick(ctx context.Context, workspace, job string, at time.Time, holder string, state runlet.TickState, reason string) (runlet.Tick, error) {
	if state == runlet.TickClaimed || !state.Valid() {
		return runlet.Tick{}, invalid("A tick finishes as started, failed or skipped, not %q.", state)
	}
	var got runlet.Tick
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		got, err = scanTick(tx.QueryRowContext(ctx, `UPDATE schedule_ticks SET state = $5, reason = $6
			WHERE `+tickKey+` AND holder = $4 AND state = 'claimed' RETURNING `+tickCols,
			workspace, job, db.t(at), holder, string(state), reason))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM schedule_ticks WHERE workspace_id = $1 AND job = $2
			AND tick < (SELECT tick FROM schedule_ticks WHERE workspace_id = $1 AND job = $2
				ORDER BY tick DESC LIMIT 1 OFFSET $3)`, workspace, job, store.TickHistory-1)
		return wrap(err, "drop old ticks")
	})
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return runlet.Tick{}, wrap(err, "finish tick")
	}
	cur, err := db.tick(ctx, db.w, workspace, job, at)
	if err != nil {
		return runlet.Tick{}, err
	}
	if cur.State != runlet.TickClaimed {
		return runlet.Tick{}, runlet.Errorf(runlet.ECONFLICT, "The tick of job %q at %s is %s already.", job, at.UTC().Format(time.RFC3339), cur.State)
	}
	return runlet.Tick{}, runlet.Errorf(runlet.ECONFLICT, "The tick of job %q at %s was taken over by %s.", job, at.UTC().Format(time.RFC3339), cur.Holder)
}

// LastTicks implements store.Ticks.
func (db *DB) LastTicks(ctx context.Context, workspace string) ([]runlet.Tick, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tickCols+` FROM schedule_ticks t
		WHERE workspace_id = $1 AND tick = (SELECT MAX(tick) FROM schedule_ticks l
			WHERE l.workspace_id = t.workspace_id AND l.job = t.job)
		ORDER BY job`, workspace)
	ts, err := collect(rows, err, scanTick)
	if ts == nil && err == nil {
		ts = []runlet.Tick{}
	}
	return ts, wrap(err, "read the last ticks")
}

func (db *DB) tick(ctx context.Context, q querier, workspace, job string, at time.Time) (runlet.Tick, error) {
	t, err := scanTick(q.QueryRowContext(ctx, `SELECT `+tickCols+` FROM schedule_ticks WHERE `+tickKey,
		workspace, job, db.t(at)))
	return t, notFound(err, "read tick", fmt.Sprintf("Job %q has no tick at %s.", job, at.UTC().Format(time.RFC3339)))
}
