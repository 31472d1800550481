package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
)

// Sensors lists the workspace's sensors by id, each with when it last
// reported and its latest values.
func (c *Client) Sensors(ctx context.Context) ([]runlet.Sensor, error) {
	var out api.Sensors
	err := c.do(ctx, http.MethodGet, "/sensors", nil, &out)
	return out.Sensors, err
}

// Sensor returns the workspace's sensor id. ENOTFOUND when the workspace
// has none (another workspace's sensor is not found either).
func (c *Client) Sensor(ctx context.Context, id int64) (runlet.Sensor, error) {
	var out runlet.Sensor
	err := c.do(ctx, http.MethodGet, sensorPath(id, ""), nil, &out)
	return out, err
}

// AddSensor registers a sensor (admins only). ECONFLICT when its id is
// taken, in this workspace or another.
func (c *Client) AddSensor(ctx context.Context, req api.NewSensor) (runlet.Sensor, error) {
	var out runlet.Sensor
	err := c.do(ctx, http.MethodPost, "/sensors", req, &out)
	return out, err
}

// UpdateSensor changes the fields of the sensor that upd gives (admins
// only) and returns the sensor.
func (c *Client) UpdateSensor(ctx context.Context, id int64, upd api.SensorUpdate) (runlet.Sensor, error) {
	var out runlet.Sensor
	err := c.do(ctx, http.MethodPatch, sensorPath(id, ""), upd, &out)
	return out, err
}

// RemoveSensor removes the sensor with its series and raw archive (admins
// only).
func (c *Client) RemoveSensor(ctx context.Context, id int64) error {
	return c.do(ctx, http.MethodDelete, sensorPath(id, ""), nil, nil)
}

// Series returns the series of one metric of a sensor.
func (c *Client) Series(ctx context.Context, id int64, q api.SeriesQuery) (api.Series, error) {
	var out api.Series
	err := c.do(ctx, http.MethodGet, seriesPath(id, q, ""), nil, &out)
	return out, err
}

// SeriesCSV returns the series as the server writes it in CSV: a header
// line (time,min,max,mean,count), then a line per point.
func (c *Client) SeriesCSV(ctx context.Context, id int64, q api.SeriesQuery) ([]byte, error) {
	var out []byte
	err := c.do(ctx, http.MethodGet, seriesPath(id, q, "csv"), nil, &out)
	return out, err
}

// RawReadings returns a page of the sensor's raw archive in insertion
// order; Next of the answer, as q.After, asks for the page after.
func (c *Client) RawReadings(ctx context.Context, id int64, q api.RawQuery) (api.RawReadings, error) {
	v := url.Values{}
	setNonEmpty(v, "from", q.From)
	setNonEmpty(v, "to", q.To)
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out api.RawReadings
	err := c.do(ctx, http.MethodGet, withQuery(sensorPath(id, "/raw"), v), nil, &out)
	return out, err
}

// Replay feeds the sensor's archived readings in the range again through
// the telemetry pipeline (admins only) and returns how many went.
func (c *Client) Replay(ctx context.Context, id int64, req api.ReplayRequest) (int, error) {
	var out api.ReplayResponse
	err := c.do(ctx, http.MethodPost, sensorPath(id, "/replay"), req, &out)
	return out.Replayed, err
}

// TelemetrySettings returns the workspace's telemetry settings.
func (c *Client) TelemetrySettings(ctx context.Context) (api.TelemetrySettings, error) {
	var out api.TelemetrySettings
	err := c.do(ctx, http.MethodGet, "/telemetry/settings", nil, &out)
	return out, err
}

// SetTelemetrySettings changes the settings upd gives (admins only) and
// returns them all.
func (c *Client) SetTelemetrySettings(ctx context.Context, upd api.TelemetrySettingsUpdate) (api.TelemetrySettings, error) {
	var out api.TelemetrySettings
	err := c.do(ctx, http.MethodPut, "/telemetry/settings", upd, &out)
	return out, err
}

// TelemetryStats returns the counts of the server's telemetry pipeline
// for the workspace. EUNAVAILABLE when the server runs none.
func (c *Client) TelemetryStats(ctx context.Context) (api.TelemetryStats, error) {
	var out api.TelemetryStats
	err := c.do(ctx, http.MethodGet, "/telemetry/stats", nil, &out)
	return out, err
}

func sensorPath(id int64, rest string) string {
	return "/sensors/" + strconv.FormatInt(id, 10) + rest
}

func seriesPath(id int64, q api.SeriesQuery, format string) string {
	v := url.Values{}
	setNonEmpty(v, "metric", string(q.Metric))
	setNonEmpty(v, "from", q.From)
	setNonEmpty(v, "to", q.To)
	setNonEmpty(v, "step", q.Step)
	setNonEmpty(v, "format", format)
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return withQuery(sensorPath(id, "/readings"), v)
}

func setNonEmpty(v url.Values, k, s string) {
	if s != "" {
		v.Set(k, s)
	}
}

func withQuery(path string, v url.Values) string {
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
