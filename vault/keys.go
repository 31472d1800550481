package vault

import (
	"context"
	"fmt"
	"strconv"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/castlog"
)

// maxRecipient bounds a recipient's text: an X25519 recipient is 62
// characters.
const maxRecipient = 256

// Keys returns the workspace's log key generations, oldest first (the
// last is the active one): what members unseal, and devices may read.
func (s *Service) Keys(ctx context.Context, ws string) ([]runlet.LogKey, error) {
	keys, err := s.db.LogKeys(ctx, ws)
	if err != nil {
		return nil, fmt.Errorf("read the log keys: %w", err)
	}
	if keys == nil {
		keys = []runlet.LogKey{}
	}
	return keys, nil
}

// ActiveKey is what a device needs to record logs (R-LOG-1): the newest
// generation's recipient, and the workspace's retention, which it applies
// to its own copies. Generation 0 when the workspace has no key yet.
func (s *Service) ActiveKey(ctx context.Context, ws string) (api.ActiveLogKey, error) {
	keys, err := s.db.LogKeys(ctx, ws)
	if err != nil {
		return api.ActiveLogKey{}, fmt.Errorf("read the log keys: %w", err)
	}
	set, err := s.db.LogSettings(ctx, ws)
	if err != nil {
		return api.ActiveLogKey{}, fmt.Errorf("read the log settings: %w", err)
	}
	out := api.ActiveLogKey{Retention: runlet.Duration(set.RetentionOrDefault())}
	if n := len(keys); n > 0 {
		out.Generation, out.Recipient = keys[n-1].Generation, keys[n-1].Recipient
	}
	return out, nil
}

// AddKey stores a new generation made on a person's machine (R-LOG-1):
// the first (req.After 0) or a rotation from req.After, which re-seals
// every older generation with the new passphrase in the same request
// (req.Resealed), so that the old passphrase opens nothing the server
// holds any more. userID is the person's; a device (userID "") may not.
// The server checks the shapes it can without the passphrase: the
// recipient is an age X25519 recipient, every sealed text an armored age
// file encrypted with a passphrase (scrypt) alone. EFORBIDDEN: a device.
// EINVALID: a bad text, a rotation that leaves a generation out.
// ECONFLICT: req.After is not the newest generation (someone rotated
// first: read the keys again).
func (s *Service) AddKey(ctx context.Context, ws, userID string, req api.NewLogKey) (runlet.LogKey, error) {
	if userID == "" {
		return runlet.LogKey{}, runlet.Errorf(runlet.EFORBIDDEN, "A device cannot make log keys: a person makes them on their own machine ('runlet keys init').")
	}
	if err := checkRecipient(req.Recipient); err != nil {
		return runlet.LogKey{}, err
	}
	if err := checkSealed(req.Sealed); err != nil {
		return runlet.LogKey{}, err
	}
	keys, err := s.db.LogKeys(ctx, ws)
	if err != nil {
		return runlet.LogKey{}, fmt.Errorf("read the log keys: %w", err)
	}
	var newest int64
	if n := len(keys); n > 0 {
		newest = keys[n-1].Generation
	}
	if req.After != newest {
		return runlet.LogKey{}, conflict(req.After, newest)
	}
	resealed := make(map[int64]string, len(req.Resealed))
	for g, sealed := range req.Resealed {
		gen, err := strconv.ParseInt(g, 10, 64)
		if err != nil || gen < 1 {
			return runlet.LogKey{}, runlet.Errorf(runlet.EINVALID, "resealed names %q, which is not a key generation (a number from 1).", g)
		}
		if err := checkSealed(sealed); err != nil {
			return runlet.LogKey{}, fmt.Errorf("generation %d: %w", gen, err)
		}
		resealed[gen] = sealed
	}
	for _, k := range keys {
		if k.Recipient == req.Recipient {
			return runlet.LogKey{}, runlet.Errorf(runlet.EINVALID, "The recipient is already generation %d's: a rotation makes a new key.", k.Generation)
		}
		if _, ok := resealed[k.Generation]; !ok {
			return runlet.LogKey{}, runlet.Errorf(runlet.EINVALID, "A rotation re-seals every older generation with the new passphrase: generation %d is missing from resealed.", k.Generation)
		}
	}
	k := runlet.LogKey{Recipient: req.Recipient, Sealed: req.Sealed, CreatedBy: userID}
	if err := s.db.AddLogKey(ctx, ws, req.After, &k, resealed); err != nil {
		if runlet.ErrorCode(err) == runlet.ECONFLICT {
			return runlet.LogKey{}, conflict(req.After, -1)
		}
		return runlet.LogKey{}, fmt.Errorf("store the log key: %w", err)
	}
	return k, nil
}

// conflict is the error of a rotation from a generation that is no longer
// the newest (newest -1: not known).
func conflict(after, newest int64) error {
	switch {
	case after == 0:
		return runlet.Errorf(runlet.ECONFLICT, "The workspace has a log key already: rotate it ('runlet keys rotate') rather than make a first one.")
	case newest == 0:
		return runlet.Errorf(runlet.ECONFLICT, "The workspace has no log key to rotate: make the first ('runlet keys init').")
	case newest > 0:
		return runlet.Errorf(runlet.ECONFLICT, "The log key was rotated meanwhile (generation %d is the newest, not %d): read the keys again and retry.", newest, after)
	}
	return runlet.Errorf(runlet.ECONFLICT, "The log key was rotated meanwhile (generation %d is no longer the newest): read the keys again and retry.", after)
}

// checkRecipient reports, with EINVALID, text that is not an age X25519
// recipient.
func checkRecipient(r string) error {
	if r == "" || len(r) > maxRecipient {
		return runlet.Errorf(runlet.EINVALID, "The log key's recipient is missing or too long: give an age X25519 recipient (age1…).")
	}
	if _, err := castlog.ParseRecipient(r); err != nil {
		return err
	}
	return nil
}

// checkSealed reports, with EINVALID, a sealed identity that is not an
// armored age file encrypted with a passphrase alone (castlog.CheckSealed):
// the one shape a log key's private half may have on the server, so that
// nothing stored there opens without the passphrase.
func checkSealed(sealed string) error {
	if sealed == "" {
		return runlet.Errorf(runlet.EINVALID, "The sealed identity is missing: give the identity sealed with the log passphrase.")
	}
	return castlog.CheckSealed(sealed)
}

// Settings returns the workspace's log settings, with the retention that
// applies (the default when none was set).
func (s *Service) Settings(ctx context.Context, ws string) (runlet.LogSettings, error) {
	set, err := s.db.LogSettings(ctx, ws)
	if err != nil {
		return runlet.LogSettings{}, fmt.Errorf("read the log settings: %w", err)
	}
	set.Retention = runlet.Duration(set.RetentionOrDefault())
	return set, nil
}

// SetSettings stores the workspace's log settings and returns them as
// Settings does. EINVALID: set.Check fails.
func (s *Service) SetSettings(ctx context.Context, ws string, set runlet.LogSettings) (runlet.LogSettings, error) {
	if err := set.Check(); err != nil {
		return runlet.LogSettings{}, err
	}
	if err := s.db.SetLogSettings(ctx, ws, set); err != nil {
		return runlet.LogSettings{}, fmt.Errorf("store the log settings: %w", err)
	}
	return s.Settings(ctx, ws)
}
