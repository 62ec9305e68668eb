package calendar

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Frequency is the FREQ of a recurrence rule (RFC 5545 3.3.10).
type Frequency int

// Frequencies, coarsest first.
const (
	Yearly Frequency = iota
	Monthly
	Weekly
	Daily
	Hourly
	Minutely
	Secondly
)

var freqNames = [...]string{"YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY"}

func (f Frequency) String() string {
	if f >= 0 && int(f) < len(freqNames) {
		return freqNames[f]
	}
	return "FREQ(" + strconv.Itoa(int(f)) + ")"
}

// WeekdayNum is one BYDAY entry: an optional ordinal N (0 = every) and a day.
type WeekdayNum struct {
	N   int
	Day time.Weekday
}

func (w WeekdayNum) String() string {
	if w.N == 0 {
		return weekdayCodes[w.Day]
	}
	return strconv.Itoa(w.N) + weekdayCodes[w.Day]
}

// Rule is a parsed RRULE value (RFC 5545 3.3.10). Parts it does not know are
// kept in Extra, in order, so that String writes them back.
type Rule struct {
	Freq        Frequency
	Interval    int // 0 means 1
	Count       int
	Until       time.Time // the UNTIL value as a wall reading in time.UTC; zero when absent
	UntilIsDate bool
	UntilUTC    bool // UNTIL ended in Z
	BySecond    []int
	ByMinute    []int
	ByHour      []int
	ByDay       []WeekdayNum
	ByMonthDay  []int
	ByYearDay   []int
	ByWeekNo    []int
	ByMonth     []int
	BySetPos    []int
	WKST        time.Weekday
	HasWKST     bool
	LeapMonth   bool   // RFC 7529: BYMONTH=5L, the leap month after month 5
	RScale      string // RFC 7529
	Skip        string // RFC 7529
	Extra       []string
}

// MaxRuleLen bounds the RRULE text the parser accepts.
const MaxRuleLen = 4096

// ParseRule parses an RRULE value. Values out of their RFC 5545 range are
// errors; unknown parts are kept.
func ParseRule(s string) (Rule, error) {
	var r Rule
	if len(s) > MaxRuleLen {
		return r, fmt.Errorf("%w: RRULE too long", ErrMalformed)
	}
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "RRULE:"), "rrule:")
	hasFreq := false
	for _, part := range strings.Split(s, ";") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return r, fmt.Errorf("%w: RRULE part %q", ErrMalformed, part)
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "FREQ":
			i := indexOf(freqNames[:], strings.ToUpper(v))
			if i < 0 {
				return r, fmt.Errorf("%w: FREQ=%s", ErrMalformed, v)
			}
			r.Freq, hasFreq = Frequency(i), true
		case "INTERVAL":
			r.Interval, err = atoiRange(v, 1, 1<<20)
		case "COUNT":
			r.Count, err = atoiRange(v, 1, 1<<30)
		case "UNTIL":
			var utc bool
			r.Until, r.UntilIsDate, utc, err = parseWall(v)
			r.UntilUTC = utc
		case "BYSECOND":
			r.BySecond, err = intList(v, 0, 60, false)
		case "BYMINUTE":
			r.ByMinute, err = intList(v, 0, 59, false)
		case "BYHOUR":
			r.ByHour, err = intList(v, 0, 23, false)
		case "BYMONTHDAY":
			r.ByMonthDay, err = intList(v, 1, 31, true)
		case "BYYEARDAY":
			r.ByYearDay, err = intList(v, 1, 366, true)
		case "BYWEEKNO":
			r.ByWeekNo, err = intList(v, 1, 53, true)
		case "BYMONTH":
			if strings.HasSuffix(strings.ToUpper(v), "L") && !strings.Contains(v, ",") {
				r.LeapMonth = true
				v = v[:len(v)-1]
			}
			r.ByMonth, err = intList(v, 1, 12, false)
		case "BYSETPOS":
			r.BySetPos, err = intList(v, 1, 366, true)
		case "BYDAY":
			r.ByDay, err = parseByDay(v)
		case "WKST":
			d := indexOf(weekdayCodes[:], strings.ToUpper(v))
			if d < 0 {
				return r, fmt.Errorf("%w: WKST=%s", ErrMalformed, v)
			}
			r.WKST, r.HasWKST = time.Weekday(d), true
		case "RSCALE":
			r.RScale = strings.ToUpper(v)
		case "SKIP":
			r.Skip = strings.ToUpper(v)
		default:
			r.Extra = append(r.Extra, part)
		}
		if err != nil {
			return r, fmt.Errorf("%w: RRULE %s: %v", ErrMalformed, k, err)
		}
	}
	if !hasFreq {
		return r, fmt.Errorf("%w: RRULE without FREQ", ErrMalformed)
	}
	return r, nil
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return -1
}

