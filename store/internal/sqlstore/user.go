package sqlstore

import (
	"context"
	"strings"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

const userCols = `id, email, name, avatar_url, type, password_hash, created`

func scanUser(s scanner) (runlet.User, error) {
	var u runlet.User
	err := s.Scan(&u.ID, &u.Email, &u.Name, &u.AvatarURL, &u.Type, &u.PasswordHash, timeCol{&u.Created})
	return u, err
}

// emailKey is the form in which emails are compared.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser implements store.Users.
func (db *DB) CreateUser(ctx context.Context, u *runlet.User) error {
	nu := *u
	nu.Email = strings.TrimSpace(nu.Email)
	if nu.Type == "" {
		nu.Type = runlet.UserBasic
	}
	switch {
	case nu.Email == "":
		return invalid("A user needs an email address.")
	case !nu.Type.Valid():
		return invalid("Unknown user type %q: use basic or pro.", nu.Type)
	}
	if nu.ID == "" {
		nu.ID = store.NewID()
	}
	nu.Created = db.now()
	_, err := db.w.ExecContext(ctx, `INSERT INTO users (id, email, email_key, name, avatar_url, type, password_hash, created)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		nu.ID, nu.Email, emailKey(nu.Email), nu.Name, nu.AvatarURL, string(nu.Type), nu.PasswordHash, db.t(nu.Created))
	if err = db.constraint(err, "create user", "A user with the email "+quote(nu.Email)+" (or with its ID) already exists.", ""); err != nil {
		return err
	}
	*u = nu
	return nil
}

// User implements store.Users.
func (db *DB) User(ctx context.Context, id string) (runlet.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, notFound(err, "read user", "User "+quote(id)+" not found.")
}

// UserByEmail implements store.Users.
func (db *DB) UserByEmail(ctx context.Context, email string) (runlet.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email_key = $1`, emailKey(email)))
	return u, notFound(err, "read user", "No user with the email "+quote(email)+".")
}

// UpdateUser implements store.Users.
func (db *DB) UpdateUser(ctx context.Context, id string, upd store.UserUpdate) (runlet.User, error) {
	if upd.Type != nil && !upd.Type.Valid() {
		return runlet.User{}, invalid("Unknown user type %q: use basic or pro.", *upd.Type)
	}
	var typ *string
	if upd.Type != nil {
		s := string(*upd.Type)
		typ = &s
	}
	u, err := scanUser(db.w.QueryRowContext(ctx, `UPDATE users SET
		name = COALESCE($2, name), avatar_url = COALESCE($3, avatar_url),
		type = COALESCE($4, type), password_hash = COALESCE($5, password_hash)
		WHERE id = $1 RETURNING `+userCols,
		id, upd.Name, upd.AvatarURL, typ, upd.PasswordHash))
	return u, notFound(err, "update user", "User "+quote(id)+" not found.")
}
