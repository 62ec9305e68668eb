package calendar

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is an ActiveSync protocol version times ten: 120 is 12.0, 161 is
// 16.1.
type Version int

// The ActiveSync versions whose calendar rules differ.
const (
	V120 Version = 120
	V121 Version = 121
	V140 Version = 140
	V141 Version = 141
	V160 Version = 160
	V161 Version = 161
)

// ParseVersion parses "12.1", "14.1", "16.1" and the like.
func ParseVersion(s string) (Version, error) {
	maj, min, ok := strings.Cut(strings.TrimSpace(s), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 2 || a > 99 || b < 0 || b > 9 {
		return 0, fmt.Errorf("calendar: bad ActiveSync version %q", s)
	}
	return Version(a*10 + b), nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d", int(v)/10, int(v)%10) }

// is16 reports 16.0 and later, where all-day events carry dates and the
// server owns UID, organizer and attendee status.
func (v Version) is16() bool { return v >= V160 }

// ErrInvalid marks a device value that ActiveSync itself forbids; the front
// end answers it with Status 6 (invalid item).
var ErrInvalid = errors.New("calendar: invalid ActiveSync value")

// DayOfWeek bits of [MS-ASCAL] 2.2.2.18.
const (
	Sunday      = 1
	Monday      = 2
	Tuesday     = 4
	Wednesday   = 8
	Thursday    = 16
	Friday      = 32
	Saturday    = 64
	Weekdays    = 62
	WeekendDays = 65
	AnyDay      = 127
)

// EASRecurrence is the Recurrence element of [MS-ASCAL] 2.2.2.37 (and of
// [MS-ASTASK] 2.2.2.21 with Start, Regenerate and DeadOccur). Zero values
// mean "element absent" except where noted.
type EASRecurrence struct {
	Type              int       // 0 daily, 1 weekly, 2 monthly, 3 monthly on the nth day, 5 yearly, 6 yearly on the nth day
	Interval          int       // 0 is read as 1
	Occurrences       int       // COUNT
	Until             time.Time // UTC; zero when absent
	DayOfWeek         int       // bits: Sunday 1 … Saturday 64
	DayOfMonth        int
	WeekOfMonth       int // 1–4, 5 = last
	MonthOfYear       int
	FirstDayOfWeek    int // 0 Sunday … 6 Saturday, when HasFirstDayOfWeek (14.1+)
	HasFirstDayOfWeek bool
	CalendarType      int  // 0 default; see calendarTypes
	IsLeapMonth       bool // the month is the leap month of a lunar calendar
	// Tasks ([MS-ASTASK] 2.2.2.21).
	Start      time.Time // the task series start
	Regenerate bool      // the next task is due Interval after the last is completed (no RFC 5545 equivalent)
	DeadOccur  bool
	// Empty is a 16.x <Recurrence/> without children: remove the recurrence.
	Empty bool
}

// calendarTypes maps [MS-ASCAL] 2.2.2.11 CalendarType to RFC 7529 RSCALE.
// Gregorian-based calendars (1–5, 7, 9–12) need no RSCALE.
var calendarTypes = map[int]string{
	6: "ISLAMIC-CIVIL", 8: "HEBREW", 14: "JAPANESE", 15: "CHINESE", 20: "DANGI",
}

func validCalendarType(t int) bool {
	return t >= 0 && t <= 12 || t == 14 || t == 15 || t == 20
}

func easDays(bits int) []WeekdayNum {
	var out []WeekdayNum
	// Monday first, as RRULEs are usually written.
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if bits&(1<<uint(d)) != 0 {
			out = append(out, WeekdayNum{Day: d})
		}
	}
	return out
}

func dayBits(days []WeekdayNum) int {
	b := 0
	for _, d := range days {
		b |= 1 << uint(d.Day)
	}
	return b
}

// RuleFromRecurrence turns a device's Recurrence into an RRULE
// ([MS-ASCAL] 2.2.2.37, [eas-pim] §3) for a series starting at start.
// Values ActiveSync forbids (an unknown Type, elements of another Type,
// Interval over 999, a reserved CalendarType) give ErrInvalid. zone reads
// the Until of an all-day series in ≤14.1 (midnight in the blob's zone).
func RuleFromRecurrence(r EASRecurrence, start DateTime, v Version, zone *time.Location) (Rule, error) {
	var rule Rule
	bad := func(format string, a ...any) (Rule, error) {
		return Rule{}, fmt.Errorf("%w: Recurrence: "+format, append([]any{ErrInvalid}, a...)...)
	}
	if r.Interval < 0 || r.Interval > 999 {
		return bad("Interval %d", r.Interval)
	}
	if r.Occurrences < 0 || r.Occurrences > 999 {
		return bad("Occurrences %d", r.Occurrences)
	}
	if r.DayOfWeek < 0 || r.DayOfWeek > 127 || r.DayOfMonth < 0 || r.DayOfMonth > 31 ||
		r.WeekOfMonth < 0 || r.WeekOfMonth > 5 || r.MonthOfYear < 0 || r.MonthOfYear > 12 {
		return bad("value out of range")
	}
	if !validCalendarType(r.CalendarType) {
		return bad("CalendarType %d", r.CalendarType)
	}
	if r.HasFirstDayOfWeek && (r.FirstDayOfWeek < 0 || r.FirstDayOfWeek > 6) {
		return bad("FirstDayOfWeek %d", r.FirstDayOfWeek)
	}
	// Elements sent with the wrong Type get Status 6 ([MS-ASCAL] 2.2.2.37).
	type need struct{ dow, dom, wom, moy int } // 1 required, 0 allowed, -1 forbidden
	needs := map[int]need{
		0: {0, -1, -1, -1},
		1: {1, -1, -1, -1},
		2: {-1, 1, -1, -1},
		3: {1, -1, 1, -1},
		5: {-1, 1, -1, 1},
		6: {1, -1, 1, 1},
	}
	n, ok := needs[r.Type]
	if !ok {
		return bad("Type %d", r.Type)
	}
	for _, c := range []struct {
		rule int
		val  int
		name string
	}{{n.dow, r.DayOfWeek, "DayOfWeek"}, {n.dom, r.DayOfMonth, "DayOfMonth"}, {n.wom, r.WeekOfMonth, "WeekOfMonth"}, {n.moy, r.MonthOfYear, "MonthOfYear"}} {
		if c.rule == 1 && c.val == 0 {
			return bad("Type %d needs %s", r.Type, c.name)
		}
		if c.rule == -1 && c.val != 0 {
			return bad("%s is not allowed with Type %d", c.name, r.Type)
		}
	}
	rule.Interval = r.Interval
	if rule.Interval == 1 {
		rule.Interval = 0
	}
	nth := r.WeekOfMonth
	if nth == 5 {
		nth = -1 // 5 is the last, not the fifth ([eas-pim] §3 traps)
	}
	nthDays := func() {
		switch {
		case r.DayOfWeek == AnyDay:
			rule.ByMonthDay = []int{nth}
		case r.DayOfWeek == Weekdays || r.DayOfWeek == WeekendDays:
			rule.ByDay = easDays(r.DayOfWeek)
			rule.BySetPos = []int{nth}
		default:
			for _, d := range easDays(r.DayOfWeek) {
				rule.ByDay = append(rule.ByDay, WeekdayNum{N: nth, Day: d.Day})
			}
		}
	}
	switch r.Type {
	case 0:
		rule.Freq = Daily
		if r.DayOfWeek != 0 && r.DayOfWeek != AnyDay {
			rule.Freq = Weekly
			rule.ByDay = easDays(r.DayOfWeek)
		}
	case 1:
		rule.Freq = Weekly
		rule.ByDay = easDays(r.DayOfWeek)
	case 2:
		rule.Freq = Monthly
		rule.ByMonthDay, rule.BySetPos = monthDayRule(r.DayOfMonth)
	case 3:
		rule.Freq = Monthly
		nthDays()
	case 5:
		rule.Freq = Yearly
		rule.ByMonth = []int{r.MonthOfYear}
		rule.ByMonthDay = []int{r.DayOfMonth}
	case 6:
		rule.Freq = Yearly
		rule.ByMonth = []int{r.MonthOfYear}
		nthDays()
	}
	if r.HasFirstDayOfWeek && v >= V141 {
		rule.WKST, rule.HasWKST = time.Weekday(r.FirstDayOfWeek), true
	}
	if rs, ok := calendarTypes[r.CalendarType]; ok {
		rule.RScale = rs
		if r.IsLeapMonth {
			rule.LeapMonth = true
		}
	}
	switch {
	case r.Occurrences > 0:
		rule.Count = r.Occurrences // Occurrences wins over Until
	case !r.Until.IsZero():
		rule.Until, rule.UntilIsDate, rule.UntilUTC = untilFromEAS(r.Until, start, v, zone)
	}
	return rule, nil
}

// monthDayRule writes Outlook's "day d of every month", which falls on the
// last day of shorter months: 31 is BYMONTHDAY=-1; 29 and 30 are the last of
// 28..d (BYMONTHDAY=28,29,30;BYSETPOS=-1), since BYMONTHDAY=30 alone skips
// February ([eas-pim] §3 traps).
func monthDayRule(d int) ([]int, []int) {
	switch {
	case d == 31:
		return []int{-1}, nil
	case d >= 29:
		var days []int
		for k := 28; k <= d; k++ {
			days = append(days, k)
		}
		return days, []int{-1}
	}
	return []int{d}, nil
}

// untilFromEAS converts a Compact DateTime Until to UNTIL: a DATE for an
// all-day series (RFC 5545 3.3.10), UTC otherwise. An Until at exactly
// midnight UTC on a timed series (Android writes the date alone) means the
// whole of that day.
func untilFromEAS(u time.Time, start DateTime, v Version, zone *time.Location) (time.Time, bool, bool) {
	u = u.UTC()
	if start.IsDate {
		if v.is16() || zone == nil {
			return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC), true, false
		}
		l := u.In(zone).Add(12 * time.Hour) // round to the nearest local midnight
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), true, false
	}
	if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 {
		loc := start.Loc
		if loc == nil || start.Floating {
			loc = zone
		}
		if loc == nil {
			loc = time.UTC
		}
		endOfDay := wallToInstant(time.Date(u.Year(), u.Month(), u.Day(), 23, 59, 59, 0, time.UTC), loc)
		if start.Floating {
			return asWall(endOfDay.In(loc)), false, false
		}
		return endOfDay.UTC(), false, true
	}
	if start.Floating && zone != nil {
		return asWall(u.In(zone)), false, false
	}
	return u, false, true
}

