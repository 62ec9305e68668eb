package calendar

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// MergeOptions is EASOptions plus what a Sync Add or Change carries.
type MergeOptions struct {
	EASOptions
	// Supported is the collection's airsync:Supported list (≤14.1), as
	// element names ("Subject", "Location", "Attendees", "Body", "Reminder",
	// "Categories", "Sensitivity", "BusyStatus", "Recurrence", "Exceptions",
	// "DisallowNewTimeProposal", "ResponseRequested"). An element listed here
	// and absent from a Change is deleted; an unlisted absent element stays
	// ([MS-ASCMD] 2.2.3.168, [eas-pim] §1 Ghosting). 16.x ignores it: absent
	// elements always stay.
	Supported []string
	// NewUID is the UID of a new item when the device sends none (16.x Add:
	// the server assigns it, [MS-ASCAL] 2.2.2.46). Empty: a random UID.
	NewUID string
	// ProdID is written into new objects.
	ProdID string
}

// MergeResult reports what a merge did, for the front end to act on.
type MergeResult struct {
	Created          bool
	UID              string
	Changed          []string // EAS element names whose value changed
	Rescheduled      bool     // the account's meeting changed time or pattern: SEQUENCE was bumped and replies reset (RFC 6638 3.2.8)
	Cancelled        bool     // the account's meeting was cancelled: send iTIP CANCEL
	AttendeesAdded   []string // send them a REQUEST (16.x, [MS-ASCAL] 3.1.5.5)
	AttendeesRemoved []string // send them a CANCEL
	RecurrenceKept   bool     // the device echoed the pattern it was sent: the stored RRULE stays
}

func (r *MergeResult) changed(name string) {
	if !contains(r.Changed, name) {
		r.Changed = append(r.Changed, name)
	}
}

// DefaultProdID is the PRODID of objects this package creates.
const DefaultProdID = "-//Gatehouse//Gatehouse Calendar//EN"

// MergeEvent applies a device's Sync Add (stored == nil) or Change to the
// stored object and returns the new text. It merges, never rebuilds
// (see the package invariants): a device value equal to what the stored
// object shows the device is no change; properties the device cannot see
// are kept; an RRULE the device received as a lossy pattern survives its
// echo. Device values ActiveSync forbids return ErrInvalid (Status 6).
func MergeEvent(stored []byte, dev *EASEvent, opts MergeOptions) ([]byte, MergeResult, error) {
	var res MergeResult
	if dev == nil {
		dev = &EASEvent{}
	}
	mc, err := newMergeCtx(stored, ical.CompEvent, opts, &res)
	if err != nil {
		return nil, res, err
	}
	o, m := mc.o, mc.o.Master
	var proj *EASEvent
	if !res.Created {
		if proj, err = o.ToEAS(opts.EASOptions); err != nil {
			return nil, res, err
		}
	} else {
		proj = &EASEvent{}
		uid := opts.NewUID
		if dev.UID != nil && *dev.UID != "" && !opts.Version.is16() {
			uid = *dev.UID // ≤14.1: the client supplies the UID
		}
		if uid == "" {
			uid = newUID()
		}
		setText(m, ical.PropUID, uid)
		if dev.ClientUID != nil && *dev.ClientUID != "" {
			setText(m, propClientUID, *dev.ClientUID)
		}
		if dev.OrganizerEmail != nil && *dev.OrganizerEmail != "" && !opts.Version.is16() {
			p := ical.Prop{Name: ical.PropOrganizer, Params: ical.Params{}, Value: "mailto:" + *dev.OrganizerEmail}
			if dev.OrganizerName != nil && *dev.OrganizerName != "" {
				p.Params.Set(ical.ParamCommonName, *dev.OrganizerName)
			}
			m.Props.Set(&p)
		}
	}
	res.UID = o.UID()
	oldStart, _ := o.Start(m)
	timesChanged, err := mc.applyTimes(m, dev.EASItem, dev.TimeZone, proj.EASItem, true)
	if err != nil {
		return nil, res, err
	}
	mc.applyItem(m, dev.EASItem, proj.EASItem, true)
	if dev.DisallowNewTimeProposal != nil && !eqPtr(dev.DisallowNewTimeProposal, orFalse(proj.DisallowNewTimeProposal)) {
		setRaw(m, propNoCounter, strings.ToUpper(strconv.FormatBool(*dev.DisallowNewTimeProposal)))
		res.changed("DisallowNewTimeProposal")
	}
	newStart, _ := o.Start(m)
	recChanged, err := mc.applyRecurrence(m, dev.Recurrence, proj.Recurrence, newStart)
	if err != nil {
		return nil, res, err
	}
	if opts.Version.is16() && !res.Created && o.isRecurring() && (recChanged || timesChanged) {
		// 16.x: changing the pattern or Start/End deletes all exceptions
		// ([eas-pim] §3).
		mc.dropExceptions()
	} else if timesChanged && !res.Created && o.isRecurring() && !oldStart.IsZero() {
		mc.shiftOverrides(oldStart, newStart)
	}
	if dev.Exceptions != nil {
		for _, e := range *dev.Exceptions {
			if err := mc.applyException(e.ExceptionStartTime, e.Deleted, &e.EASItem); err != nil {
				return nil, res, err
			}
		}
	}
	if timesChanged || recChanged {
		mc.rescheduled = true
	}
	return mc.result(stored)
}

