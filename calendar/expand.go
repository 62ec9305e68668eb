package calendar

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Object is one stored calendar object: every VEVENT (or VTODO) of one UID
// — the master and its RECURRENCE-ID overrides — in one VCALENDAR with the
// VTIMEZONEs they use (RFC 4791 4.1).
//
// An Object is not safe for concurrent use: it caches parsed
// RECURRENCE-IDs and EXDATEs (checked against the property text on each use,
// so editing the components stays safe).
type Object struct {
	Cal       *ical.Calendar
	Master    *ical.Component   // nil when the object holds only overrides (an invitation to one instance)
	Overrides []*ical.Component // with RECURRENCE-ID, in the order of the text
	Zones     *Zones

	dtCache map[*ical.Component][]cachedDT
	exCache []cachedDT
	exAll   []DateTime
	exErr   error
	exKeys  *exKeyIndex
	ovIdx   *ovIndex
}

// ovIndex maps the overrides to the instances they replace, for one
// DTSTART and zone.
type ovIndex struct {
	start DateTime
	fl    *time.Location
	comps []*ical.Component
	rids  []DateTime
	byKey map[int64]int
}

// exKeyIndex is the EXDATEs as master wall keys, for one DTSTART and zone.
type exKeyIndex struct {
	start DateTime
	fl    *time.Location
	wall  map[int64]bool
	dates map[int64]bool
}

type cachedDT struct {
	name                   string
	value, tzid, valueType string
	dts                    []DateTime
	err                    error
}

func (c *cachedDT) matches(p *ical.Prop) bool {
	return c.value == p.Value && c.tzid == param(p, "TZID") && c.valueType == param(p, "VALUE")
}

