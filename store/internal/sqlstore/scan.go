package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// timeCol scans a stored time, NULL or either dialect's encoding, into t.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64: // SQLite: microseconds since the epoch
		*c.t = time.UnixMicro(v).UTC()
	case time.Time: // PostgreSQL: timestamptz
		*c.t = v.UTC()
	default:
		return fmt.Errorf("cannot scan %T into a time", v)
	}
	return nil
}

// textCol scans a possibly NULL text into s.
type textCol struct{ s *string }

func (c textCol) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*c.s = ns.String
	return nil
}

// nullText encodes "" as NULL.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// labelsCol scans labels stored as a JSON object.
type labelsCol struct{ m *map[string]string }

func (c labelsCol) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case nil:
		*c.m = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("cannot scan %T into labels", v)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	if len(m) == 0 {
		m = nil
	}
	*c.m = m
	return nil
}

// labelsArg encodes labels as a JSON object text.
func labelsArg(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return string(b)
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