// result finishes the merge; when nothing changed it returns the stored
// text itself, byte for byte.
func (mc *mergeCtx) result(stored []byte) ([]byte, MergeResult, error) {
	if !mc.res.Created && len(mc.touched) == 0 && len(mc.res.Changed) == 0 {
		return stored, *mc.res, nil
	}
	mc.finish()
	return mc.o.Bytes(), *mc.res, nil
}

// MergeInstance applies a 16.x Sync Change of one instance (ServerId +
// InstanceId): the instance becomes, or stays, an override of the series.
func MergeInstance(stored []byte, instanceID time.Time, dev *EASItem, opts MergeOptions) ([]byte, MergeResult, error) {
	var res MergeResult
	mc, err := newMergeCtx(stored, ical.CompEvent, opts, &res)
	if err != nil {
		return nil, res, err
	}
	if res.Created || !mc.o.isRecurring() {
		return nil, res, fmt.Errorf("%w: InstanceId on an item that is not recurring", ErrInvalid)
	}
	res.UID = mc.o.UID()
	if dev == nil {
		dev = &EASItem{}
	}
	if err := mc.applyException(instanceID, false, dev); err != nil {
		return nil, res, err
	}
	return mc.result(stored)
}

// DeleteInstance applies a 16.x Sync Delete with InstanceId: an EXDATE.
func DeleteInstance(stored []byte, instanceID time.Time, opts MergeOptions) ([]byte, MergeResult, error) {
	var res MergeResult
	mc, err := newMergeCtx(stored, ical.CompEvent, opts, &res)
	if err != nil {
		return nil, res, err
	}
	if res.Created || !mc.o.isRecurring() {
		return nil, res, fmt.Errorf("%w: InstanceId on an item that is not recurring", ErrInvalid)
	}
	res.UID = mc.o.UID()
	if err := mc.applyException(instanceID, true, nil); err != nil {
		return nil, res, err
	}
	mc.rescheduled = true
	mc.finish()
	return mc.o.Bytes(), res, nil
}

type mergeCtx struct {
	o           *Object
	opts        MergeOptions
	res         *MergeResult
	touched     map[*ical.Component]bool
	rescheduled bool
	organizer   bool
}

func newMergeCtx(stored []byte, kind string, opts MergeOptions, res *MergeResult) (*mergeCtx, error) {
	mc := &mergeCtx{opts: opts, res: res, touched: map[*ical.Component]bool{}}
	if len(strings.TrimSpace(string(stored))) == 0 {
		cal := ical.NewCalendar()
		prod := opts.ProdID
		if prod == "" {
			prod = DefaultProdID
		}
		cal.Props.Set(&ical.Prop{Name: ical.PropProductID, Params: ical.Params{}, Value: prod})
		cal.Props.Set(&ical.Prop{Name: ical.PropVersion, Params: ical.Params{}, Value: "2.0"})
		c := ical.NewComponent(kind)
		now := opts.now().UTC()
		setRaw(c, ical.PropDateTimeStamp, now.Format("20060102T150405Z"))
		setRaw(c, ical.PropCreated, now.Format("20060102T150405Z"))
		cal.Children = append(cal.Children, c)
		mc.o = &Object{Cal: cal, Master: c, Zones: NewZones(cal)}
		res.Created = true
		mc.touched[c] = true
		return mc, nil
	}
	o, err := ParseObject(stored)
	if err != nil {
		return nil, err
	}
	if o.Master == nil {
		return nil, fmt.Errorf("%w: the stored object has no master component", ErrMalformed)
	}
	mc.o = o
	mc.organizer = o.isOrganizer(o.Master, opts.Account)
	return mc, nil
}

func (o *Object) isRecurring() bool {
	return o.Master != nil && (o.Master.Props.Get(ical.PropRecurrenceRule) != nil || o.Master.Props.Get(ical.PropRecurrenceDates) != nil)
}

func orFalse(p *bool) *bool {
	if p == nil {
		return Ptr(false)
	}
	return p
}

// ghost reports whether an element absent from a Change is deleted: only in
// ≤14.1, only when the client listed it in Supported.
func (mc *mergeCtx) ghost(name string) bool {
	return !mc.res.Created && !mc.opts.Version.is16() && contains(mc.opts.Supported, name)
}

func (mc *mergeCtx) touch(c *ical.Component, name string) {
	mc.touched[c] = true
	mc.res.changed(name)
}