// param is Params.Get for an upper-case name, without its case folding.
func param(p *ical.Prop, name string) string {
	if v := p.Params[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// propDateTime returns the parsed date-time property name of c, cached.
func (o *Object) propDateTime(c *ical.Component, name string) (DateTime, error) {
	ps := c.Props[name]
	if len(ps) == 0 {
		return DateTime{}, fmt.Errorf("%w: no %s", ErrMalformed, name)
	}
	p := &ps[0]
	entries := o.dtCache[c]
	for i := range entries {
		if e := &entries[i]; e.name == name && e.matches(p) {
			return e.dts[0], e.err
		}
	}
	d, err := o.Zones.DateTimeOf(p)
	if o.dtCache == nil {
		o.dtCache = map[*ical.Component][]cachedDT{}
	}
	ent := cachedDT{name: name, value: p.Value, tzid: param(p, "TZID"), valueType: param(p, "VALUE"), dts: []DateTime{d}, err: err}
	for i := range entries {
		if entries[i].name == name {
			entries[i] = ent
			return d, err
		}
	}
	o.dtCache[c] = append(entries, ent)
	return d, err
}

// recurrenceID returns the parsed RECURRENCE-ID of an override.
func (o *Object) recurrenceID(c *ical.Component) (DateTime, error) {
	return o.propDateTime(c, ical.PropRecurrenceID)
}

// exDates returns the master's EXDATEs, cached.
func (o *Object) exDates() ([]DateTime, error) {
	ps := o.Master.Props[ical.PropExceptionDates]
	if len(ps) == len(o.exCache) {
		same := true
		for i := range ps {
			if !o.exCache[i].matches(&ps[i]) {
				same = false
				break
			}
		}
		if same {
			return o.exAll, o.exErr
		}
	}
	o.exCache = o.exCache[:0]
	o.exKeys = nil
	var out []DateTime
	var firstErr error
	for i := range ps {
		ds, err := o.Zones.DateTimesOf(ps[i : i+1])
		o.exCache = append(o.exCache, cachedDT{value: ps[i].Value, tzid: param(&ps[i], "TZID"), valueType: param(&ps[i], "VALUE"), dts: ds, err: err})
		out = append(out, ds...)
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	o.exAll, o.exErr = out, firstErr
	return out, firstErr
}

// ParseObject parses a stored calendar object. It accepts text holding
// several UIDs but works on the first UID's components.
func ParseObject(data []byte) (*Object, error) {
	cal, err := Parse(data)
	if err != nil {
		return nil, err
	}
	return NewObject(cal)
}

// NewObject indexes a parsed calendar.
func NewObject(cal *ical.Calendar) (*Object, error) {
	o := &Object{Cal: cal, Zones: NewZones(cal)}
	uid := ""
	for _, c := range cal.Children {
		if c.Name != ical.CompEvent && c.Name != ical.CompToDo {
			continue
		}
		u, _ := propText(c, ical.PropUID)
		if uid == "" {
			uid = u
		} else if u != uid {
			continue
		}
		if c.Props.Get(ical.PropRecurrenceID) != nil {
			o.Overrides = append(o.Overrides, c)
		} else if o.Master == nil {
			o.Master = c
		}
	}
	if o.Master == nil && len(o.Overrides) == 0 {
		return nil, fmt.Errorf("%w: no VEVENT or VTODO", ErrMalformed)
	}
	return o, nil
}

// Bytes writes the object back as iCalendar text.
func (o *Object) Bytes() []byte { return Encode(o.Cal) }

// UID returns the object's UID.
func (o *Object) UID() string {
	c := o.Master
	if c == nil {
		c = o.Overrides[0]
	}
	u, _ := propText(c, ical.PropUID)
	return u
}

// Primary returns the master, or the first override when there is none.
func (o *Object) Primary() *ical.Component {
	if o.Master != nil {
		return o.Master
	}
	return o.Overrides[0]
}

// Override returns the override whose RECURRENCE-ID denotes rid, or nil.
func (o *Object) Override(rid DateTime, floating *time.Location) *ical.Component {
	for _, c := range o.Overrides {
		p := c.Props.Get(ical.PropRecurrenceID)
		d, err := o.Zones.DateTimeOf(p)
		if err != nil && d.IsZero() {
			continue
		}
		if sameDateTime(d, rid, floating) || (d.IsDate != rid.IsDate && d.Wall.Format("20060102") == rid.Wall.Format("20060102")) {
			return c
		}
	}
	return nil
}

// Start returns DTSTART of c.
func (o *Object) Start(c *ical.Component) (DateTime, error) {
	return o.propDateTime(c, ical.PropDateTimeStart)
}

// End returns the end of c: DTEND (or DUE for a VTODO), else DTSTART +
// DURATION, else one day for a date and zero for a time (RFC 5545 3.6.1).
func (o *Object) End(c *ical.Component, start DateTime) (DateTime, error) {
	name := ical.PropDateTimeEnd
	if c.Name == ical.CompToDo {
		name = ical.PropDue
	}
	if len(c.Props[name]) > 0 {
		d, err := o.propDateTime(c, name)
		if err == nil || !d.IsZero() {
			return d, err
		}
	}
	end := start
	if ps := c.Props[ical.PropDuration]; len(ps) > 0 {
		dur, err := parseDuration(ps[0].Value)
		if err != nil {
			return end, err
		}
		if start.IsDate || dur%(24*time.Hour) == 0 && !start.IsDate && start.Loc != time.UTC {
			// Nominal days keep the wall clock across DST (RFC 5545 3.3.6).
			days := int(dur / (24 * time.Hour))
			rest := dur - time.Duration(days)*24*time.Hour
			end.Wall = end.Wall.AddDate(0, 0, days).Add(rest)
			return end, nil
		}
		end.Wall = end.Wall.Add(dur)
		if !start.IsDate && !start.Floating && start.Loc != nil && start.Loc != time.UTC {
			// Exact durations are added to the instant.
			in := start.Instant(nil).Add(dur)
			end.Wall = asWall(in.In(start.Loc))
		}
		return end, nil
	}
	if start.IsDate {
		end.Wall = end.Wall.AddDate(0, 0, 1)
	}
	return end, nil
}

// parseDuration parses an RFC 5545 3.3.6 DURATION value.
func parseDuration(s string) (time.Duration, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return 0, fmt.Errorf("%w: duration %q", ErrMalformed, s)
	}
	s = s[1:]
	var d time.Duration
	inTime := false
	num := 0
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			num = num*10 + int(c-'0')
			digits++
			if digits > 9 {
				return 0, fmt.Errorf("%w: duration %q", ErrMalformed, s)
			}
			continue
		case c == 'T':
			inTime = true
			continue
		}
		if digits == 0 {
			return 0, fmt.Errorf("%w: duration %q", ErrMalformed, s)
		}
		n := time.Duration(num)
		switch {
		case c == 'W' && !inTime:
			d += n * 7 * 24 * time.Hour
		case c == 'D' && !inTime:
			d += n * 24 * time.Hour
		case c == 'H' && inTime:
			d += n * time.Hour
		case c == 'M' && inTime:
			d += n * time.Minute
		case c == 'S' && inTime:
			d += n * time.Second
		default:
			return 0, fmt.Errorf("%w: duration %q", ErrMalformed, s)
		}
		num, digits = 0, 0
	}
	if digits != 0 {
		return 0, fmt.Errorf("%w: duration %q", ErrMalformed, s)
	}
	if neg {
		d = -d
	}
	return d, nil
}

