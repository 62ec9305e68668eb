package calendar

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
)

// String returns the blob base64-encoded, as ActiveSync carries it.
func (tz TimeZone) String() string {
	b, _ := tz.MarshalBinary()
	return base64.StdEncoding.EncodeToString(b)
}

// ParseTimeZone decodes a base64 TimeZone blob ([MS-ASDTYPE] 2.7.6).
func ParseTimeZone(s string) (TimeZone, error) {
	s = strings.TrimSpace(s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return TimeZone{}, fmt.Errorf("calendar: TimeZone blob: %w", err)
		}
	}
	var tz TimeZone
	return tz, tz.UnmarshalBinary(b)
}

// zoneTransition is one change of UTC offset.
type zoneTransition struct {
	at          time.Time
	from, to    int // offsets east of UTC, seconds
	wallBefore  time.Time
	isStdChange bool
}

// transitionsIn returns the offset changes of loc during year (UTC bounds).
func transitionsIn(loc *time.Location, year int) []zoneTransition {
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []zoneTransition
	t := start
	for i := 0; i < 16; i++ { // a real zone changes a few times a year at most
		_, e := t.In(loc).ZoneBounds()
		if e.IsZero() || !e.Before(end) {
			break
		}
		_, from := e.Add(-time.Second).In(loc).Zone()
		_, to := e.In(loc).Zone()
		if from != to {
			out = append(out, zoneTransition{at: e, from: from, to: to,
				wallBefore: asWall(e.In(time.FixedZone("", from)))})
		}
		t = e
	}
	return out
}

// NewTimeZone encodes loc as a TimeZone blob for the year of at
// ([eas-pim] §2 "IANA → blob"). Standard time is the lower of the two offsets
// (the Windows convention, which also handles negative DST such as
// Europe/Dublin). A year whose changes do not fit one yearly pair (a rule
// change such as Brazil's in 2019, or Morocco's Ramadan breaks) is encoded as
// the fixed offset in force at at, which is right for an event at that time.
func NewTimeZone(loc *time.Location, at time.Time) TimeZone {
	if loc == nil {
		loc = time.UTC
	}
	name := WindowsZoneName(loc.String())
	if name == "" {
		name = loc.String()
	}
	tz := TimeZone{StandardName: name, DaylightName: daylightName(name)}
	tr := transitionsIn(loc, at.In(loc).Year())
	if len(tr) == 2 && tr[0].from == tr[1].to && tr[0].to == tr[1].from {
		lo, hi := tr[0].from, tr[0].to
		if lo > hi {
			lo, hi = hi, lo
		}
		tz.Bias = int32(-lo / 60)
		tz.DaylightBias = int32(-(hi - lo) / 60)
		for _, t := range tr {
			if t.to == lo {
				tz.StandardDate = ruleSystemTime(t.wallBefore)
			} else {
				tz.DaylightDate = ruleSystemTime(t.wallBefore)
			}
		}
		return tz
	}
	_, off := at.In(loc).Zone()
	tz.Bias = int32(-off / 60)
	return tz
}

func daylightName(std string) string {
	if strings.Contains(std, "Standard") {
		return strings.Replace(std, "Standard", "Daylight", 1)
	}
	return std
}

// ruleSystemTime turns the wall time before a change into a yearly rule: the
// n-th weekday of the month, 5 when it is also the last one ([eas-pim] §2
// step 4); a change at 24:00 is written as 23:59:59.999 of the day before,
// as Windows does.
func ruleSystemTime(w time.Time) SystemTime {
	if w.Hour() == 0 && w.Minute() == 0 && w.Second() == 0 {
		w = w.Add(-time.Millisecond)
	}
	d := w.Day()
	n := (d-1)/7 + 1
	if d+7 > daysIn(w.Month(), w.Year()) {
		n = 5
	}
	return SystemTime{Month: uint16(w.Month()), DayOfWeek: uint16(w.Weekday()), Day: uint16(n),
		Hour: uint16(w.Hour()), Minute: uint16(w.Minute()), Second: uint16(w.Second()),
		Milliseconds: uint16(w.Nanosecond() / 1e6)}
}

