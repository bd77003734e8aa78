package schema

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Size is a number of bytes written as an integer with an optional binary
// suffix: "65536", "512Ki", "64Mi", "1Gi", "1Ti".
type Size int64

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"Ti", 40}}

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) {
	num, shift := s, uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	if num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a size such as 64Mi", s)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return Size(v << shift), nil
}

// String writes the size with the largest suffix that divides it.
func (z Size) String() string {
	for i := len(sizeUnits) - 1; i >= 0; i-- {
		u := sizeUnits[i]
		if z != 0 && z%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(z)>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(z), 10)
}

// MarshalText writes the size as String does.
func (z Size) MarshalText() ([]byte, error) { return []byte(z.String()), nil }

// UnmarshalText parses a size.
func (z *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*z = v
	return nil
}

const sizeAllowed = "a size such as 64Mi, 512Ki or 1Gi, at least 64Ki"

// sizes checks the config's sizes beyond the schema's pattern (range) and
// returns those the decoder must skip.
func (c *configChecker) sizes() [][]string {
	var bad [][]string
	for _, p := range [][]string{{"sync", "logLimit"}} {
		_, n, found := c.d.lookup(p)
		if !found || n.Kind != yaml.ScalarNode || scalarJSON(n).kind != "string" {
			continue // absent, or not text: the schema says so
		}
		v, err := ParseSize(n.Value)
		switch {
		case err != nil:
			c.d.report(p, false, err.Error(), sizeAllowed)
			bad = append(bad, p)
		case v < MinLogLimit:
			c.d.report(p, false, fmt.Sprintf("%s is less than %s", quoteShort(n.Value), MinLogLimit), sizeAllowed)
		}
	}
	return bad
}