// finish stamps the changed components (RFC 5545 3.8.7.2, 3.8.7.3) and, for
// a meeting the account organises whose time or pattern changed, bumps
// SEQUENCE and asks the attendees again (RFC 5546 2.1.4, RFC 6638 3.2.8).
func (mc *mergeCtx) finish() {
	now := mc.opts.now().UTC().Format("20060102T150405Z")
	mc.organizer = mc.o.Master != nil && mc.o.isOrganizer(mc.o.Master, mc.opts.Account)
	for c := range mc.touched {
		setRaw(c, ical.PropDateTimeStamp, now)
		if !mc.res.Created {
			setRaw(c, ical.PropLastModified, now)
		}
	}
	if mc.rescheduled && mc.organizer && !mc.res.Created && len(mc.o.Master.Props.Values(ical.PropAttendee)) > 0 {
		mc.res.Rescheduled = true
		for _, c := range append([]*ical.Component{mc.o.Master}, mc.o.Overrides...) {
			seq := 0
			if p := c.Props.Get(ical.PropSequence); p != nil {
				seq, _ = strconv.Atoi(strings.TrimSpace(p.Value))
			}
			setRaw(c, ical.PropSequence, strconv.Itoa(seq+1))
			org := ""
			if p := c.Props.Get(ical.PropOrganizer); p != nil {
				org = p.Value
			}
			ps := c.Props[ical.PropAttendee]
			for i := range ps {
				if sameAddr(ps[i].Value, org) || sameAddr(ps[i].Value, mc.opts.Account) {
					continue
				}
				ps[i].Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
				ps[i].Params.Set(ical.ParamRSVP, "TRUE")
			}
		}
	}
}

// applyTimes merges StartTime, EndTime, AllDayEvent and TimeZone.
func (mc *mergeCtx) applyTimes(c *ical.Component, dev EASItem, blob *TimeZone, proj EASItem, master bool) (bool, error) {
	o, opts := mc.o, mc.opts
	if dev.StartTime == nil && dev.EndTime == nil && dev.AllDayEvent == nil && blob == nil && !mc.res.Created {
		return false, nil
	}
	oldStart, _ := o.Start(c)
	oldEnd, _ := o.End(c, oldStart)
	allDay := false
	switch {
	case dev.AllDayEvent != nil:
		allDay = *dev.AllDayEvent
	case proj.AllDayEvent != nil:
		allDay = *proj.AllDayEvent
	}
	var sI, eI time.Time
	switch {
	case dev.StartTime != nil:
		sI = *dev.StartTime
	case proj.StartTime != nil:
		sI = *proj.StartTime
	default:
		// An Add without StartTime: the next half hour ([MS-ASCAL] 3.2.4.4 rounding).
		sI = opts.now().UTC().Truncate(30 * time.Minute).Add(30 * time.Minute)
	}
	switch {
	case dev.EndTime != nil:
		eI = *dev.EndTime
	case proj.EndTime != nil && dev.StartTime == nil:
		eI = *proj.EndTime
	case proj.EndTime != nil && proj.StartTime != nil:
		eI = sI.Add(proj.EndTime.Sub(*proj.StartTime)) // keep the duration
	default:
		eI = sI.Add(30 * time.Minute)
	}
	if eI.Before(sI) {
		return false, fmt.Errorf("%w: EndTime before StartTime", ErrInvalid)
	}
	// The zone: the blob's, preferring the stored zone when its rules fit
	// (clients send the device zone when editing, [eas-pim] §2 pitfalls).
	loc, tzid := opts.zone(), ""
	var custom *TimeZone
	if !oldStart.IsZero() && !oldStart.IsDate && !oldStart.Floating && oldStart.Loc != nil {
		loc, tzid = oldStart.Loc, oldStart.TZID
	}
	if blob != nil && !(allDay && opts.Version.is16()) {
		year := sI.Year()
		if blob.IsZero() {
			if !allDay {
				loc, tzid = time.UTC, ""
			}
		} else if !blob.Fits(loc, year) {
			prefer := opts.UserZone
			l := blob.Location(prefer, year)
			loc, tzid = l, ""
			if LoadZone(l.String()) == nil && l != time.UTC {
				b := *blob
				custom = &b
			}
		}
	}
	var ns, ne DateTime
	if allDay {
		day := func(t time.Time) time.Time {
			if opts.Version.is16() {
				u := t.UTC()
				return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
			}
			l := t.In(loc).Add(12 * time.Hour) // round to the nearest local midnight
			return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
		}
		sd, ed := day(sI), day(eI)
		if !ed.After(sd) {
			ed = sd.AddDate(0, 0, 1)
		}
		ns, ne = DateTime{Wall: sd, IsDate: true}, DateTime{Wall: ed, IsDate: true}
	} else {
		if loc == time.UTC {
			ns, ne = NewDateTimeIn(sI, time.UTC, ""), NewDateTimeIn(eI, time.UTC, "")
		} else {
			if tzid == "" {
				tzid = loc.String()
			}
			ns, ne = NewDateTimeIn(sI, loc, tzid), NewDateTimeIn(eI, loc, tzid)
		}
	}
	changed := false
	if oldStart.IsZero() || ns.IsDate != oldStart.IsDate || !sameDateTime(ns, oldStart, opts.zone()) {
		if ns.TZID != "" {
			mc.ensureVTimezone(ns.TZID, loc, custom, sI)
		}
		setDateTime(c, ical.PropDateTimeStart, ns)
		changed = true
		mc.touch(c, "StartTime")
	}
	if p := c.Props.Get(propAllDay); p != nil && (strings.EqualFold(p.Value, "TRUE") != allDay) {
		p.Value = strings.ToUpper(strconv.FormatBool(allDay))
		mc.touch(c, "AllDayEvent")
	}
	if oldStart.IsZero() || ne.IsDate != oldEnd.IsDate || !sameDateTime(ne, oldEnd, opts.zone()) || changed {
		endName := ical.PropDateTimeEnd
		if c.Name == ical.CompToDo {
			endName = ical.PropDue
		}
		if p := c.Props.Get(ical.PropDuration); p != nil && c.Props.Get(endName) == nil {
			d := ne.Instant(opts.zone()).Sub(ns.Instant(opts.zone()))
			if ns.IsDate {
				d = time.Duration(int(ne.Wall.Sub(ns.Wall).Hours()/24+0.5)) * 24 * time.Hour
			}
			if p.Value != formatDuration(d) {
				p.Value = formatDuration(d)
				changed = true
				mc.touch(c, "EndTime")
			}
		} else if oldStart.IsZero() || !sameDateTime(ne, oldEnd, opts.zone()) || ne.IsDate != oldEnd.IsDate {
			setDateTime(c, endName, ne)
			changed = true
			mc.touch(c, "EndTime")
		}
	}
	if changed && master {
		mc.fixUntil(c, ns)
	}
	return changed && !mc.res.Created, nil
}

