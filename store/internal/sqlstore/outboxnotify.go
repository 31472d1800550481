package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const notificationCols = `id, workspace_id, alert, event, channel, kind, target, key, subject, body, payload,
	state, attempts, error, created, next, sent`

func scanNotification(s scanner) (runlet.Notification, error) {
	var n runlet.Notification
	var alert sql.NullInt64
	err := s.Scan(&n.ID, &n.Workspace, &alert, &n.Event, &n.Channel, &n.Kind, &n.Target, &n.Key, &n.Subject, &n.Body, &n.Payload,
		&n.State, &n.Attempts, &n.Error, timeCol{&n.Created}, timeCol{&n.Next}, timeCol{&n.Sent})
	n.Alert = alert.Int64
	return n, err
}

// claimable is the condition of a notification that a sender may take at
// $1 (now): pending, due, and not claimed by a sender whose claim runs.
const claimable = `state = 'pending' AND next <= $1 AND (claim_until IS NULL OR claim_until <= $1)`

// ClaimNotifications implements store.Alerts (R-TEL-5): one UPDATE of
// the oldest due notifications, picked once in a materialized WITH (a
// subquery in the WHERE may run again per row, and then takes more than
// the limit). On PostgreSQL the pick skips the rows another claimer has
// locked, and the UPDATE checks the condition again on each row, so two
// claimers never take the same one.
func (db *DB) ClaimNotifications(ctx context.Context, holder string, until time.Time, limit int) ([]runlet.Notification, error) {
	if holder == "" {
		return nil, invalid("A claim of notifications needs a holder.")
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	now := db.now()
	if !until.After(now) {
		return nil, invalid("A claim must run until after now (%s), not %s.", now.Format(time.RFC3339Nano), until.UTC().Format(time.RFC3339Nano))
	}
	rows, err := db.w.QueryContext(ctx, `WITH picked AS MATERIALIZED (SELECT id FROM notifications WHERE `+claimable+`
			ORDER BY next, id LIMIT $4`+db.dialect.SkipLocked+`)
		UPDATE notifications SET claimed_by = $2, claim_until = $3
		WHERE `+claimable+` AND id IN (SELECT id FROM picked)
		RETURNING `+notificationCols, db.t(now), holder, db.t(until), limit)
	ns, err := collect(rows, err, scanNotification)
	if err != nil {
		return nil, wrap(err, "claim notifications")
	}
	slices.SortFunc(ns, func(a, b runlet.Notification) int {
		if c := a.Next.Compare(b.Next); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return ns, nil
}

// FinishNotification implements store.Alerts.
func (db *DB) FinishNotification(ctx context.Context, id int64, holder string, r store.NotificationResult) (runlet.Notification, error) {
	now := db.now()
	var next, sent any
	switch r.State {
	case runlet.NotificationPending:
		next = db.t(r.Next)
		if r.Next.IsZero() {
			next = db.t(now)
		}
	case runlet.NotificationSent:
		sent = db.t(now)
	case runlet.NotificationFailed:
	default:
		return runlet.Notification{}, invalid("An attempt to send leaves a notification pending, sent or failed, not %q.", r.State)
	}
	n, err := scanNotification(db.w.QueryRowContext(ctx, `UPDATE notifications SET
		attempts = attempts + 1, state = $3, error = $4, next = $5, sent = $6, claimed_by = '', claim_until = NULL
		WHERE id = $1 AND claimed_by = $2 AND state = 'pending' RETURNING `+notificationCols,
		id, holder, string(r.State), r.Error, next, sent))
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return runlet.Notification{}, wrap(err, "finish notification")
	}
	var state, by string
	err = db.w.QueryRowContext(ctx, `SELECT state, claimed_by FROM notifications WHERE id = $1`, id).Scan(&state, &by)
	if err := notFound(err, "read notification", "Notification "+strconv.FormatInt(id, 10)+" not found."); err != nil {
		return runlet.Notification{}, err
	}
	if state != string(runlet.NotificationPending) {
		return runlet.Notification{}, runlet.Errorf(runlet.ECONFLICT, "Notification %d is %s already.", id, state)
	}
	return runlet.Notification{}, runlet.Errorf(runlet.ECONFLICT, "Notification %d is not claimed by %s any more.", id, quote(holder))
}

// QueueNotification implements store.Alerts: a channel's test, which
// belongs to no alert.
func (db *DB) QueueNotification(ctx context.Context, n *runlet.Notification) error {
	switch {
	case n.Event != runlet.EventTest:
		return invalid("Only a channel's test is queued outside an alert, not a notification that an alert %s.", n.Event)
	case n.Workspace == "" || n.Channel == "" || !n.Kind.Valid() || n.Key == "":
		return invalid("A test notification needs its workspace, channel, the channel's kind and a key.")
	}
	now := db.now()
	n.Alert, n.State, n.Attempts, n.Error, n.Created, n.Next, n.Sent = 0, runlet.NotificationPending, 0, "", now, now, time.Time{}
	err := db.w.QueryRowContext(ctx, `INSERT INTO notifications (workspace_id, alert, event, channel, kind, target, key,
		subject, body, payload, state, created, next) VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		n.Workspace, string(n.Event), n.Channel, string(n.Kind), n.Target, n.Key,
		n.Subject, n.Body, n.Payload, string(n.State), db.t(n.Created), db.t(n.Next)).Scan(&n.ID)
	if db.dialect.IsUnique(err) {
		return runlet.Errorf(runlet.ECONFLICT, "A notification with the key %s is queued already.", quote(n.Key))
	}
	return db.constraint(err, "queue a test notification", "", "Workspace "+quote(n.Workspace)+" not found.")
}

// ListNotifications implements store.Alerts.
func (db *DB) ListNotifications(ctx context.Context, workspace string, f store.NotificationFilter) ([]runlet.Notification, error) {
	if f.Limit < 0 {
		return nil, invalid("A page of notifications needs a limit of 0 or more, not %d.", f.Limit)
	}
	limit, _ := pageLimit(f.Limit)
	where, args := []string{"workspace_id = $1"}, []any{workspace}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	switch f.State {
	case "":
	case runlet.NotificationPending, runlet.NotificationSent, runlet.NotificationFailed:
		add("state = $%d", string(f.State))
	default:
		return nil, invalid("A notification is pending, sent or failed, not %q.", f.State)
	}
	if f.Alert != 0 {
		add("alert = $%d", f.Alert)
	}
	if f.Before > 0 {
		add("id < $%d", f.Before)
	}
	args = append(args, limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	ns, err := collect(rows, err, scanNotification)
	return ns, wrap(err, "list notifications")
}
