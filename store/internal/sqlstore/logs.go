package sqlstore

import (
	"context"
	"time"

	"github.com/runlet/runlet"
)

// store.Logs: stubs until the store part lands (issue 15).

func notYet() error { return runlet.Errorf(runlet.EUNAVAILABLE, "run logs are not stored yet") }

func (db *DB) LogKeys(ctx context.Context, workspace string) ([]runlet.LogKey, error) {
	return nil, notYet()
}
func (db *DB) AddLogKey(ctx context.Context, workspace string, after int64, k *runlet.LogKey, resealed map[int64]string) error {
	return notYet()
}
func (db *DB) PutLogObject(ctx context.Context, o *runlet.LogObject) error { return notYet() }
func (db *DB) LogObject(ctx context.Context, workspace, execution, device string) (runlet.LogObject, error) {
	return runlet.LogObject{}, notYet()
}
func (db *DB) LogObjects(ctx context.Context, workspace, execution string) ([]runlet.LogObject, error) {
	return nil, notYet()
}
func (db *DB) ExpiredLogObjects(ctx context.Context, workspace string, before time.Time, limit int) ([]runlet.LogObject, error) {
	return nil, notYet()
}
func (db *DB) DeleteLogObject(ctx context.Context, workspace, execution, device string) error {
	return notYet()
}
func (db *DB) LogSettings(ctx context.Context, workspace string) (runlet.LogSettings, error) {
	return runlet.LogSettings{}, notYet()
}
func (db *DB) SetLogSettings(ctx context.Context, workspace string, s runlet.LogSettings) error {
	return notYet()
}