// formatDuration writes d as an RFC 5545 DURATION.
func formatDuration(d time.Duration) string {
	s := ""
	if d < 0 {
		s, d = "-", -d
	}
	s += "P"
	if d == 0 {
		return s + "T0S"
	}
	if d%(7*24*time.Hour) == 0 {
		return fmt.Sprintf("%s%dW", s, d/(7*24*time.Hour))
	}
	if days := d / (24 * time.Hour); days > 0 {
		s += fmt.Sprintf("%dD", days)
		d -= days * 24 * time.Hour
	}
	if d > 0 {
		s += "T"
		if h := d / time.Hour; h > 0 {
			s += fmt.Sprintf("%dH", h)
			d -= h * time.Hour
		}
		if m := d / time.Minute; m > 0 {
			s += fmt.Sprintf("%dM", m)
			d -= m * time.Minute
		}
		if d > 0 {
			s += fmt.Sprintf("%dS", d/time.Second)
		}
	}
	return s
}

// Instance is one occurrence of an object in a window.
type Instance struct {
	RecurrenceID DateTime        // the original start: the instance's identity
	Start, End   DateTime        // as the instance's component has them
	StartTime    time.Time       // Start as an instant (dates at midnight in the floating zone)
	EndTime      time.Time       // End as an instant
	Component    *ical.Component // the master or the override that defines it
	IsOverride   bool
}

// ExpandOptions bound an expansion.
type ExpandOptions struct {
	Start, End   time.Time      // the window: instances with Start < End and End > Start (zero: unbounded)
	Floating     *time.Location // the zone of floating times and dates (the user's); UTC when nil
	MaxInstances int            // 0 means 10,000
	MaxWork      int            // 0 means DefaultMaxWork
}