func daysIn(m time.Month, y int) int {
	if m == time.February && isLeap(y) {
		return 29
	}
	if m < 1 || m > 12 {
		return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	}
	return monthDays[m-1]
}

// dateIn evaluates a transition rule for year: the wall date-time at which the
// change happens. ok is false for an invalid rule.
func (st SystemTime) dateIn(year int) (time.Time, bool) {
	if st.Month < 1 || st.Month > 12 || st.DayOfWeek > 6 || st.Hour > 23 || st.Minute > 59 {
		return time.Time{}, false
	}
	clock := time.Duration(st.Hour)*time.Hour + time.Duration(st.Minute)*time.Minute +
		time.Duration(st.Second%60)*time.Second + time.Duration(st.Milliseconds%1000)*time.Millisecond
	if st.Year != 0 {
		if st.Year != uint16(year) || st.Day < 1 || int(st.Day) > daysIn(time.Month(st.Month), year) {
			return time.Time{}, false
		}
		return time.Date(year, time.Month(st.Month), int(st.Day), 0, 0, 0, 0, time.UTC).Add(clock), true
	}
	if st.Day < 1 || st.Day > 5 {
		return time.Time{}, false
	}
	return nthWeekday(year, time.Month(st.Month), time.Weekday(st.DayOfWeek), int(st.Day)).Add(clock), true
}

// nthWeekday returns the n-th (5 = last) weekday wd of the month.
func nthWeekday(year int, m time.Month, wd time.Weekday, n int) time.Time {
	first := time.Date(year, m, 1, 0, 0, 0, 0, time.UTC)
	d := 1 + (int(wd)-int(first.Weekday())+7)%7 + 7*(n-1)
	for d > daysIn(m, year) {
		d -= 7
	}
	return time.Date(year, m, d, 0, 0, 0, 0, time.UTC)
}

// sameRules compares two blobs for year: offsets, and the dates and (unless
// lenient) the times of both changes. Names are not compared.
func sameRules(a, b TimeZone, year int, lenient bool) bool {
	if a.Bias+a.StandardBias != b.Bias+b.StandardBias || a.HasDST() != b.HasDST() {
		return false
	}
	if !a.HasDST() {
		return true
	}
	if a.Bias+a.DaylightBias != b.Bias+b.DaylightBias {
		return false
	}
	for _, p := range [][2]SystemTime{{a.StandardDate, b.StandardDate}, {a.DaylightDate, b.DaylightDate}} {
		da, oka := p[0].dateIn(year)
		db, okb := p[1].dateIn(year)
		if !oka || !okb {
			return false
		}
		if lenient {
			da, db = da.Truncate(24*time.Hour), db.Truncate(24*time.Hour)
		} else {
			da, db = da.Truncate(time.Second), db.Truncate(time.Second)
		}
		if !da.Equal(db) {
			return false
		}
	}
	return true
}

// Fits reports whether loc has the blob's rules in year.
func (tz TimeZone) Fits(loc *time.Location, year int) bool { return tz.fits(loc, year, false) }

func (tz TimeZone) fits(loc *time.Location, year int, lenient bool) bool {
	if loc == nil {
		return false
	}
	return sameRules(tz, NewTimeZone(loc, time.Date(year, 7, 1, 12, 0, 0, 0, time.UTC)), year, lenient) ||
		sameRules(tz, NewTimeZone(loc, time.Date(year, 1, 1, 12, 0, 0, 0, time.UTC)), year, lenient)
}

