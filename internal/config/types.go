package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the config file as a string in
// time.ParseDuration syntax, such as "90s", "15m" or "72h". Convert it with
// time.Duration(d).
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	s := string(text)
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q is not a duration: it needs a unit, as in \"%ss\" (units: ns, us, ms, s, m, h)", s, s)
		}
		return fmt.Errorf("%q is not a duration such as \"90s\", \"15m\" or \"72h\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler; it writes String.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// String formats d in the largest unit that divides it exactly ("72h",
// "90m", "5s", "1500ms"), which time.ParseDuration reads back.
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	for _, u := range []struct {
		d    time.Duration
		name string
	}{
		{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
		{time.Millisecond, "ms"}, {time.Microsecond, "us"},
	} {
		if v%u.d == 0 {
			return strconv.FormatInt(int64(v/u.d), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(v), 10) + "ns"
}

// Size is a number of bytes. The config file gives it as an integer
// (52428800) or as a string with an optional binary unit: "52428800",
// "512KiB", "50MiB", "1GiB" (also "B" and "TiB"; a space before the unit is
// allowed). Decimal units such as "MB" are refused as ambiguous.
type Size int64

// Binary size units.
const (
	KiB Size = 1 << (10 * (iota + 1))
	MiB
	GiB
	TiB
)

var sizeUnits = []struct {
	name string
	n    Size
}{{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

// UnmarshalTOML implements toml.Unmarshaler: it accepts a TOML integer or a
// string.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("%d is negative", v)
		}
		*s = Size(v)
		return nil
	case string:
		return s.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("expected a size (an integer number of bytes or a string such as \"50MiB\"), got %s", describe(v))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(text []byte) error {
	str := string(text)
	num, unit := str, Size(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(str, u.name); ok {
			num, unit = strings.TrimRight(rest, " "), u.n
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 63)
	if err != nil || num == "" || num[0] == '+' {
		if errors.Is(err, strconv.ErrRange) {
			return fmt.Errorf("%q is too large", str)
		}
		return fmt.Errorf("%q is not a size: use a number of bytes, optionally with a unit KiB, MiB or GiB, as in \"50MiB\"", str)
	}
	if n > uint64(math.MaxInt64/int64(unit)) {
		return fmt.Errorf("%q is too large", str)
	}
	*s = Size(n) * unit
	return nil
}

// MarshalText implements encoding.TextMarshaler; it writes String.
func (s Size) MarshalText() ([]byte, error) {
	return []byte(s.String()), nil
}

// String formats s in the largest binary unit that divides it exactly
// ("50MiB"), or as a plain number of bytes ("1234").
func (s Size) String() string {
	if s != 0 {
		for _, u := range sizeUnits[:len(sizeUnits)-1] {
			if s%u.n == 0 {
				return strconv.FormatInt(int64(s/u.n), 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(s), 10)
}