func atoiRange(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d out of range", n)
	}
	return n, nil
}

func intList(v string, lo, hi int, signed bool) ([]int, error) {
	parts := strings.Split(v, ",")
	if len(parts) > 400 {
		return nil, fmt.Errorf("list too long")
	}
	out := make([]int, 0, len(parts))
	for _, p := range parts {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(p), "+"))
		if err != nil {
			return nil, err
		}
		a := n
		if signed && a < 0 {
			a = -a
		}
		if a < lo || a > hi {
			return nil, fmt.Errorf("%d out of range", n)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseByDay(v string) ([]WeekdayNum, error) {
	parts := strings.Split(v, ",")
	if len(parts) > 400 {
		return nil, fmt.Errorf("list too long")
	}
	var out []WeekdayNum
	for _, p := range parts {
		p = strings.ToUpper(strings.TrimSpace(p))
		if len(p) < 2 {
			return nil, fmt.Errorf("bad day %q", p)
		}
		d := indexOf(weekdayCodes[:], p[len(p)-2:])
		if d < 0 {
			return nil, fmt.Errorf("bad day %q", p)
		}
		n := 0
		if len(p) > 2 {
			var err error
			n, err = strconv.Atoi(strings.TrimPrefix(p[:len(p)-2], "+"))
			if err != nil || n == 0 || n > 53 || n < -53 {
				return nil, fmt.Errorf("bad day %q", p)
			}
		}
		out = append(out, WeekdayNum{N: n, Day: time.Weekday(d)})
	}
	return out, nil
}

// String formats the rule as an RRULE value in the conventional part order.
func (r Rule) String() string {
	var b strings.Builder
	b.WriteString("FREQ=" + r.Freq.String())
	if r.RScale != "" {
		b.WriteString(";RSCALE=" + r.RScale)
	}
	if r.Interval > 1 {
		b.WriteString(";INTERVAL=" + strconv.Itoa(r.Interval))
	}
	if r.Count > 0 {
		b.WriteString(";COUNT=" + strconv.Itoa(r.Count))
	}
	if !r.Until.IsZero() {
		switch {
		case r.UntilIsDate:
			b.WriteString(";UNTIL=" + r.Until.Format("20060102"))
		case r.UntilUTC:
			b.WriteString(";UNTIL=" + r.Until.Format("20060102T150405Z"))
		default:
			b.WriteString(";UNTIL=" + r.Until.Format("20060102T150405"))
		}
	}
	list := func(name string, v []int) {
		if len(v) == 0 {
			return
		}
		s := make([]string, len(v))
		for i, n := range v {
			s[i] = strconv.Itoa(n)
		}
		b.WriteString(";" + name + "=" + strings.Join(s, ","))
	}
	if r.LeapMonth && len(r.ByMonth) == 1 {
		b.WriteString(";BYMONTH=" + strconv.Itoa(r.ByMonth[0]) + "L")
	} else {
		list("BYMONTH", r.ByMonth)
	}
	list("BYWEEKNO", r.ByWeekNo)
	list("BYYEARDAY", r.ByYearDay)
	list("BYMONTHDAY", r.ByMonthDay)
	if len(r.ByDay) > 0 {
		s := make([]string, len(r.ByDay))
		for i, d := range r.ByDay {
			s[i] = d.String()
		}
		b.WriteString(";BYDAY=" + strings.Join(s, ","))
	}
	list("BYHOUR", r.ByHour)
	list("BYMINUTE", r.ByMinute)
	list("BYSECOND", r.BySecond)
	list("BYSETPOS", r.BySetPos)
	if r.HasWKST {
		b.WriteString(";WKST=" + weekdayCodes[r.WKST])
	}
	if r.Skip != "" {
		b.WriteString(";SKIP=" + r.Skip)
	}
	for _, e := range r.Extra {
		b.WriteString(";" + e)
	}
	return b.String()
}

func (r Rule) interval() int {
	if r.Interval < 1 {
		return 1
	}
	return r.Interval
}

func sortedUnique(v []int) []int {
	out := append([]int(nil), v...)
	sort.Ints(out)
	j := 0
	for i, n := range out {
		if i == 0 || n != out[j-1] {
			out[j] = n
			j++
		}
	}
	return out[:j]
}
