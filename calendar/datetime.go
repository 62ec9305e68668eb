package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// DateTime is the value of DTSTART, DTEND, DUE, RECURRENCE-ID, EXDATE or RDATE
// (RFC 5545 3.3.4, 3.3.5).
//
// Wall holds the written clock reading (or date) in time.UTC used as a plain
// container; it is never an instant by itself. Use Instant to get the instant.
type DateTime struct {
	Wall     time.Time
	IsDate   bool           // VALUE=DATE: an all-day date
	Floating bool           // neither UTC nor TZID: a local time anywhere (RFC 5545 3.3.5 form #1)
	TZID     string         // the TZID parameter as written, "" for UTC and floating
	Loc      *time.Location // the resolved zone: time.UTC, the TZID's zone, or nil when floating or a date
}

// IsZero reports whether d is unset.
func (d DateTime) IsZero() bool { return d.Wall.IsZero() }

// Instant returns the instant d denotes. Dates and floating times are read in
// floating (the user's zone; UTC when nil). A local time in a DST gap is read
// with the offset before the gap, an ambiguous one as its first occurrence
// (RFC 5545 3.3.5).
func (d DateTime) Instant(floating *time.Location) time.Time {
	loc := d.Loc
	if loc == nil || d.IsDate || d.Floating {
		loc = floating
	}
	if loc == nil {
		loc = time.UTC
	}
	return wallToInstant(d.Wall, loc)
}

// Date returns the calendar date of d: for dates, the date itself; for times,
// the date of the wall clock reading.
func (d DateTime) Date() (int, time.Month, int) { return d.Wall.Date() }

// String formats d as an iCalendar value (without the TZID parameter).
func (d DateTime) String() string {
	switch {
	case d.IsDate:
		return d.Wall.Format("20060102")
	case d.Floating || d.TZID != "":
		return d.Wall.Format("20060102T150405")
	default:
		return d.Wall.Format("20060102T150405Z")
	}
}

// NewDate returns an all-day date.
func NewDate(y int, m time.Month, day int) DateTime {
	return DateTime{Wall: time.Date(y, m, day, 0, 0, 0, 0, time.UTC), IsDate: true}
}

// NewDateTimeIn returns the instant t as a local time in loc, written with
// TZID=tzid (loc.String() when tzid is ""); a UTC time when loc is UTC.
func NewDateTimeIn(t time.Time, loc *time.Location, tzid string) DateTime {
	if loc == nil || loc == time.UTC {
		return DateTime{Wall: t.UTC().Truncate(time.Second), Loc: time.UTC}
	}
	if tzid == "" {
		tzid = loc.String()
	}
	return DateTime{Wall: asWall(t.In(loc)), TZID: tzid, Loc: loc}
}

// asWall returns the clock reading of t as a wall value in time.UTC.
func asWall(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

// wallToInstant interprets a wall clock reading in loc (RFC 5545 3.3.5): a
// time in a gap takes the offset from before the gap; an ambiguous time is
// the first of its two instants.
func wallToInstant(w time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return w
	}
	// Candidate instants: the wall time read with the offsets in force a day
	// before and a day after; real zones change offset at most once a day.
	naive := w.Unix()
	_, off1 := time.Unix(naive-86400, 0).In(loc).Zone()
	_, off2 := time.Unix(naive+86400, 0).In(loc).Zone()
	c1 := naive - int64(off1) // read with the earlier offset
	c2 := naive - int64(off2)
	if off1 == off2 {
		if _, off := time.Unix(c1, 0).In(loc).Zone(); off == off1 {
			return time.Unix(c1, 0).In(loc) // no change of offset near w: the one reading
		}
	}
	ok1 := sameWall(time.Unix(c1, 0).In(loc), w)
	ok2 := sameWall(time.Unix(c2, 0).In(loc), w)
	switch {
	case ok1 && ok2:
		if c2 < c1 {
			return time.Unix(c2, 0).In(loc)
		}
		return time.Unix(c1, 0).In(loc)
	case ok1:
		return time.Unix(c1, 0).In(loc)
	case ok2:
		return time.Unix(c2, 0).In(loc)
	}
	// In a gap: read with the offset from before the gap.
	return time.Unix(c1, 0).In(loc)
}

func sameWall(t, w time.Time) bool {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	y2, m2, d2 := w.Date()
	hh2, mm2, ss2 := w.Clock()
	return y == y2 && m == m2 && d == d2 && hh == hh2 && mm == mm2 && ss == ss2
}