// fixUntil keeps UNTIL's type in step with DTSTART (RFC 5545 3.3.10: a DATE
// for a DATE DTSTART, UTC when DTSTART has a zone).
func (mc *mergeCtx) fixUntil(c *ical.Component, start DateTime) {
	p := c.Props.Get(ical.PropRecurrenceRule)
	if p == nil {
		return
	}
	r, err := ParseRule(p.Value)
	if err != nil || r.Until.IsZero() {
		return
	}
	switch {
	case start.IsDate && !r.UntilIsDate:
		r.Until = time.Date(r.Until.Year(), r.Until.Month(), r.Until.Day(), 0, 0, 0, 0, time.UTC)
		r.UntilIsDate, r.UntilUTC = true, false
	case !start.IsDate && r.UntilIsDate:
		loc := start.Loc
		if loc == nil {
			loc = mc.opts.zone()
		}
		r.Until = wallToInstant(r.Until.Add(24*time.Hour-time.Second), loc).UTC()
		r.UntilIsDate, r.UntilUTC = false, true
	default:
		return
	}
	p.Value = r.String()
}

// ensureVTimezone adds a VTIMEZONE for tzid unless the object has one.
func (mc *mergeCtx) ensureVTimezone(tzid string, loc *time.Location, custom *TimeZone, at time.Time) {
	if mc.o.Zones.VTimezone(tzid) != nil {
		return
	}
	var vtz *ical.Component
	if custom != nil {
		vtz = custom.VTimezone(tzid)
	} else {
		vtz = NewTimeZone(loc, at).VTimezone(tzid)
	}
	cal := mc.o.Cal
	cal.Children = append([]*ical.Component{vtz}, cal.Children...)
	mc.o.Zones.vtz[tzid] = vtz
	mc.o.Zones.cache[tzid] = loc
}