// Expand returns the instances of the object that overlap the window, in
// start order: the RRULE and RDATE occurrences of the master less its EXDATEs,
// each replaced by its override when there is one, and overrides that moved
// into the window (RFC 5545 3.8.5). Rules are evaluated on the wall clock of
// DTSTART's zone, so a 09:00 meeting stays at 09:00 across DST changes.
// Expansion is bounded: at most MaxInstances results and MaxWork units of
// work; when the bound is hit, it returns what it found and ErrTooComplex.
func (o *Object) Expand(opts ExpandOptions) ([]Instance, error) {
	if opts.MaxInstances <= 0 {
		opts.MaxInstances = 10000
	}
	if opts.MaxWork <= 0 {
		opts.MaxWork = DefaultMaxWork
	}
	fl := opts.Floating
	if fl == nil {
		fl = time.UTC
	}
	var out []Instance
	var firstErr error
	inWindow := func(s, e time.Time) bool {
		if !opts.End.IsZero() && !s.Before(opts.End) {
			return false
		}
		if !opts.Start.IsZero() {
			if e.After(s) {
				return e.After(opts.Start)
			}
			return !s.Before(opts.Start) // zero-length instances at the window start count
		}
		return true
	}
	add := func(rid DateTime, c *ical.Component, override bool) bool {
		st, err := o.Start(c)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if st.IsZero() {
				return true
			}
		}
		en, err := o.End(c, st)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		inst := Instance{RecurrenceID: rid, Start: st, End: en, Component: c, IsOverride: override}
		inst.StartTime = st.Instant(fl)
		inst.EndTime = en.Instant(fl)
		if inst.EndTime.Before(inst.StartTime) {
			inst.EndTime = inst.StartTime
		}
		if inWindow(inst.StartTime, inst.EndTime) {
			if len(out) >= opts.MaxInstances {
				firstErr = ErrTooComplex
				return false
			}
			out = append(out, inst)
		}
		return true
	}

	// Index the overrides by the instance they replace, as a wall time of
	// the master's zone.
	var mstart DateTime
	if o.Master != nil {
		mstart, _ = o.Start(o.Master)
	}
	ix := o.ovIdx
	valid := ix != nil && ix.fl == fl && ix.start == mstart
	k := 0
	for _, ov := range o.Overrides {
		if !valid {
			break
		}
		rid, err := o.recurrenceID(ov)
		if err != nil && rid.IsZero() {
			continue
		}
		valid = k < len(ix.comps) && ix.comps[k] == ov && ix.rids[k] == rid
		k++
	}
	if !valid || k != len(ix.comps) {
		ix = &ovIndex{start: mstart, fl: fl, byKey: make(map[int64]int, len(o.Overrides))}
		for _, ov := range o.Overrides {
			rid, err := o.recurrenceID(ov)
			if err != nil && rid.IsZero() {
				continue
			}
			ix.byKey[masterWallKey(rid, mstart, fl)] = len(ix.comps)
			ix.comps = append(ix.comps, ov)
			ix.rids = append(ix.rids, rid)
		}
		o.ovIdx = ix
	}
	byKey := ix.byKey
	used := make([]bool, len(ix.comps))
	if m := o.Master; m != nil {
		start, err := o.Start(m)
		if err != nil && start.IsZero() {
			return nil, err
		}
		end, _ := o.End(m, start)
		dur := end.Instant(fl).Sub(start.Instant(fl))
		if dur < 0 {
			dur = 0
		}
		occ, err := o.occurrences(m, start, opts, dur, fl)
		if err != nil {
			firstErr = err
		}
		for _, w := range occ {
			rid := start
			rid.Wall = w
			if k, ok := byKey[w.Unix()]; ok {
				used[k] = true
				if !add(rid, ix.comps[k], true) {
					break
				}
				continue
			}
			inst := Instance{RecurrenceID: rid, Component: m, Start: rid, End: rid}
			inst.StartTime = rid.Instant(fl)
			inst.EndTime = inst.StartTime.Add(dur)
			if start.IsDate {
				days := 0
				if end.IsDate {
					days = int(end.Wall.Sub(start.Wall).Hours()/24 + 0.5)
				}
				inst.End.Wall = rid.Wall.AddDate(0, 0, days)
				inst.EndTime = inst.End.Instant(fl)
			} else {
				inst.End = DateTime{TZID: end.TZID, Loc: end.Loc, Floating: end.Floating}
				inst.End.Wall = asWallIn(inst.EndTime, inst.End)
			}
			if inWindow(inst.StartTime, inst.EndTime) {
				if len(out) >= opts.MaxInstances {
					firstErr = ErrTooComplex
					break
				}
				out = append(out, inst)
			}
		}
	}
	// The window as wall clock readings, a day wider on each side: no zone
	// is more than a day from UTC.
	var wallLo, wallHi time.Time
	if !opts.Start.IsZero() {
		wallLo = asWall(opts.Start.UTC()).AddDate(0, 0, -2)
	}
	if !opts.End.IsZero() {
		wallHi = asWall(opts.End.UTC()).AddDate(0, 0, 2)
	}
	// Overrides whose RECURRENCE-ID was not generated in the window: an
	// instance moved into the window from outside it, or an invitation to
	// one instance without its master.
	for k, c := range ix.comps {
		if used[k] {
			continue
		}
		st, err := o.Start(c)
		if err != nil && st.IsZero() {
			continue
		}
		en, _ := o.End(c, st)
		if quickOutside(st, en, wallLo, wallHi) || !inWindow(st.Instant(fl), en.Instant(fl)) {
			continue
		}
		rid := ix.rids[k]
		if o.Master != nil && (o.isExcluded(rid, fl) || !o.generates(rid, opts, fl)) {
			continue
		}
		if !add(rid, c, true) {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.Before(out[j].StartTime) })
	return out, firstErr
}