// parseWall parses an iCalendar DATE or DATE-TIME value (RFC 5545 3.3.4,
// 3.3.5) without the cost of time.Parse: expansion reads hundreds of them.
func parseWall(v string) (w time.Time, isDate, utc bool, err error) {
	v = strings.TrimSpace(v)
	bad := func() (time.Time, bool, bool, error) {
		return time.Time{}, false, false, fmt.Errorf("%w: bad date-time %q", ErrMalformed, v)
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(v) != 8 && len(v) != 15 && len(v) != 16 {
		return bad()
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[4:6])
	dd, ok3 := num(v[6:8])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || dd < 1 || dd > daysIn(time.Month(mo), y) {
		return bad()
	}
	if len(v) == 8 {
		return time.Date(y, time.Month(mo), dd, 0, 0, 0, 0, time.UTC), true, false, nil
	}
	if v[8] != 'T' && v[8] != 't' {
		return bad()
	}
	if len(v) == 16 {
		if v[15] != 'Z' && v[15] != 'z' {
			return bad()
		}
		utc = true
	}
	hh, ok1 := num(v[9:11])
	mi, ok2 := num(v[11:13])
	ss, ok3 := num(v[13:15])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mi > 59 || ss > 60 {
		return bad()
	}
	if ss == 60 {
		ss = 59 // a leap second (RFC 5545 3.3.12)
	}
	return time.Date(y, time.Month(mo), dd, hh, mi, ss, 0, time.UTC), false, utc, nil
}

// Zones resolves the TZID parameters of one iCalendar object: first its own
// VTIMEZONE components, then IANA and Windows names.
type Zones struct {
	vtz   map[string]*ical.Component
	cache map[string]*time.Location
}

// NewZones indexes the VTIMEZONE components of cal (nil is allowed).
func NewZones(cal *ical.Calendar) *Zones {
	z := &Zones{vtz: map[string]*ical.Component{}, cache: map[string]*time.Location{}}
	if cal != nil {
		for _, c := range cal.Children {
			if c.Name == ical.CompTimezone {
				if id := c.Props.Get(ical.PropTimezoneID); id != nil {
					z.vtz[id.Value] = c
				}
			}
		}
	}
	return z
}

// VTimezone returns the object's VTIMEZONE for tzid, or nil.
func (z *Zones) VTimezone(tzid string) *ical.Component { return z.vtz[tzid] }

// Location resolves tzid to a zone. A name the tz database or CLDR knows wins;
// otherwise the zone is built from the object's VTIMEZONE rules. It returns
// nil when neither works.
func (z *Zones) Location(tzid string) *time.Location {
	if loc, ok := z.cache[tzid]; ok {
		return loc
	}
	loc := LoadZone(tzid)
	if loc == nil {
		if c := z.vtz[tzid]; c != nil {
			loc, _ = LocationFromVTimezone(c)
		}
	}
	z.cache[tzid] = loc
	return loc
}

// DateTimeOf reads the date-time property p. A TZID that cannot be resolved is
// read as UTC (and reported in the error) rather than dropped.
func (z *Zones) DateTimeOf(p *ical.Prop) (DateTime, error) {
	v := p.Value
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return z.parseValue(p, v)
}

// DateTimesOf reads every value of the multi-valued properties ps (EXDATE,
// RDATE). PERIOD values of RDATE yield their start.
func (z *Zones) DateTimesOf(ps []ical.Prop) ([]DateTime, error) {
	var out []DateTime
	var firstErr error
	for i := range ps {
		for _, v := range strings.Split(ps[i].Value, ",") {
			if j := strings.IndexByte(v, '/'); j >= 0 {
				v = v[:j]
			}
			if v == "" {
				continue
			}
			d, err := z.parseValue(&ps[i], v)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				if d.IsZero() {
					continue
				}
			}
			out = append(out, d)
		}
	}
	return out, firstErr
}

func (z *Zones) parseValue(p *ical.Prop, v string) (DateTime, error) {
	w, isDate, utc, err := parseWall(v)
	if err != nil {
		return DateTime{}, err
	}
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE") && !isDate {
		// VALUE=DATE with a time: keep the date.
		w = time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
		isDate = true
	}
	d := DateTime{Wall: w, IsDate: isDate}
	switch {
	case isDate:
	case utc:
		d.Loc = time.UTC
	default:
		tzid := p.Params.Get(ical.PropTimezoneID)
		if tzid == "" {
			d.Floating = true
			break
		}
		d.TZID = tzid
		d.Loc = z.Location(tzid)
		if d.Loc == nil {
			d.Loc = time.UTC
			return d, fmt.Errorf("calendar: unknown TZID %q, read as UTC", tzid)
		}
	}
	return d, nil
}

// setDateTime writes d into the property called name of c, replacing its
// value and the VALUE/TZID parameters and keeping all other parameters.
func setDateTime(c *ical.Component, name string, d DateTime) {
	p := c.Props.Get(name)
	if p == nil {
		c.Props.Set(&ical.Prop{Name: name, Params: ical.Params{}})
		p = c.Props.Get(name)
	}
	fillDateTimeProp(p, d)
}

func fillDateTimeProp(p *ical.Prop, d DateTime) {
	if p.Params == nil {
		p.Params = ical.Params{}
	}
	p.Params.Del(ical.ParamValue)
	p.Params.Del(ical.PropTimezoneID)
	if d.IsDate {
		p.Params.Set(ical.ParamValue, "DATE")
	} else if d.TZID != "" && !d.Floating {
		p.Params.Set(ical.PropTimezoneID, d.TZID)
	}
	p.Value = d.String()
}

// dateTimeProp returns a new property holding d.
func dateTimeProp(name string, d DateTime) ical.Prop {
	p := ical.Prop{Name: name, Params: ical.Params{}}
	fillDateTimeProp(&p, d)
	return p
}

// sameDateTime reports whether two values denote the same date or instant.
func sameDateTime(a, b DateTime, floating *time.Location) bool {
	if a.IsDate || b.IsDate {
		return a.IsDate == b.IsDate && a.Wall.Equal(b.Wall)
	}
	return a.Instant(floating).Equal(b.Instant(floating))
}