// applyItem merges the elements other than the times.
func (mc *mergeCtx) applyItem(c *ical.Component, dev, proj EASItem, master bool) {
	v := mc.opts.Version
	ghost := func(name string) bool { return master && mc.ghost(name) }
	// Subject
	switch {
	case dev.Subject != nil && !eqPtr(dev.Subject, orZero(proj.Subject)):
		if *dev.Subject == "" {
			c.Props.Del(ical.PropSummary)
		} else {
			setText(c, ical.PropSummary, *dev.Subject)
		}
		mc.touch(c, "Subject")
	case dev.Subject == nil && proj.Subject != nil && ghost("Subject"):
		c.Props.Del(ical.PropSummary)
		mc.touch(c, "Subject")
	}
	// Body
	switch {
	case dev.Body != nil:
		mc.applyBody(c, *dev.Body, proj.Body)
	case proj.Body != nil && ghost("Body"):
		c.Props.Del(ical.PropDescription)
		c.Props.Del(propAltDesc)
		mc.touch(c, "Body")
	}
	// Location (≤14.1) and the 16.x container.
	switch {
	case dev.Location != nil && !v.is16():
		if !eqPtr(dev.Location, orZero(proj.Location)) {
			if *dev.Location == "" {
				c.Props.Del(ical.PropLocation)
			} else {
				setText(c, ical.PropLocation, *dev.Location)
			}
			mc.touch(c, "Location")
		}
	case dev.LocationInfo != nil:
		mc.applyLocationInfo(c, *dev.LocationInfo, proj.LocationInfo)
	case dev.Location != nil && v.is16():
		if !eqPtr(dev.Location, orZero(projLocName(proj))) {
			setText(c, ical.PropLocation, *dev.Location)
			mc.touch(c, "Location")
		}
	case (proj.Location != nil || proj.LocationInfo != nil) && ghost("Location"):
		c.Props.Del(ical.PropLocation)
		mc.touch(c, "Location")
	}
	// Attendees
	switch {
	case dev.Attendees != nil:
		mc.applyAttendees(c, *dev.Attendees, master)
	case proj.Attendees != nil && ghost("Attendees"):
		mc.applyAttendees(c, nil, master)
	}
	// BusyStatus
	if dev.BusyStatus != nil && !eqPtr(dev.BusyStatus, proj.BusyStatus) {
		b := *dev.BusyStatus
		if b < 0 || b >= len(busyNames) {
			b = 2
		}
		setRaw(c, propBusy, busyNames[b])
		transp := "OPAQUE"
		if b == 0 || b == 4 {
			transp = "TRANSPARENT"
		}
		setRaw(c, ical.PropTransparency, transp)
		mc.touch(c, "BusyStatus")
	}
	// Sensitivity
	if dev.Sensitivity != nil && !eqPtr(dev.Sensitivity, orZero(proj.Sensitivity)) {
		classes := []string{"PUBLIC", "X-PERSONAL", "PRIVATE", "CONFIDENTIAL"}
		s := *dev.Sensitivity
		if s < 0 || s > 3 {
			s = 0
		}
		setRaw(c, ical.PropClass, classes[s])
		mc.touch(c, "Sensitivity")
	} else if dev.Sensitivity == nil && ghost("Sensitivity") && c.Props.Get(ical.PropClass) != nil {
		c.Props.Del(ical.PropClass)
		mc.touch(c, "Sensitivity")
	}
	// Reminder
	switch {
	case dev.Reminder != nil:
		mc.applyReminder(c, *dev.Reminder, proj.Reminder)
	case proj.Reminder != nil && ghost("Reminder"):
		mc.applyReminder(c, ReminderNone, proj.Reminder)
	}
	// Categories
	switch {
	case dev.Categories != nil:
		if !eqSlice(dev.Categories, proj.Categories) {
			c.Props.Del(ical.PropCategories)
			if len(*dev.Categories) > 0 {
				vals := make([]string, 0, len(*dev.Categories))
				for i, s := range *dev.Categories {
					if i >= 300 {
						break
					}
					vals = append(vals, escapeText(s))
				}
				setRaw(c, ical.PropCategories, strings.Join(vals, ","))
			}
			mc.touch(c, "Categories")
		}
	case proj.Categories != nil && ghost("Categories"):
		c.Props.Del(ical.PropCategories)
		mc.touch(c, "Categories")
	}
	// MeetingStatus: only the cancelled bit means something from a device.
	if dev.MeetingStatus != nil && proj.MeetingStatus != nil && *dev.MeetingStatus&4 != 0 && *proj.MeetingStatus&4 == 0 && mc.o.isOrganizer(c, mc.opts.Account) {
		setRaw(c, ical.PropStatus, "CANCELLED")
		mc.res.Cancelled = true
		mc.touch(c, "MeetingStatus")
	}
}

func projLocName(p EASItem) *string {
	if p.LocationInfo != nil {
		return &p.LocationInfo.DisplayName
	}
	return p.Location
}

func (mc *mergeCtx) applyBody(c *ical.Component, b EASBody, proj *EASBody) {
	if proj == nil {
		proj = &EASBody{}
	}
	if b.Text == proj.Text && (b.HTML == "" || b.HTML == proj.HTML) {
		return
	}
	if b.Text == "" && b.HTML != "" && b.HTML == proj.HTML {
		return
	}
	switch {
	case b.Text == "" && b.HTML == "":
		c.Props.Del(ical.PropDescription)
		c.Props.Del(propAltDesc)
	case b.HTML != "":
		p := ical.Prop{Name: propAltDesc, Params: ical.Params{}, Value: escapeText(b.HTML)}
		p.Params.Set(ical.ParamFormatType, "text/html")
		c.Props.Set(&p)
		text := b.Text
		if text == "" {
			text = htmlToText(b.HTML)
		}
		setText(c, ical.PropDescription, text)
	default:
		setText(c, ical.PropDescription, b.Text)
		c.Props.Del(propAltDesc) // the HTML no longer says the same
	}
	mc.touch(c, "Body")
}

var (
	reBreak = regexp.MustCompile(`(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6])\s*/?>`)
	reTag   = regexp.MustCompile(`<[^>]*>`)
	reBlank = regexp.MustCompile(`\n{3,}`)
)

