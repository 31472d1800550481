package server

import (
	"encoding/csv"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runlet/runlet"
	"github.com/runlet/runlet/api"
	"github.com/runlet/runlet/jobspec"
	"github.com/runlet/runlet/store"
)

// The queries of a sensor's readings: its series, downsampled or not, in
// JSON or CSV, and its raw archive page by page.

// defaultRange is the range of a query that gives no from.
const defaultRange = 24 * time.Hour

// handleSeries is GET /sensors/{id}/readings?metric&from&to&step&limit,
// answered in JSON, or in CSV for Accept: text/csv or format=csv.
func (s *Server) handleSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	asCSV, err := wantsCSV(r, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	metric := runlet.Metric(q.Get("metric"))
	if metric == "" {
		metric = runlet.MetricTemp
	}
	if !metric.Valid() {
		s.error(w, r, runlet.Errorf(runlet.EINVALID, "metric must be temp or batt, not %q.", runlet.SafeText(string(metric))))
		return
	}
	from, to, err := rangeParams(q, s.now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	step, err := stepParam(q.Get("step"), from, to)
	if err != nil {
		s.error(w, r, err)
		return
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if limit == 0 || limit > api.MaxPoints {
		limit = api.MaxPoints
	}
	sn, err := s.sensorOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	points, err := s.db.Series(r.Context(), sn.Workspace, sn.ID, metric, from, to, step, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := api.Series{Sensor: sn.ID, Metric: metric, From: from, To: to, Points: points, Truncated: len(points) >= limit}
	if out.Points == nil {
		out.Points = []runlet.SeriesPoint{}
	}
	if step > 0 {
		out.Step = runlet.FormatDuration(step)
	}
	if asCSV {
		writeSeriesCSV(w, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// wantsCSV reads format (json or csv), or else the Accept header.
func wantsCSV(r *http.Request, q url.Values) (bool, error) {
	switch f := q.Get("format"); f {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.Contains(r.Header.Get("Accept"), "text/csv"), nil
	default:
		return false, runlet.Errorf(runlet.EINVALID, "format must be json or csv, not %q.", runlet.SafeText(f))
	}
}

// writeSeriesCSV writes one line per point: time (RFC 3339), min, max,
// mean, count; values in the shortest form that reads back exactly.
func writeSeriesCSV(w http.ResponseWriter, out api.Series) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sensor-`+strconv.FormatInt(out.Sensor, 10)+"-"+string(out.Metric)+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "min", "max", "mean", "count"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, p := range out.Points {
		_ = cw.Write([]string{p.Time.UTC().Format(time.RFC3339Nano), num(p.Min), num(p.Max), num(p.Mean), strconv.Itoa(p.Count)})
	}
	cw.Flush()
}

// handleRaw is GET /sensors/{id}/raw?from&to&after&limit: a page of the
// sensor's raw archive in insertion order, with the cursor of the next.
func (s *Server) handleRaw(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to, err := rangeParams(q, s.now())
	if err != nil {
		s.error(w, r, err)
		return
	}
	var after int64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			s.error(w, r, runlet.Errorf(runlet.EINVALID, "after must be the next of the page before, a number of 0 or more, not %q.", runlet.SafeText(v)))
			return
		}
	}
	limit, err := intParam(q.Get("limit"), "limit")
	if err != nil {
		s.error(w, r, err)
		return
	}
	if limit == 0 {
		limit = store.DefaultLimit
	}
	limit = min(limit, store.MaxLimit)
	sn, err := s.sensorOf(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rs, err := s.db.RawReadings(r.Context(), sn.Workspace, sn.ID, from, to, after, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := api.RawReadings{Sensor: sn.ID, Readings: make([]api.RawReading, len(rs))}
	for i, x := range rs {
		out.Readings[i] = api.RawReadingOf(x)
	}
	if len(rs) >= limit {
		out.Next = rs[len(rs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// rangeParams reads from and to (timeArg); the default range is the last
// 24 hours, or 24 hours from from.
func rangeParams(q url.Values, now time.Time) (from, to time.Time, err error) {
	if to, err = timeArg(q.Get("to"), "to", now); err != nil {
		return from, to, err
	}
	if from, err = timeArg(q.Get("from"), "from", now); err != nil {
		return from, to, err
	}
	switch {
	case from.IsZero() && to.IsZero():
		to = now
		from = to.Add(-defaultRange)
	case from.IsZero():
		from = to.Add(-defaultRange)
	case to.IsZero():
		to = now
		if !to.After(from) {
			to = from.Add(defaultRange)
		}
	}
	if !to.After(from) {
		return from, to, runlet.Errorf(runlet.EINVALID, "to (%s) must be after from (%s).", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

// timeArg reads a time of a query: RFC 3339, unix seconds, "now", or
// relative to now ("-24h", "-7d", "-1h30m"); zero when v is empty. name
// is the parameter, for the error.
func timeArg(v, name string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return time.Time{}, nil
	case v == "now":
		return now, nil
	case strings.HasPrefix(v, "-") && len(v) > 1 && !isDigits(v[1:]):
		d, err := jobspec.ParseDuration(v[1:])
		if err == nil && d > 0 {
			return now.Add(-d), nil
		}
	case isDigits(strings.TrimPrefix(v, "-")):
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > -1e11 && n < 1e11 {
			return time.Unix(n, 0).UTC(), nil
		}
	default:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, runlet.Errorf(runlet.EINVALID, "%s must be a time: RFC 3339 (2026-03-04T05:06:07Z), unix seconds (1772600767), or relative to now (-24h, -7d, now), not %q.", name, runlet.SafeText(v))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// stepParam reads step: "" for every point, a duration, or "auto" for a
// round step that makes at most about api.MaxPoints buckets of [from, to).
// A step too small for the range is not an error: the answer stops at
// limit and says it is truncated.
func stepParam(v string, from, to time.Time) (time.Duration, error) {
	switch v {
	case "", "0":
		return 0, nil
	case "auto":
		return autoStep(to.Sub(from)), nil
	}
	d, err := jobspec.ParseDuration(v)
	if err != nil || d < time.Second {
		return 0, runlet.Errorf(runlet.EINVALID, "step must be a duration of a second or more (30s, 5m, 1h, 1d) or auto, not %q.", runlet.SafeText(v))
	}
	return d, nil
}

// roundSteps are the steps auto chooses from.
var roundSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// autoStep is the smallest round step that cuts span into at most
// api.MaxPoints buckets, counting the partial buckets at both ends.
func autoStep(span time.Duration) time.Duration {
	for _, d := range roundSteps {
		if span/d+2 <= api.MaxPoints {
			return d
		}
	}
	day := 24 * time.Hour
	days := math.Ceil(float64(span) / float64(day) / float64(api.MaxPoints-2))
	return time.Duration(days) * day
}