// quickOutside reports, without converting to instants, that [st, en)
// cannot meet the window whose wall bounds (widened by two days) are lo, hi.
func quickOutside(st, en DateTime, lo, hi time.Time) bool {
	return !hi.IsZero() && st.Wall.After(hi) || !lo.IsZero() && en.Wall.Before(lo) && st.Wall.Before(lo)
}

// masterWallKey expresses an instance time (RECURRENCE-ID, EXDATE) as the
// wall clock of the master's DTSTART, as Unix seconds of that wall reading:
// directly when both are in the same zone (the usual case, and cheap),
// through the instant otherwise; as a date for all-day series.
func masterWallKey(d, start DateTime, fl *time.Location) int64 {
	switch {
	case start.IsDate || d.IsDate:
		y, m, dd := d.Wall.Date()
		if !d.IsDate && !start.IsDate {
			break
		}
		if !d.IsDate && !d.Floating && d.Loc != nil {
			y, m, dd = d.Instant(fl).In(fl).Date()
		}
		return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Unix()
	case d.Floating == start.Floating && d.TZID == start.TZID && d.Loc == start.Loc:
		return d.Wall.Unix()
	}
	return asWallIn(d.Instant(fl), start).Unix()
}

func asWallIn(t time.Time, like DateTime) time.Time {
	if like.Loc != nil && !like.Floating {
		return asWall(t.In(like.Loc))
	}
	return asWall(t)
}

// isExcluded reports whether an EXDATE of the master removes rid.
func (o *Object) isExcluded(rid DateTime, fl *time.Location) bool {
	ex, _ := o.exDates()
	for _, e := range ex {
		if sameDateTime(e, rid, fl) || (e.IsDate && e.Wall.Format("20060102") == rid.Wall.Format("20060102")) {
			return true
		}
	}
	return false
}

// generates reports whether the master's recurrence set contains rid.
func (o *Object) generates(rid DateTime, opts ExpandOptions, fl *time.Location) bool {
	start, err := o.Start(o.Master)
	if err != nil && start.IsZero() {
		return false
	}
	at := rid.Instant(fl)
	if opts.MaxWork <= 0 {
		opts.MaxWork = DefaultMaxWork
	}
	w := ExpandOptions{Start: at.Add(-time.Second), End: at.Add(time.Second), MaxWork: opts.MaxWork, MaxInstances: 10}
	occ, _ := o.occurrences(o.Master, start, w, 0, fl)
	for _, x := range occ {
		d := start
		d.Wall = x
		if sameDateTime(d, rid, fl) {
			return true
		}
	}
	return false
}

