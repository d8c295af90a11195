package sqlstore

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Range of times that unix nanoseconds in an int64 can hold.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeValue stores a time as unix nanoseconds, and the zero time as NULL.
type timeValue time.Time

func (v timeValue) Value() (driver.Value, error) {
	t := time.Time(v)
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return nil, fmt.Errorf("sqlstore: time %s out of the storable range", t)
	}
	return t.UnixNano(), nil
}

// timeScan reads what timeValue stored: NULL as the zero time, anything else in UTC.
type timeScan struct{ t *time.Time }

func (s timeScan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case int64:
		*s.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot read %T as a time", src)
	}
	return nil
}

// jsonValue stores v as JSON text.
type jsonValue struct{ v any }

func (j jsonValue) Value() (driver.Value, error) {
	b, err := json.Marshal(j.v)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: encode %T: %w", j.v, err)
	}
	return string(b), nil
}

// jsonScan decodes JSON text into v; NULL leaves v alone.
type jsonScan struct{ v any }

func (j jsonScan) Scan(src any) error {
	var b []byte
	switch s := src.(type) {
	case nil:
		return nil
	case string:
		b = []byte(s)
	case []byte:
		b = s
	default:
		return fmt.Errorf("sqlstore: cannot read %T as JSON", src)
	}
	if err := json.Unmarshal(b, j.v); err != nil {
		return fmt.Errorf("sqlstore: decode %T: %w", j.v, err)
	}
	return nil
}

// bytesValue stores an empty byte slice as NULL, so that it reads back as nil.
func bytesValue(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nullString stores "" as NULL, for optional unique columns.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