// htmlToText is a plain rendering of an HTML body for DESCRIPTION.
func htmlToText(s string) string {
	s = reBreak.ReplaceAllString(s, "\n")
	s = reTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = reBlank.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

func (mc *mergeCtx) applyLocationInfo(c *ical.Component, l EASLocation, proj *EASLocation) {
	if proj != nil && eqLoc(&l, proj) {
		return
	}
	if proj == nil && l.isEmpty() {
		return
	}
	if l.isEmpty() {
		// An empty container deletes the location ([MS-ASAIRS] 2.2.2.27).
		c.Props.Del(ical.PropLocation)
		c.Props.Del(ical.PropGeo)
		for _, f := range locFields(&EASLocation{}) {
			c.Props.Del(propLocPrefix + f.name)
		}
		mc.touch(c, "Location")
		return
	}
	setText(c, ical.PropLocation, l.DisplayName)
	if p := c.Props.Get(ical.PropLocation); p != nil {
		if l.LocationURI != "" {
			p.Params.Set(ical.ParamAltRep, l.LocationURI)
		} else {
			p.Params.Del(ical.ParamAltRep)
		}
	}
	if l.Latitude != nil && l.Longitude != nil {
		setRaw(c, ical.PropGeo, fmtFloat(*l.Latitude)+";"+fmtFloat(*l.Longitude))
	} else {
		c.Props.Del(ical.PropGeo)
	}
	for _, f := range locFields(&l) {
		name := propLocPrefix + f.name
		switch {
		case f.s != nil && *f.s != "":
			setText(c, name, *f.s)
		case f.f != nil && *f.f != nil:
			setRaw(c, name, fmtFloat(**f.f))
		default:
			c.Props.Del(name)
		}
	}
	mc.touch(c, "Location")
}

// applyAttendees merges the device's attendee list by address, keeping each
// stored ATTENDEE's parameters ([eas-pim] §7 "Attendee status reset"). The
// device can set a status only before 16.x, where the server owns PARTSTAT.
func (mc *mergeCtx) applyAttendees(c *ical.Component, list []EASAttendee, master bool) {
	org := ""
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		org = p.Value
	}
	old := c.Props[ical.PropAttendee]
	want := map[string]EASAttendee{}
	var order []string
	for _, a := range list {
		k := strings.ToLower(mailAddr(a.Email))
		if k == "" || sameAddr(k, org) {
			continue
		}
		if _, dup := want[k]; !dup {
			order = append(order, k)
		}
		want[k] = a
	}
	changed := false
	var kept []ical.Prop
	seen := map[string]bool{}
	for _, p := range old {
		k := strings.ToLower(mailAddr(p.Value))
		a, ok := want[k]
		switch {
		case sameAddr(p.Value, org):
			kept = append(kept, p) // the organizer's own line is not the device's to edit
			continue
		case !ok:
			mc.res.AttendeesRemoved = append(mc.res.AttendeesRemoved, mailAddr(p.Value))
			changed = true
			continue
		}
		seen[k] = true
		if a.Name != "" && a.Name != p.Params.Get(ical.ParamCommonName) {
			p.Params.Set(ical.ParamCommonName, a.Name)
			changed = true
		}
		if a.Type != 0 && a.Type != attendeeType(&p) {
			setAttendeeType(&p, a.Type)
			changed = true
		}
		if !mc.opts.Version.is16() && a.Status >= 2 && a.Status <= 4 &&
			a.Status != statusOfPartstat(p.Params.Get(ical.ParamParticipationStatus)) {
			p.Params.Set(ical.ParamParticipationStatus, partstatOfStatus(a.Status))
			changed = true
		}
		kept = append(kept, p)
	}
	for _, k := range order {
		if seen[k] {
			continue
		}
		a := want[k]
		p := ical.Prop{Name: ical.PropAttendee, Params: ical.Params{}, Value: "mailto:" + mailAddr(a.Email)}
		if a.Name != "" {
			p.Params.Set(ical.ParamCommonName, a.Name)
		}
		setAttendeeType(&p, max(a.Type, 1))
		p.Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
		p.Params.Set(ical.ParamRSVP, "TRUE")
		kept = append(kept, p)
		mc.res.AttendeesAdded = append(mc.res.AttendeesAdded, mailAddr(a.Email))
		changed = true
	}
	if !changed {
		return
	}
	if len(kept) == 0 {
		c.Props.Del(ical.PropAttendee)
	} else {
		c.Props[ical.PropAttendee] = kept
	}
	if c.Props.Get(ical.PropOrganizer) == nil && len(kept) > 0 && mc.opts.Account != "" {
		// Inviting people makes the account the organizer.
		c.Props.Set(&ical.Prop{Name: ical.PropOrganizer, Params: ical.Params{}, Value: "mailto:" + mc.opts.Account})
	}
	mc.touch(c, "Attendees")
}

