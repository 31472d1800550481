package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const executionCols = `workspace_id, id, device, job, client, status, created, scheduled, started, finished, expires,
	exit_code, signal, killed, reason`

func scanExecution(s scanner) (runlet.Execution, error) {
	var e runlet.Execution
	err := s.Scan(&e.Workspace, &e.ID, &e.Device, &e.Job, &e.Client, &e.Status,
		timeCol{&e.Created}, timeCol{&e.Scheduled}, timeCol{&e.Started}, timeCol{&e.Finished}, timeCol{&e.Expires},
		&e.ExitCode, &e.Signal, &e.Killed, &e.Reason)
	return e, err
}

func executionNotFound(id, device string) string {
	return fmt.Sprintf("Execution %q on device %q not found.", id, device)
}

// CreateExecution implements store.Executions.
func (db *DB) CreateExecution(ctx context.Context, e *runlet.Execution) error {
	ne, err := db.newExecution(e)
	if err != nil {
		return err
	}
	// A transaction: the run's row (insertExecution) comes with it.
	if err := db.tx(ctx, func(tx *sql.Tx) error { return db.insertExecution(ctx, tx, &ne) }); err != nil {
		return err
	}
	*e = ne
	return nil
}

// CreateExecutions implements store.Executions: one transaction, so that
// a fan-out to N devices costs one commit, not N.
func (db *DB) CreateExecutions(ctx context.Context, es []*runlet.Execution) error {
	made := make([]runlet.Execution, len(es))
	for i, e := range es {
		ne, err := db.newExecution(e)
		if err != nil {
			return err
		}
		made[i] = ne
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for i := range made {
			if err := db.insertExecution(ctx, tx, &made[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range es {
		*e = made[i]
	}
	return nil
}

// newExecution checks e and fills what CreateExecution fills.
func (db *DB) newExecution(e *runlet.Execution) (runlet.Execution, error) {
	switch {
	case e.Job == "":
		return runlet.Execution{}, invalid("An execution needs a job.")
	case e.Device == "":
		return runlet.Execution{}, invalid("An execution needs a device.")
	case e.Status != "" && e.Status != runlet.StatusPending:
		return runlet.Execution{}, invalid("An execution starts Pending, not %s.", e.Status)
	}
	ne := *e
	if ne.ID == "" {
		ne.ID = store.NewID()
	}
	ne.Status = runlet.StatusPending
	if ne.Created.IsZero() {
		ne.Created = db.clock()
	}
	ne.Created, ne.Scheduled, ne.Expires = stamp(ne.Created), stampOrZero(ne.Scheduled), stampOrZero(ne.Expires)
	ne.Started, ne.Finished = stampOrZero(ne.Started), stampOrZero(ne.Finished)
	return ne, nil
}

// insertExecution stores ne and, for the first target of its ID, the run,
// in the transaction q: both or neither.
func (db *DB) insertExecution(ctx context.Context, q *sql.Tx, ne *runlet.Execution) error {
	_, err := q.ExecContext(ctx, `INSERT INTO executions (workspace_id, id, device, job, client, status,
		created, scheduled, started, finished, expires, exit_code, signal, killed, reason)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		ne.Workspace, ne.ID, ne.Device, ne.Job, ne.Client, string(ne.Status),
		db.t(ne.Created), db.t(ne.Scheduled), db.t(ne.Started), db.t(ne.Finished), db.t(ne.Expires),
		ne.ExitCode, ne.Signal, ne.Killed, ne.Reason)
	if err := db.constraint(err, "create execution", "Execution "+quote(ne.ID)+" exists already on device "+quote(ne.Device)+".",
		"Workspace "+quote(ne.Workspace)+" not found."); err != nil {
		return err
	}
	// The run's row, for ListRuns: the first target of the ID writes it.
	_, err = q.ExecContext(ctx, `INSERT INTO runs (workspace_id, id, job, client, created) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (workspace_id, id) DO NOTHING`, ne.Workspace, ne.ID, ne.Job, ne.Client, db.t(ne.Created))
	return wrap(err, "create run")
}

// Execution implements store.Executions.
func (db *DB) Execution(ctx context.Context, workspace, id, device string) (runlet.Execution, error) {
	return db.execution(ctx, db.r, workspace, id, device)
}

func (db *DB) execution(ctx context.Context, q querier, workspace, id, device string) (runlet.Execution, error) {
	e, err := scanExecution(q.QueryRowContext(ctx, `SELECT `+executionCols+` FROM executions
		WHERE workspace_id = $1 AND id = $2 AND device = $3`, workspace, id, device))
	return e, notFound(err, "read execution", executionNotFound(id, device))
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ExecutionTargets implements store.Executions.
func (db *DB) ExecutionTargets(ctx context.Context, workspace, id string) ([]runlet.Execution, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+executionCols+` FROM executions
		WHERE workspace_id = $1 AND id = $2 ORDER BY device`, workspace, id)
	es, err := collect(rows, err, scanExecution)
	if err != nil {
		return nil, wrap(err, "read execution")
	}
	if len(es) == 0 {
		return nil, runlet.Errorf(runlet.ENOTFOUND, "Execution %q not found.", id)
	}
	return es, nil
}

// ListExecutions implements store.Executions.
func (db *DB) ListExecutions(ctx context.Context, workspace string, f store.ExecutionFilter) ([]runlet.Execution, error) {
	switch {
	case f.Limit < 0 || f.Offset < 0:
		return nil, invalid("A page needs a limit and offset of 0 or more.")
	case f.Status != "" && !f.Status.Valid():
		return nil, invalid("Unknown status %q: use Pending, Running, Error or Finished.", f.Status)
	}
	limit := min(f.Limit, store.MaxLimit)
	if limit == 0 {
		limit = store.DefaultLimit
	}
	where := []string{"workspace_id = $1"}
	args := []any{workspace}
	for _, c := range []struct{ col, val string }{{"job", f.Job}, {"device", f.Device}, {"status", string(f.Status)}} {
		if c.val != "" {
			args = append(args, c.val)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	args = append(args, limit, f.Offset)
	q := fmt.Sprintf(`SELECT %s FROM executions WHERE %s ORDER BY created DESC, seq DESC LIMIT $%d OFFSET $%d`,
		executionCols, strings.Join(where, " AND "), len(args)-1, len(args))
	rows, err := db.r.QueryContext(ctx, q, args...)
	es, err := collect(rows, err, scanExecution)
	return es, wrap(err, "list executions")
}

// UpdateExecutionStatus implements store.Executions. One conditional UPDATE
// makes the transition, so concurrent and replayed messages cannot move a
// run backwards.
func (db *DB) UpdateExecutionStatus(ctx context.Context, workspace, id, device string, u store.StatusUpdate) (runlet.Execution, bool, error) {
	at := u.Time
	if at.IsZero() {
		at = db.clock()
	}
	var (
		e   runlet.Execution
		err error
	)
	key := []any{workspace, id, device, db.t(at)}
	switch u.Status {
	case runlet.StatusRunning:
		e, err = scanExecution(db.w.QueryRowContext(ctx, `UPDATE executions SET status = 'Running', started = $4
			WHERE workspace_id = $1 AND id = $2 AND device = $3 AND status = 'Pending' RETURNING `+executionCols, key...))
	case runlet.StatusFinished, runlet.StatusError:
		e, err = scanExecution(db.w.QueryRowContext(ctx, `UPDATE executions SET status = $5, finished = $4,
			exit_code = $6, signal = $7, reason = $8
			WHERE workspace_id = $1 AND id = $2 AND device = $3 AND status IN ('Pending', 'Running') RETURNING `+executionCols,
			append(key, string(u.Status), u.ExitCode, u.Signal, u.Reason)...))
	default:
		return runlet.Execution{}, false, invalid("An execution cannot move to status %q.", u.Status)
	}
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return e, false, wrap(err, "update execution status")
	}
	e, err = db.execution(ctx, db.w, workspace, id, device)
	return e, false, err
}

// MarkExecutionKilled implements store.Executions.
func (db *DB) MarkExecutionKilled(ctx context.Context, workspace, id, device string) (runlet.Execution, error) {
	_, err := db.w.ExecContext(ctx, `UPDATE executions SET killed = TRUE
		WHERE workspace_id = $1 AND id = $2 AND device = $3 AND status IN ('Pending', 'Running')`, workspace, id, device)
	if err != nil {
		return runlet.Execution{}, wrap(err, "mark execution killed")
	}
	return db.execution(ctx, db.w, workspace, id, device)
}

// CancelExecution implements store.Executions: one conditional UPDATE, so
// that a run whose Running arrives at the same moment is either cancelled
// before it (and the Running changes nothing) or left running.
func (db *DB) CancelExecution(ctx context.Context, workspace, id, device, reason string) (runlet.Execution, bool, error) {
	e, err := scanExecution(db.w.QueryRowContext(ctx, `UPDATE executions SET status = 'Error', killed = TRUE,
		finished = $4, exit_code = -1, reason = $5
		WHERE workspace_id = $1 AND id = $2 AND device = $3 AND status = 'Pending' RETURNING `+executionCols,
		workspace, id, device, db.t(db.now()), reason))
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return e, false, wrap(err, "cancel execution")
	}
	e, err = db.execution(ctx, db.w, workspace, id, device)
	return e, false, err
}

// ExpireExecutions implements store.Executions.
func (db *DB) ExpireExecutions(ctx context.Context) ([]runlet.Execution, error) {
	now := db.t(db.now())
	rows, err := db.w.QueryContext(ctx, `UPDATE executions SET status = 'Error', finished = $1,
		reason = 'expired: no device started it before its expiry'
		WHERE status = 'Pending' AND expires IS NOT NULL AND expires <= $1 RETURNING `+executionCols, now)
	es, err := collect(rows, err, scanExecution)
	slices.SortFunc(es, func(a, b runlet.Execution) int { // RETURNING has no order
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Workspace, b.Workspace),
			cmp.Compare(a.ID, b.ID), cmp.Compare(a.Device, b.Device))
	})
	return es, wrap(err, "expire executions")
}