// Location decodes the blob to the best zone for year ([eas-pim] §2
// "Blob → IANA"):
//  1. the all-zero blob is UTC (all-day callers treat it as floating);
//  2. prefer (the user's zone) when its rules fit;
//  3. the zone named by StandardName (an IANA ID, a decorated IANA ID, or a
//     Windows ID through CLDR, territory 001 first) when its rules fit;
//  4. with DST: the first CLDR territory-001 zone whose rules fit; then steps
//     2–4 again ignoring the time of day of the changes (Exchange 2007 blobs
//     were off by hours); then a zone built from the blob's own rules;
//  5. without DST: Etc/GMT∓N for whole hours, else a fixed offset.
func (tz TimeZone) Location(prefer *time.Location, year int) *time.Location {
	if tz.IsZero() || !tz.plausible() {
		return time.UTC
	}
	if !tz.HasDST() {
		// Zero dates with a non-zero DaylightBias: ignore the bias (EAS-4-TbSync#272).
		tz.DaylightBias, tz.DaylightDate, tz.StandardDate = 0, SystemTime{}, SystemTime{}
	}
	cands := []*time.Location{prefer}
	if loc := LoadZone(tz.StandardName); loc != nil {
		cands = append(cands, loc)
		if zs := windowsZones().byWindows[strings.TrimSpace(tz.StandardName)]; len(zs) > 1 {
			for _, z := range zs[1:] {
				if l := loadIANA(z); l != nil {
					cands = append(cands, l)
				}
			}
		}
	}
	for _, l := range cands {
		if tz.fits(l, year, false) {
			return l
		}
	}
	if tz.HasDST() {
		for _, lenient := range []bool{false, true} {
			if lenient {
				for _, l := range cands {
					if tz.fits(l, year, true) {
						return l
					}
				}
			}
			for _, c := range goldenBlobs(year) {
				if sameRules(tz, c.jul, year, lenient) || sameRules(tz, c.jan, year, lenient) {
					return c.loc
				}
			}
		}
		return ruleLocation(tz)
	}
	off := -int(tz.Bias+tz.StandardBias) * 60
	if off%3600 == 0 && off >= -12*3600 && off <= 14*3600 {
		name := "Etc/GMT"
		switch {
		case off > 0:
			name += "-" + strconv.Itoa(off/3600) // the sign of Etc/GMT names is inverted
		case off < 0:
			name += "+" + strconv.Itoa(-off/3600)
		}
		if off == 0 {
			return time.UTC
		}
		if l := loadIANA(name); l != nil {
			return l
		}
	}
	return time.FixedZone(offsetName(off), off)
}

type zoneBlobs struct {
	loc      *time.Location
	jul, jan TimeZone
}

var (
	goldenMu    sync.Mutex
	goldenCache = map[int][]zoneBlobs{}
)

// goldenBlobs returns the blobs of CLDR's territory-001 zones for year,
// computed once per year (for at most a few hundred years).
func goldenBlobs(year int) []zoneBlobs {
	goldenMu.Lock()
	defer goldenMu.Unlock()
	if c, ok := goldenCache[year]; ok {
		return c
	}
	var out []zoneBlobs
	for _, z := range windowsZones().golden {
		if l := loadIANA(z); l != nil {
			out = append(out, zoneBlobs{l, NewTimeZone(l, time.Date(year, 7, 1, 12, 0, 0, 0, time.UTC)), NewTimeZone(l, time.Date(year, 1, 1, 12, 0, 0, 0, time.UTC))})
		}
	}
	if len(goldenCache) < 300 {
		goldenCache[year] = out
	}
	return out
}

func offsetName(off int) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off/60%60)
}

