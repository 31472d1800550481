package sqlstore

import (
	"context"

	"github.com/runlet/runlet/store"
)

const auditCols = `id, workspace_id, kind, subject, user_id, source, detail, created`

func scanAudit(s scanner) (store.AuditEvent, error) {
	var e store.AuditEvent
	err := s.Scan(&e.ID, textCol{&e.Workspace}, &e.Kind, &e.Subject, &e.User, &e.Source, &e.Detail, timeCol{&e.Time})
	return e, err
}

// AddAudit implements store.Audit.
func (db *DB) AddAudit(ctx context.Context, e *store.AuditEvent) error {
	if e.Kind == "" {
		return invalid("An audit event needs a kind.")
	}
	ne := *e
	if ne.ID == "" {
		ne.ID = store.NewID()
	}
	if ne.Time.IsZero() {
		ne.Time = db.now()
	}
	ne.Time = stamp(ne.Time)
	_, err := db.w.ExecContext(ctx, `INSERT INTO audit (id, workspace_id, kind, subject, user_id, source, detail, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		ne.ID, nullText(ne.Workspace), string(ne.Kind), ne.Subject, ne.User, ne.Source, ne.Detail, db.t(ne.Time))
	if err = db.constraint(err, "add audit event", "An audit event with the ID "+quote(ne.ID)+" exists.", "Workspace "+quote(ne.Workspace)+" not found."); err != nil {
		return err
	}
	*e = ne
	return nil
}

// ListAudit implements store.Audit.
func (db *DB) ListAudit(ctx context.Context, workspace string, limit int) ([]store.AuditEvent, error) {
	if limit < 0 {
		return nil, invalid("A page of the audit log needs a limit of 0 or more.")
	}
	limit = min(limit, store.MaxLimit)
	if limit == 0 {
		limit = store.DefaultLimit
	}
	q, args := `SELECT `+auditCols+` FROM audit ORDER BY created DESC, seq DESC LIMIT $1`, []any{limit}
	if workspace != "" {
		q = `SELECT ` + auditCols + ` FROM audit WHERE workspace_id = $1 ORDER BY created DESC, seq DESC LIMIT $2`
		args = []any{workspace, limit}
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	es, err := collect(rows, err, scanAudit)
	return es, wrap(err, "list audit events")
}