func setAttendeeType(p *ical.Prop, t int) {
	switch t {
	case 3:
		p.Params.Set(ical.ParamCalendarUserType, "RESOURCE")
		p.Params.Set(ical.ParamRole, "NON-PARTICIPANT")
	case 2:
		if strings.EqualFold(p.Params.Get(ical.ParamCalendarUserType), "RESOURCE") {
			p.Params.Del(ical.ParamCalendarUserType)
		}
		p.Params.Set(ical.ParamRole, "OPT-PARTICIPANT")
	default:
		if strings.EqualFold(p.Params.Get(ical.ParamCalendarUserType), "RESOURCE") {
			p.Params.Del(ical.ParamCalendarUserType)
		}
		p.Params.Set(ical.ParamRole, "REQ-PARTICIPANT")
	}
}

// applyReminder sets the first alarm's trigger, adds an alarm, or removes
// the alarms ([eas-pim] §1 Reminder). Other alarms stay while a reminder is
// set.
func (mc *mergeCtx) applyReminder(c *ical.Component, minutes int, proj *int) {
	if proj != nil && *proj == minutes {
		return
	}
	if minutes < 0 {
		if proj == nil {
			return
		}
		var rest []*ical.Component
		for _, ch := range c.Children {
			if ch.Name != ical.CompAlarm {
				rest = append(rest, ch)
			}
		}
		c.Children = rest
		mc.touch(c, "Reminder")
		return
	}
	trigger := formatDuration(-time.Duration(minutes) * time.Minute)
	for _, ch := range c.Children {
		if ch.Name != ical.CompAlarm || ch.Props.Get(ical.PropTrigger) == nil {
			continue
		}
		p := ch.Props.Get(ical.PropTrigger)
		p.Params.Del(ical.ParamRelated)
		p.Params.Del(ical.ParamValue)
		p.Value = trigger
		mc.touch(c, "Reminder")
		return
	}
	a := ical.NewComponent(ical.CompAlarm)
	setRaw(a, ical.PropAction, "DISPLAY")
	setText(a, ical.PropDescription, "Reminder")
	setRaw(a, ical.PropTrigger, trigger)
	c.Children = append(c.Children, a)
	mc.touch(c, "Reminder")
}

// applyRecurrence merges the Recurrence element. It reports whether the
// pattern changed.
func (mc *mergeCtx) applyRecurrence(m *ical.Component, dev, proj *EASRecurrence, start DateTime) (bool, error) {
	switch {
	case dev == nil:
		if proj != nil && mc.ghost("Recurrence") {
			mc.removeRecurrence(m)
			return true, nil
		}
		return false, nil
	case dev.Empty:
		if m.Props.Get(ical.PropRecurrenceRule) == nil && m.Props.Get(ical.PropRecurrenceDates) == nil {
			return false, nil
		}
		mc.removeRecurrence(m)
		return true, nil
	case proj != nil && sameRecurrence(dev, proj):
		// The device's pattern is what it was sent: keep the stored RRULE,
		// however lossy the pattern was (invariant 2).
		mc.res.RecurrenceKept = true
		return false, nil
	}
	rule, err := RuleFromRecurrence(*dev, start, mc.opts.Version, mc.opts.zone())
	if err != nil {
		return false, err
	}
	setRaw(m, ical.PropRecurrenceRule, rule.String())
	m.Props.Del(ical.PropRecurrenceDates)
	mc.touch(m, "Recurrence")
	return proj != nil || !mc.res.Created, nil
}

func (mc *mergeCtx) removeRecurrence(m *ical.Component) {
	m.Props.Del(ical.PropRecurrenceRule)
	m.Props.Del(ical.PropRecurrenceDates)
	mc.dropExceptions()
	mc.touch(m, "Recurrence")
}

// dropExceptions removes EXDATEs and overrides.
func (mc *mergeCtx) dropExceptions() {
	o := mc.o
	if o.Master.Props.Get(ical.PropExceptionDates) != nil || len(o.Overrides) > 0 {
		mc.touch(o.Master, "Exceptions")
	}
	o.Master.Props.Del(ical.PropExceptionDates)
	drop := map[*ical.Component]bool{}
	for _, ov := range o.Overrides {
		drop[ov] = true
		delete(mc.touched, ov)
	}
	var rest []*ical.Component
	for _, ch := range o.Cal.Children {
		if !drop[ch] {
			rest = append(rest, ch)
		}
	}
	o.Cal.Children = rest
	o.Overrides = nil
}