// posixOffset formats a POSIX TZ offset: hours west of UTC.
func posixOffset(minutesWest int32) string {
	s := ""
	if minutesWest < 0 {
		s, minutesWest = "-", -minutesWest
	}
	s += strconv.Itoa(int(minutesWest / 60))
	if m := minutesWest % 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

func posixRule(st SystemTime) string {
	var r string
	if st.Year != 0 {
		// An absolute date: a day of the year, ignoring 29 February.
		yday := time.Date(2001, time.Month(st.Month), int(st.Day), 0, 0, 0, 0, time.UTC).YearDay()
		r = "J" + strconv.Itoa(yday)
	} else {
		r = fmt.Sprintf("M%d.%d.%d", st.Month, st.Day, st.DayOfWeek)
	}
	return r + fmt.Sprintf("/%d:%02d:%02d", st.Hour, st.Minute, st.Second)
}

// ruleLocation builds a zone that follows the blob's yearly rules, by
// writing them as a POSIX TZ string in a TZif file that has no transitions
// (RFC 8536 3.3); Go reads such a file with LoadLocationFromTZData.
func ruleLocation(tz TimeZone) *time.Location {
	std := tz.Bias + tz.StandardBias
	dst := tz.Bias + tz.DaylightBias
	name := strings.TrimSpace(tz.StandardName)
	if name == "" {
		name = offsetName(-int(std) * 60)
	}
	stdAbbr := "<" + abbrev(-int(std)*60) + ">"
	if !tz.HasDST() || dst == std {
		return time.FixedZone(name, -int(std)*60)
	}
	if _, ok := tz.StandardDate.dateIn(2001); !ok && tz.StandardDate.Year == 0 {
		return time.FixedZone(name, -int(std)*60)
	}
	if _, ok := tz.DaylightDate.dateIn(2001); !ok && tz.DaylightDate.Year == 0 {
		return time.FixedZone(name, -int(std)*60)
	}
	posix := stdAbbr + posixOffset(std) + "<" + abbrev(-int(dst)*60) + ">" + posixOffset(dst) +
		"," + posixRule(tz.DaylightDate) + "," + posixRule(tz.StandardDate)
	loc, err := posixLocation(name, posix, -int(std)*60)
	if err != nil {
		return time.FixedZone(name, -int(std)*60)
	}
	return loc
}

func abbrev(off int) string {
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	if off%3600 == 0 {
		return fmt.Sprintf("%s%02d", sign, off/3600)
	}
	return fmt.Sprintf("%s%02d%02d", sign, off/3600, off/60%60)
}

// posixLocation returns a zone named name that follows the POSIX TZ rule tzs.
func posixLocation(name, tzs string, stdOff int) (*time.Location, error) {
	abbr := "STD"
	section := func(b []byte, ver byte, timeSize int) []byte {
		b = append(b, "TZif"...)
		b = append(b, ver)
		b = append(b, make([]byte, 15)...)
		for _, n := range []uint32{0, 0, 0, 0, 1, uint32(len(abbr) + 1)} { // isut, isstd, leap, time, type, char
			b = binary.BigEndian.AppendUint32(b, n)
		}
		b = binary.BigEndian.AppendUint32(b, uint32(int32(stdOff)))
		b = append(b, 0, 0) // isdst, abbreviation index
		b = append(b, abbr...)
		b = append(b, 0)
		return b
	}
	data := section(nil, '2', 4)
	data = section(data, '2', 8)
	data = append(data, '\n')
	data = append(data, tzs...)
	data = append(data, '\n')
	return time.LoadLocationFromTZData(name, data)
}

// TimeZoneFromVTimezone encodes a VTIMEZONE as a blob for year
// ([eas-pim] §2 "VTIMEZONE → blob"): from the newest STANDARD and DAYLIGHT
// observances in force in year, RRULE BYMONTH and BYDAY=nDD map directly
// (n = -1 becomes 5), TZOFFSETTO gives the biases, and DTSTART's time the hour.
func TimeZoneFromVTimezone(c *ical.Component, year int) (TimeZone, error) {
	tzid := ""
	if p := c.Props.Get(ical.PropTimezoneID); p != nil {
		tzid = p.Value
	}
	tz := TimeZone{StandardName: tzid, DaylightName: tzid}
	std, dst := newestObservance(c, ical.CompTimezoneStandard, year), newestObservance(c, ical.CompTimezoneDaylight, year)
	if std == nil && dst == nil {
		return tz, fmt.Errorf("calendar: VTIMEZONE %q has no observance", tzid)
	}
	if std == nil {
		std = dst
	}
	stdTo, err := utcOffset(std.Props.Get(ical.PropTimezoneOffsetTo))
	if err != nil {
		return tz, err
	}
	tz.Bias = int32(-stdTo / 60)
	if dst == nil || dst == std {
		return tz, nil
	}
	dstTo, err := utcOffset(dst.Props.Get(ical.PropTimezoneOffsetTo))
	if err != nil {
		return tz, err
	}
	sd, ok1 := observanceRule(std)
	dd, ok2 := observanceRule(dst)
	if !ok1 || !ok2 {
		return tz, nil // one-off observances: the standard offset alone
	}
	tz.StandardDate, tz.DaylightDate = sd, dd
	tz.DaylightBias = int32(-(dstTo - stdTo) / 60)
	return tz, nil
}

// newestObservance returns the STANDARD or DAYLIGHT sub-component with the
// latest DTSTART not after year (or the earliest one when all are later).
func newestObservance(c *ical.Component, kind string, year int) *ical.Component {
	var best *ical.Component
	var bestStart time.Time
	limit := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ch := range c.Children {
		if ch.Name != kind {
			continue
		}
		p := ch.Props.Get(ical.PropDateTimeStart)
		if p == nil {
			continue
		}
		w, _, _, err := parseWall(p.Value)
		if err != nil {
			continue
		}
		if r := ch.Props.Get(ical.PropRecurrenceRule); r != nil {
			if rr, err := ParseRule(r.Value); err == nil && !rr.Until.IsZero() && rr.Until.Year() < year {
				w = w.AddDate(-1000, 0, 0) // a rule that ended before year ranks below any other
			}
		}
		switch {
		case best == nil:
			best, bestStart = ch, w
		case w.Before(limit) && (bestStart.After(limit) || w.After(bestStart)):
			best, bestStart = ch, w
		case !w.Before(limit) && bestStart.After(limit) && w.Before(bestStart):
			best, bestStart = ch, w
		}
	}
	return best
}

func observanceRule(c *ical.Component) (SystemTime, bool) {
	p := c.Props.Get(ical.PropDateTimeStart)
	r := c.Props.Get(ical.PropRecurrenceRule)
	if p == nil {
		return SystemTime{}, false
	}
	w, _, _, err := parseWall(p.Value)
	if err != nil {
		return SystemTime{}, false
	}
	st := SystemTime{Hour: uint16(w.Hour()), Minute: uint16(w.Minute()), Second: uint16(w.Second())}
	if r == nil {
		st.Year, st.Month, st.Day = uint16(w.Year()), uint16(w.Month()), uint16(w.Day())
		st.DayOfWeek = uint16(w.Weekday())
		return st, true
	}
	rule, err := ParseRule(r.Value)
	if err != nil || rule.Freq != Yearly {
		return SystemTime{}, false
	}
	st.Month = uint16(w.Month())
	if len(rule.ByMonth) > 0 {
		st.Month = uint16(rule.ByMonth[0])
	}
	switch {
	case len(rule.ByDay) == 1 && rule.ByDay[0].N != 0:
		n := rule.ByDay[0].N
		if n < 0 {
			n = 5
		}
		st.Day, st.DayOfWeek = uint16(n), uint16(rule.ByDay[0].Day)
	case len(rule.ByDay) == 1 && len(rule.ByMonthDay) > 0:
		// e.g. BYDAY=SU;BYMONTHDAY=8,9,...,14: the second Sunday.
		d := rule.ByMonthDay[0]
		n := 5
		if d > 0 {
			n = (d-1)/7 + 1
		}
		st.Day, st.DayOfWeek = uint16(n), uint16(rule.ByDay[0].Day)
	default:
		st.Year, st.Day, st.DayOfWeek = uint16(w.Year()), uint16(w.Day()), uint16(w.Weekday())
		return st, true
	}
	if st.Hour == 24 {
		st.Hour = 23
		st.Minute, st.Second, st.Milliseconds = 59, 59, 999
	}
	return st, true
}

func utcOffset(p *ical.Prop) (int, error) {
	if p == nil {
		return 0, fmt.Errorf("%w: missing TZOFFSETTO", ErrMalformed)
	}
	v := strings.TrimSpace(p.Value)
	if len(v) != 5 && len(v) != 7 || (v[0] != '+' && v[0] != '-') {
		return 0, fmt.Errorf("%w: bad UTC offset %q", ErrMalformed, v)
	}
	h, err1 := strconv.Atoi(v[1:3])
	m, err2 := strconv.Atoi(v[3:5])
	s := 0
	var err3 error
	if len(v) == 7 {
		s, err3 = strconv.Atoi(v[5:7])
	}
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || m > 59 || s > 59 {
		return 0, fmt.Errorf("%w: bad UTC offset %q", ErrMalformed, v)
	}
	off := h*3600 + m*60 + s
	if v[0] == '-' {
		off = -off
	}
	return off, nil
}

// plausible reports whether the blob's offsets are within a day of UTC.
func (tz TimeZone) plausible() bool {
	ok := func(m int32) bool { return m > -24*60 && m < 24*60 }
	return ok(tz.Bias) && ok(tz.Bias+tz.StandardBias) && (!tz.HasDST() || ok(tz.Bias+tz.DaylightBias))
}

func formatUTCOffset(off int) string {
	const lim = 24*3600 - 1
	off = max(-lim, min(lim, off)) // a UTC offset is less than a day (RFC 5545 3.3.14)
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := fmt.Sprintf("%s%02d%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf("%02d", off%60)
	}
	return s
}

// LocationFromVTimezone builds a zone from a VTIMEZONE that names no known
// zone: the yearly rules of its newest observances (for the current year).
func LocationFromVTimezone(c *ical.Component) (*time.Location, error) {
	tz, err := TimeZoneFromVTimezone(c, time.Now().Year())
	if err != nil {
		return nil, err
	}
	return ruleLocation(tz), nil
}

// VTimezone returns a VTIMEZONE component called tzid that describes the blob's
// rules (yearly from 1970, or one fixed offset).
func (tz TimeZone) VTimezone(tzid string) *ical.Component {
	c := ical.NewComponent(ical.CompTimezone)
	c.Props.Set(&ical.Prop{Name: ical.PropTimezoneID, Params: ical.Params{}, Value: tzid})
	std := -int(tz.Bias+tz.StandardBias) * 60
	validRule := func(st SystemTime) bool {
		if st.Year != 0 {
			_, ok := st.dateIn(int(st.Year))
			return ok && st.Year <= 9999
		}
		_, ok := st.dateIn(1970)
		return ok
	}
	if !tz.HasDST() || !validRule(tz.StandardDate) || !validRule(tz.DaylightDate) {
		c.Children = append(c.Children, observance(ical.CompTimezoneStandard, std, std, "19700101T000000", ""))
		return c
	}
	dst := -int(tz.Bias+tz.DaylightBias) * 60
	mk := func(kind string, st SystemTime, from, to int) *ical.Component {
		if st.Year != 0 {
			d, _ := st.dateIn(int(st.Year))
			return observance(kind, from, to, d.Format("20060102T150405"), "")
		}
		first, _ := st.dateIn(1970)
		n := int(st.Day)
		if n == 5 {
			n = -1
		}
		rule := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=%d%s", st.Month, n, weekdayCodes[st.DayOfWeek])
		return observance(kind, from, to, first.Format("20060102T150405"), rule)
	}
	c.Children = append(c.Children,
		mk(ical.CompTimezoneStandard, tz.StandardDate, dst, std),
		mk(ical.CompTimezoneDaylight, tz.DaylightDate, std, dst))
	return c
}

func observance(kind string, from, to int, start, rrule string) *ical.Component {
	o := ical.NewComponent(kind)
	o.Props.Set(&ical.Prop{Name: ical.PropDateTimeStart, Params: ical.Params{}, Value: start})
	o.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetFrom, Params: ical.Params{}, Value: formatUTCOffset(from)})
	o.Props.Set(&ical.Prop{Name: ical.PropTimezoneOffsetTo, Params: ical.Params{}, Value: formatUTCOffset(to)})
	if rrule != "" {
		o.Props.Set(&ical.Prop{Name: ical.PropRecurrenceRule, Params: ical.Params{}, Value: rrule})
	}
	return o
}

// VTimezoneFor returns a VTIMEZONE for loc, named by its IANA ID, with the
// rules in force in the year of at.
func VTimezoneFor(loc *time.Location, at time.Time) *ical.Component {
	return NewTimeZone(loc, at).VTimezone(loc.String())
}

var weekdayCodes = [7]string{"SU", "MO", "TU", "WE", "TH", "FR", "SA"}
