package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

// AlertSettings implements store.Alerts (R-TEL-3).
func (db *DB) AlertSettings(ctx context.Context, workspace string) (runlet.AlertSettings, error) {
	var s runlet.AlertSettings
	err := db.settings(ctx, workspace, "alerts", &s)
	return s, err
}

// SetAlertSettings implements store.Alerts.
func (db *DB) SetAlertSettings(ctx context.Context, workspace string, s runlet.AlertSettings) error {
	if err := s.Check(); err != nil {
		return err
	}
	return db.setSettings(ctx, workspace, "alerts", s)
}

// NotifySettings implements store.Alerts (R-TEL-5).
func (db *DB) NotifySettings(ctx context.Context, workspace string) (store.NotifySettings, error) {
	var s store.NotifySettings
	err := db.settings(ctx, workspace, "notify", &s)
	return s, err
}

// SetNotifySettings implements store.Alerts.
func (db *DB) SetNotifySettings(ctx context.Context, workspace string, s store.NotifySettings) error {
	return db.setSettings(ctx, workspace, "notify", s)
}

// settings reads the JSON column col of the workspace's alert_settings
// into v, leaving v as it is when the workspace never set it.
func (db *DB) settings(ctx context.Context, workspace, col string, v any) error {
	var text sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT `+col+` FROM alert_settings WHERE workspace_id = $1`, workspace).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return db.workspaceExists(ctx, workspace)
	}
	if err != nil {
		return fmt.Errorf("read the %s settings of workspace %s: %w", col, quote(workspace), err)
	}
	if !text.Valid {
		return nil
	}
	if err := json.Unmarshal([]byte(text.String), v); err != nil {
		return fmt.Errorf("the stored %s settings of workspace %s: %w", col, quote(workspace), err)
	}
	return nil
}

// setSettings stores v as the JSON column col of the workspace's
// alert_settings.
func (db *DB) setSettings(ctx context.Context, workspace, col string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode the %s settings: %w", col, err)
	}
	_, err = db.w.ExecContext(ctx, `INSERT INTO alert_settings (workspace_id, `+col+`) VALUES ($1, $2)
		ON CONFLICT (workspace_id) DO UPDATE SET `+col+` = excluded.`+col, workspace, string(b))
	return db.constraint(err, "store the "+col+" settings", "", "Workspace "+quote(workspace)+" not found.")
}

const channelCols = `id, workspace_id, user_id, kind, target, routes, secret, disabled, created`

func scanChannel(s scanner) (runlet.Channel, string, error) {
	var c runlet.Channel
	var routes, secret string
	err := s.Scan(&c.ID, &c.Workspace, textCol{&c.User}, &c.Kind, &c.Target, &routes, &secret, &c.Disabled, timeCol{&c.Created})
	if err != nil {
		return c, "", err
	}
	if err := json.Unmarshal([]byte(routes), &c.Routes); err != nil {
		return c, "", fmt.Errorf("the routes of channel %s: %w", c.ID, err)
	}
	if len(c.Routes) == 0 {
		c.Routes = nil
	}
	c.HasSecret = secret != ""
	return c, secret, nil
}

// checkChannel validates what AddChannel and UpdateChannel store (the
// kind only when it is stored, on adding) and returns the routes as JSON.
func checkChannel(c *runlet.Channel, adding bool) (string, error) {
	c.Target = strings.TrimSpace(c.Target)
	switch {
	case adding && !c.Kind.Valid():
		return "", invalid("A channel's kind is email, webhook or sms, not %q.", c.Kind)
	case c.Target == "":
		return "", invalid("A channel needs a target: an e-mail address, a URL or a phone number.")
	}
	known := runlet.DefaultRouting()
	for _, r := range c.Routes {
		if _, ok := known[r]; !ok {
			return "", invalid("There is no route %q; the routes are threshold.temp, threshold.batt, silence, offline, outbox and refused.", r)
		}
	}
	routes := c.Routes
	if routes == nil {
		routes = []runlet.Route{}
	}
	b, err := json.Marshal(routes)
	return string(b), err
}

// AddChannel implements store.Alerts. A user's channel needs the user to
// be a member of the workspace; removing the member removes it.
func (db *DB) AddChannel(ctx context.Context, c *runlet.Channel, secret string) error {
	nc := *c
	routes, err := checkChannel(&nc, true)
	if err != nil {
		return err
	}
	if nc.ID == "" {
		nc.ID = store.NewID()
	}
	nc.Created = db.now()
	nc.HasSecret = secret != ""
	_, err = db.w.ExecContext(ctx, `INSERT INTO channels (id, workspace_id, user_id, kind, target, routes, secret, disabled, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		nc.ID, nc.Workspace, nullText(nc.User), string(nc.Kind), nc.Target, routes, secret, nc.Disabled, db.t(nc.Created))
	missing := "Workspace " + quote(nc.Workspace) + " not found."
	if nc.User != "" {
		missing = "User " + quote(nc.User) + " is not a member of workspace " + quote(nc.Workspace) + ", or the workspace does not exist."
	}
	if err := db.constraint(err, "add channel", "Channel "+quote(nc.ID)+" exists already.", missing); err != nil {
		return err
	}
	*c = nc
	return nil
}

// Channels implements store.Alerts.
func (db *DB) Channels(ctx context.Context, workspace string) ([]runlet.Channel, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+channelCols+` FROM channels WHERE workspace_id = $1 ORDER BY seq`, workspace)
	cs, err := collect(rows, err, func(s scanner) (runlet.Channel, error) {
		c, _, err := scanChannel(s)
		return c, err
	})
	return cs, wrap(err, "list channels")
}

func channelNotFound(workspace, id string) string {
	return "Channel " + quote(id) + " not found in workspace " + quote(workspace) + "."
}

// Channel implements store.Alerts.
func (db *DB) Channel(ctx context.Context, workspace, id string) (runlet.Channel, string, error) {
	c, secret, err := scanChannel(db.r.QueryRowContext(ctx, `SELECT `+channelCols+` FROM channels
		WHERE workspace_id = $1 AND id = $2`, workspace, id))
	return c, secret, notFound(err, "read channel", channelNotFound(workspace, id))
}

// UpdateChannel implements store.Alerts: the target, routes and disabled
// flag, and the secret when secret is not nil ("" removes it).
func (db *DB) UpdateChannel(ctx context.Context, c runlet.Channel, secret *string) (runlet.Channel, error) {
	routes, err := checkChannel(&c, false)
	if err != nil {
		return runlet.Channel{}, err
	}
	var sec any // NULL keeps the stored one
	if secret != nil {
		sec = *secret
	}
	got, _, err := scanChannel(db.w.QueryRowContext(ctx, `UPDATE channels SET
		target = $3, routes = $4, disabled = $5, secret = COALESCE($6, secret)
		WHERE workspace_id = $1 AND id = $2 RETURNING `+channelCols,
		c.Workspace, c.ID, c.Target, routes, c.Disabled, sec))
	return got, notFound(err, "update channel", channelNotFound(c.Workspace, c.ID))
}

// DeleteChannel implements store.Alerts. Its notifications keep the
// channel's ID and target.
func (db *DB) DeleteChannel(ctx context.Context, workspace, id string) error {
	n, err := rowsAffected(db.w.ExecContext(ctx, `DELETE FROM channels WHERE workspace_id = $1 AND id = $2`, workspace, id))
	if err != nil {
		return wrap(err, "delete channel")
	}
	if n == 0 {
		return runlet.Errorf(runlet.ENOTFOUND, "%s", channelNotFound(workspace, id))
	}
	return nil
}
