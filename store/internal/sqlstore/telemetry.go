package sqlstore

// Placeholder bodies, replaced by the sensors and telemetry implementation.

import (
	"context"
	"errors"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/store"
)

var errTODO = errors.New("sqlstore: telemetry is not implemented yet")

func (db *DB) AddSensor(ctx context.Context, s *runlet.Sensor, secret string) error { return errTODO }
func (db *DB) Sensor(ctx context.Context, workspace string, id int64) (runlet.Sensor, error) {
	return runlet.Sensor{}, errTODO
}
func (db *DB) ListSensors(ctx context.Context, workspace string) ([]runlet.Sensor, error) {
	return nil, errTODO
}
func (db *DB) UpdateSensor(ctx context.Context, s runlet.Sensor, secret string) (runlet.Sensor, error) {
	return runlet.Sensor{}, errTODO
}
func (db *DB) DeleteSensor(ctx context.Context, workspace string, id int64) error { return errTODO }
func (db *DB) CheckSensor(ctx context.Context, id int64, secret string) (runlet.Sensor, error) {
	return runlet.Sensor{}, errTODO
}
func (db *DB) AddReadings(ctx context.Context, workspace string, rs []runlet.RawReading) (int, error) {
	return 0, errTODO
}
func (db *DB) RawReadings(ctx context.Context, workspace string, sensor int64, from, to time.Time, after int64, limit int) ([]runlet.RawReading, error) {
	return nil, errTODO
}
func (db *DB) Series(ctx context.Context, workspace string, sensor int64, metric runlet.Metric, from, to time.Time, step time.Duration, limit int) ([]runlet.SeriesPoint, error) {
	return nil, errTODO
}
func (db *DB) TelemetrySettings(ctx context.Context, workspace string) (store.TelemetrySettings, error) {
	return store.TelemetrySettings{}, errTODO
}
func (db *DB) SetTelemetrySettings(ctx context.Context, workspace string, s store.TelemetrySettings) error {
	return errTODO
}
func (db *DB) PruneReadings(ctx context.Context, workspace string, before time.Time) (int64, error) {
	return 0, errTODO
}