// RecurrenceFromRule returns the ActiveSync pattern for an RRULE: exact
// reports whether it says the same. For rules ActiveSync cannot express
// (FREQ finer than DAILY, BYWEEKNO, BYYEARDAY, BYHOUR, lists of BYMONTHDAY
// or BYMONTH, mixed ordinals, RDATE) it returns the nearest pattern built
// from DTSTART — or nil (a single occurrence) for sub-daily rules — and
// exact is false. The stored RRULE must then never be replaced by the
// device's echo of that pattern (see MergeEvent).
func RecurrenceFromRule(rule Rule, start DateTime, v Version, zone *time.Location) (rec *EASRecurrence, exact bool) {
	if rule.Freq > Daily {
		return nil, false
	}
	exact = len(rule.ByWeekNo) == 0 && len(rule.ByYearDay) == 0 && len(rule.ByHour) == 0 &&
		len(rule.ByMinute) == 0 && len(rule.BySecond) == 0 && len(rule.Extra) == 0 && rule.Skip == ""
	r := &EASRecurrence{Interval: rule.interval()}
	wd := start.Wall.Weekday()
	sDay, sMonth := start.Wall.Day(), int(start.Wall.Month())
	month := func() int {
		if len(rule.ByMonth) > 0 {
			if len(rule.ByMonth) > 1 {
				exact = false
			}
			return rule.ByMonth[0]
		}
		return sMonth
	}
	// nthPattern reads BYDAY=nDD[,nDD] or BYDAY=DD,..;BYSETPOS=n or BYMONTHDAY=n as
	// (WeekOfMonth, DayOfWeek); ok is false when the rule is not of that shape.
	nthPattern := func() (wom, dow int, ok bool) {
		switch {
		case len(rule.ByDay) > 0 && len(rule.BySetPos) == 1 && len(rule.ByMonthDay) == 0:
			for _, d := range rule.ByDay {
				if d.N != 0 {
					return 0, 0, false
				}
			}
			return rule.BySetPos[0], dayBits(rule.ByDay), true
		case len(rule.ByDay) > 0 && len(rule.BySetPos) == 0 && len(rule.ByMonthDay) == 0:
			n := rule.ByDay[0].N
			if n == 0 {
				return 0, 0, false
			}
			for _, d := range rule.ByDay[1:] {
				if d.N != n {
					exact = false
				}
			}
			return n, dayBits(rule.ByDay), true
		}
		return 0, 0, false
	}
	fixWeek := func(n int) int {
		switch {
		case n == -1:
			return 5
		case n >= 1 && n <= 4:
			return n
		}
		exact = false
		if n < 0 {
			return 5
		}
		return 4
	}
	switch rule.Freq {
	case Daily:
		if len(rule.ByDay) > 0 || len(rule.ByMonthDay) > 0 || len(rule.ByMonth) > 0 || len(rule.BySetPos) > 0 {
			if len(rule.ByDay) > 0 && len(rule.ByMonthDay) == 0 && len(rule.ByMonth) == 0 && len(rule.BySetPos) == 0 && rule.interval() == 1 {
				r.Type, r.DayOfWeek = 1, dayBits(rule.ByDay) // every listed day
				break
			}
			exact = false
		}
		r.Type = 0
	case Weekly:
		r.Type = 1
		r.DayOfWeek = dayBits(rule.ByDay)
		if r.DayOfWeek == 0 {
			r.DayOfWeek = 1 << uint(wd)
		}
		if len(rule.ByMonthDay) > 0 || len(rule.ByMonth) > 0 || len(rule.BySetPos) > 0 {
			exact = false
		}
	case Monthly:
		if len(rule.ByMonth) > 0 {
			exact = false
		}
		if wom, dow, ok := nthPattern(); ok {
			r.Type, r.WeekOfMonth, r.DayOfWeek = 3, fixWeek(wom), dow
			break
		}
		r.Type = 2
		r.DayOfMonth = sDay
		switch {
		case len(rule.ByMonthDay) == 1 && len(rule.BySetPos) == 0 && len(rule.ByDay) == 0:
			d := rule.ByMonthDay[0]
			switch {
			case d > 0:
				r.DayOfMonth = d
			case d == -1:
				r.DayOfMonth = 31
			default:
				exact = false
			}
		case len(rule.ByMonthDay) > 1 && len(rule.BySetPos) == 1 && rule.BySetPos[0] == -1 && len(rule.ByDay) == 0:
			d := rule.ByMonthDay[len(rule.ByMonthDay)-1]
			if bd, bs := monthDayRule(d); fmt.Sprint(bd, bs) == fmt.Sprint(rule.ByMonthDay, rule.BySetPos) {
				r.DayOfMonth = d
			} else {
				exact = false
			}
		case len(rule.ByMonthDay) == 0 && len(rule.ByDay) == 0 && len(rule.BySetPos) == 0:
		default:
			exact = false
		}
	case Yearly:
		r.MonthOfYear = month()
		if wom, dow, ok := nthPattern(); ok {
			r.Type, r.WeekOfMonth, r.DayOfWeek = 6, fixWeek(wom), dow
			break
		}
		r.Type = 5
		r.DayOfMonth = sDay
		switch {
		case len(rule.ByMonthDay) == 1 && rule.ByMonthDay[0] > 0 && len(rule.ByDay) == 0 && len(rule.BySetPos) == 0:
			r.DayOfMonth = rule.ByMonthDay[0]
		case len(rule.ByMonthDay) == 0 && len(rule.ByDay) == 0 && len(rule.BySetPos) == 0:
		default:
			exact = false
		}
	}
	if r.Interval > 999 {
		r.Interval, exact = 999, false
	}
	switch {
	case rule.Count > 999:
		r.Occurrences, exact = 999, false
	case rule.Count > 0:
		r.Occurrences = rule.Count
	case !rule.Until.IsZero():
		r.Until = untilToEAS(rule, start, v, zone)
	}
	if rule.HasWKST && v >= V141 {
		r.FirstDayOfWeek, r.HasFirstDayOfWeek = int(rule.WKST), true
	}
	if rule.RScale != "" && rule.RScale != "GREGORIAN" {
		known := false
		for t, name := range calendarTypes {
			if name == rule.RScale {
				r.CalendarType, r.IsLeapMonth, known = t, rule.LeapMonth, true
			}
		}
		if !known {
			exact = false
		}
	}
	return r, exact
}