// shiftOverrides moves the RECURRENCE-IDs and EXDATEs of a series whose
// DTSTART moved by the same offset, so they keep naming their instances.
func (mc *mergeCtx) shiftOverrides(oldStart, newStart DateTime) {
	if oldStart.IsDate != newStart.IsDate {
		mc.dropExceptions()
		return
	}
	delta := newStart.Wall.Sub(oldStart.Wall)
	if delta == 0 && oldStart.TZID == newStart.TZID {
		return
	}
	z := mc.opts.zone()
	move := func(d DateTime) DateTime {
		n := newStart
		if d.IsDate {
			n.Wall = d.Wall.Add(delta)
			return n
		}
		w := asWallIn(d.Instant(z), oldStart)
		n.Wall = w.Add(delta)
		return n
	}
	m := mc.o.Master
	if ex := m.Props.Values(ical.PropExceptionDates); len(ex) > 0 {
		ds, _ := mc.o.Zones.DateTimesOf(ex)
		m.Props.Del(ical.PropExceptionDates)
		for _, d := range ds {
			m.Props.Add(Ptr(dateTimeProp(ical.PropExceptionDates, move(d))))
		}
	}
	for _, ov := range mc.o.Overrides {
		p := ov.Props.Get(ical.PropRecurrenceID)
		d, err := mc.o.Zones.DateTimeOf(p)
		if err != nil && d.IsZero() {
			continue
		}
		fillDateTimeProp(p, move(d))
		mc.touched[ov] = true
	}
}

// ridFor turns an ExceptionStartTime or InstanceId into a RECURRENCE-ID in
// the master's form: a date for all-day series, else the master's zone
// ([eas-pim] §3 Exceptions).
func (mc *mergeCtx) ridFor(t time.Time, start DateTime) DateTime {
	z := mc.opts.zone()
	switch {
	case start.IsDate:
		var l time.Time
		if mc.opts.Version.is16() {
			l = t.UTC()
		} else {
			l = t.In(z).Add(12 * time.Hour)
		}
		return DateTime{Wall: time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), IsDate: true}
	case start.Floating:
		return DateTime{Wall: asWall(t.In(z)), Floating: true}
	case start.Loc == nil || start.Loc == time.UTC:
		return NewDateTimeIn(t, time.UTC, "")
	}
	return NewDateTimeIn(t, start.Loc, start.TZID)
}

// applyException applies one Exception (or a 16.x instance change): Deleted
// adds an EXDATE and removes an override; otherwise the override is created
// from the master or updated with the elements present.
func (mc *mergeCtx) applyException(at time.Time, deleted bool, dev *EASItem) error {
	o := mc.o
	m := o.Master
	start, err := o.Start(m)
	if err != nil && start.IsZero() {
		return err
	}
	if at.IsZero() {
		return fmt.Errorf("%w: Exception without ExceptionStartTime", ErrInvalid)
	}
	rid := mc.ridFor(at, start)
	ov := o.Override(rid, mc.opts.zone())
	if deleted {
		if ov != nil {
			mc.removeOverride(ov)
		}
		ex, _ := o.Zones.DateTimesOf(m.Props.Values(ical.PropExceptionDates))
		for _, d := range ex {
			if sameDateTime(d, rid, mc.opts.zone()) {
				return nil
			}
		}
		m.Props.Add(Ptr(dateTimeProp(ical.PropExceptionDates, rid)))
		mc.touch(m, "Exceptions")
		mc.rescheduled = true
		return nil
	}
	if ov == nil {
		ov = Clone(m)
		for _, n := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, ical.PropDuration} {
			ov.Props.Del(n)
		}
		end, _ := o.End(m, start)
		dur := end.Wall.Sub(start.Wall)
		ov.Props.Set(Ptr(dateTimeProp(ical.PropRecurrenceID, rid)))
		setDateTime(ov, ical.PropDateTimeStart, rid)
		e := rid
		if rid.IsDate {
			e.Wall = rid.Wall.Add(dur)
		} else {
			e.Wall = asWallIn(rid.Instant(mc.opts.zone()).Add(end.Instant(mc.opts.zone()).Sub(start.Instant(mc.opts.zone()))), rid)
		}
		setDateTime(ov, ical.PropDateTimeEnd, e)
		// Insert after the master.
		var out []*ical.Component
		for _, ch := range o.Cal.Children {
			out = append(out, ch)
			if ch == m {
				out = append(out, ov)
			}
		}
		o.Cal.Children = out
		o.Overrides = append(o.Overrides, ov)
		mc.touch(ov, "Exceptions")
	}
	if dev == nil {
		return nil
	}
	proj, _, err := o.itemOf(ov, mc.opts.EASOptions)
	if err != nil {
		return err
	}
	before := len(mc.res.Changed)
	changed, err := mc.applyTimes(ov, *dev, nil, proj, false)
	if err != nil {
		return err
	}
	if changed {
		mc.rescheduled = true
	}
	mc.applyItem(ov, *dev, proj, false)
	if len(mc.res.Changed) > before {
		mc.touched[ov] = true
		mc.res.changed("Exceptions")
	}
	return nil
}

func (mc *mergeCtx) removeOverride(ov *ical.Component) {
	o := mc.o
	var rest []*ical.Component
	for _, ch := range o.Cal.Children {
		if ch != ov {
			rest = append(rest, ch)
		}
	}
	o.Cal.Children = rest
	var ovs []*ical.Component
	for _, x := range o.Overrides {
		if x != ov {
			ovs = append(ovs, x)
		}
	}
	o.Overrides = ovs
	delete(mc.touched, ov)
	mc.touch(o.Master, "Exceptions")
}

func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
