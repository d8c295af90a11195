package spec

import (
	"math"
	"regexp"
	"strconv"
)

// quantityPattern is a Kubernetes resource quantity: a decimal number and an optional
// binary (Ki, Mi, …) or decimal (m, k, M, …) suffix.
var quantityPattern = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$`)

var quantitySuffixes = map[string]float64{
	"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
	"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60,
}

// parseQuantity returns a Kubernetes quantity ("512Mi", "1.5", "500m") times scale,
// rounded up; ok is false when s is not one or the result does not fit an int64.
func parseQuantity(s string, scale float64) (int64, bool) {
	m := quantityPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	v = math.Ceil(v * quantitySuffixes[m[2]] * scale)
	if v > math.MaxInt64/2 {
		return 0, false
	}
	return int64(v), true
}

// quantity reads a quantity field times scale (0 when absent or wrong, with an error).
func (o *object) quantity(key string, scale float64) int64 {
	s, ok := o.str(key)
	if !ok {
		return 0
	}
	v, ok := parseQuantity(s, scale)
	if !ok || v <= 0 {
		o.d.fail(o.get(key), o.at(key), "expected a positive quantity such as 512Mi, 2Gi or 500m, got %q", s)
		return 0
	}
	return v
}