// untilToEAS writes UNTIL as a Compact DateTime: for an all-day series in
// 16.x the date at 00:00Z, in ≤14.1 midnight in the user's zone.
func untilToEAS(rule Rule, start DateTime, v Version, zone *time.Location) time.Time {
	u := rule.Until
	if zone == nil {
		zone = time.UTC
	}
	switch {
	case start.IsDate || rule.UntilIsDate:
		d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
		if start.IsDate && !v.is16() {
			return wallToInstant(d, zone).UTC()
		}
		if !start.IsDate {
			// A DATE UNTIL on a timed series: the end of that day.
			loc := start.Loc
			if loc == nil || start.Floating {
				loc = zone
			}
			return wallToInstant(d.Add(24*time.Hour-time.Second), loc).UTC()
		}
		return d
	case rule.UntilUTC:
		return u.UTC()
	default:
		loc := start.Loc
		if loc == nil || start.Floating {
			loc = zone
		}
		return wallToInstant(u, loc).UTC()
	}
}

// sameRecurrence compares two patterns as ActiveSync means them.
func sameRecurrence(a, b *EASRecurrence) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, y := *a, *b
	for _, p := range []*EASRecurrence{&x, &y} {
		if p.Interval == 0 {
			p.Interval = 1
		}
		if p.Occurrences > 0 {
			p.Until = time.Time{}
		}
		p.Until = p.Until.UTC().Truncate(time.Second)
		if p.Type == 0 && (p.DayOfWeek == AnyDay) {
			p.DayOfWeek = 0
		}
		if p.Type == 0 && p.DayOfWeek != 0 { // daily on days = weekly on days
			p.Type = 1
		}
		if p.CalendarType == 1 || p.CalendarType == 2 {
			p.CalendarType = 0
		}
		p.Start = time.Time{}
	}
	if !x.HasFirstDayOfWeek || !y.HasFirstDayOfWeek {
		x.HasFirstDayOfWeek, y.HasFirstDayOfWeek, x.FirstDayOfWeek, y.FirstDayOfWeek = false, false, 0, 0
	}
	return x.Type == y.Type && x.Interval == y.Interval && x.Occurrences == y.Occurrences && x.Until.Equal(y.Until) &&
		x.DayOfWeek == y.DayOfWeek && x.DayOfMonth == y.DayOfMonth && x.WeekOfMonth == y.WeekOfMonth &&
		x.MonthOfYear == y.MonthOfYear && x.FirstDayOfWeek == y.FirstDayOfWeek && x.CalendarType == y.CalendarType &&
		x.IsLeapMonth == y.IsLeapMonth && x.Empty == y.Empty && x.Regenerate == y.Regenerate && x.DeadOccur == y.DeadOccur
}