// occurrences returns the wall times of the master's recurrence set whose
// instances may overlap the window: RRULE and RDATE less EXDATE. A master
// without RRULE or RDATE yields DTSTART alone.
func (o *Object) occurrences(m *ical.Component, start DateTime, opts ExpandOptions, dur time.Duration, fl *time.Location) ([]time.Time, error) {
	loc := start.Loc
	if start.IsDate || start.Floating || loc == nil {
		loc = fl
	}
	toInstant := func(w time.Time) time.Time { return wallToInstant(w, loc) }
	lo, hi := opts.Start, opts.End
	var firstErr error
	rrules := m.Props[ical.PropRecurrenceRule]
	rdates := m.Props[ical.PropRecurrenceDates]
	var set map[int64]bool // only needed when several sources may repeat a time
	if len(rrules) > 1 || len(rdates) > 0 {
		set = map[int64]bool{}
	}
	var list []time.Time
	addW := func(w time.Time) {
		if set != nil {
			if set[w.Unix()] {
				return
			}
			set[w.Unix()] = true
		}
		list = append(list, w)
	}
	if len(rrules) == 0 && len(rdates) == 0 {
		return []time.Time{start.Wall}, nil
	}
	if len(rrules) == 0 {
		addW(start.Wall) // DTSTART is the first instance (RFC 5545 3.8.2.4)
	}
	for _, rp := range rrules {
		rule, err := ParseRule(rp.Value)
		if err != nil {
			firstErr = err
			addW(start.Wall)
			continue
		}
		if rule.RScale != "" && rule.RScale != "GREGORIAN" {
			firstErr = fmt.Errorf("calendar: RSCALE=%s is not supported; only the first instance is shown", rule.RScale)
			addW(start.Wall)
			continue
		}
		it := newSeriesIter(rule, start, loc, opts.MaxWork)
		if !lo.IsZero() {
			// Skip to a day before the window, less the duration and a day
			// of zone slack.
			it.skipTo(asWall(lo.Add(-dur).In(loc)).AddDate(0, 0, -2))
		}
		for {
			w, ok := it.next()
			if !ok {
				break
			}
			if !hi.IsZero() && toInstant(w).After(hi.Add(48*time.Hour)) {
				break
			}
			if !lo.IsZero() && toInstant(w).Add(dur).Before(lo.Add(-48*time.Hour)) {
				continue
			}
			addW(w)
			if len(list) > opts.MaxInstances+len(m.Props[ical.PropExceptionDates])+1024 {
				firstErr = ErrTooComplex
				break
			}
		}
		if it.err != nil {
			firstErr = it.err
		}
	}
	rd, err := o.Zones.DateTimesOf(rdates)
	if err != nil && firstErr == nil {
		firstErr = err
	}
	for _, d := range rd {
		w := d.Wall
		if !d.IsDate && !start.IsDate && d.Loc != nil && loc != nil && d.Loc != loc {
			w = asWall(d.Instant(fl).In(loc))
		}
		if start.IsDate && !d.IsDate {
			w = time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
		}
		addW(w)
	}
	ex, err := o.exDates()
	if err != nil && firstErr == nil {
		firstErr = err
	}
	if len(ex) > 0 {
		ix := o.exKeys
		if ix == nil || ix.fl != fl || ix.start != start {
			ix = &exKeyIndex{start: start, fl: fl, wall: make(map[int64]bool, len(ex)), dates: map[int64]bool{}}
			for _, d := range ex {
				if d.IsDate && !start.IsDate {
					ix.dates[d.Wall.Unix()] = true // a DATE EXDATE on a timed series removes that day
					continue
				}
				ix.wall[masterWallKey(d, start, fl)] = true
			}
			o.exKeys = ix
		}
		kept := list[:0]
		for _, w := range list {
			if ix.wall[w.Unix()] {
				continue
			}
			if len(ix.dates) > 0 && ix.dates[time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).Unix()] {
				continue
			}
			kept = append(kept, w)
		}
		list = kept
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Before(list[j]) })
	return list, firstErr
}

// newSeriesIter returns the iterator of rule from start, reading UNTIL as
// RFC 5545 3.3.10 says: in UTC when DTSTART has a zone, a date for all-day
// series, and (leniently) a DATE UNTIL of a timed series as the end of that
// day, as Google Calendar and Outlook read it.
func newSeriesIter(rule Rule, start DateTime, loc *time.Location, budget int) *ruleIter {
	it := newRuleIter(rule, start.Wall, budget)
	if rule.Until.IsZero() {
		return it
	}
	u := rule.Until
	switch {
	case rule.UntilIsDate && !start.IsDate:
		end := u.AddDate(0, 0, 1)
		it.until = func(w time.Time) bool { return !w.Before(end) }
	case start.IsDate:
		day := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
		if rule.UntilUTC && loc != nil {
			// A UTC UNTIL on a date series: its date in the user's zone.
			day = asWall(u.In(loc))
			day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
		}
		it.until = func(w time.Time) bool { return w.After(day) }
	case rule.UntilUTC && !start.Floating && loc != nil && loc != time.UTC:
		it.until = func(w time.Time) bool { return wallToInstant(w, loc).After(u) }
	default:
		it.until = func(w time.Time) bool { return w.After(u) }
	}
	return it
}
