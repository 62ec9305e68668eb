package calendar

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Ptr returns a pointer to v, for filling the optional fields of EASEvent.
func Ptr[T any](v T) *T { return &v }

// ReminderNone is the Reminder value of an empty Reminder element (14.1+):
// no reminder.
const ReminderNone = -1

// Properties Gatehouse adds for what neither iCalendar nor Microsoft's
// extensions name.
const (
	propClientUID = "X-GATEHOUSE-CLIENTUID"      // [MS-ASCAL] 2.2.2.10 ClientUid (16.x dedupe key)
	propReplyTime = "X-GATEHOUSE-REPLYTIME"      // AppointmentReplyTime
	propLocPrefix = "X-GATEHOUSE-LOCATION-"      // 16.x Location container parts
	propBusy      = "X-MICROSOFT-CDO-BUSYSTATUS" // BusyStatus as Outlook writes it
	propAllDay    = "X-MICROSOFT-CDO-ALLDAYEVENT"
	propNoCounter = "X-MICROSOFT-DISALLOW-COUNTER"
	propAltDesc   = "X-ALT-DESC"
)

// EASAttendee is one Attendee element ([MS-ASCAL] 2.2.2.3).
type EASAttendee struct {
	Email  string
	Name   string
	Status int // AttendeeStatus: 0 unknown, 2 tentative, 3 accepted, 4 declined, 5 not responded
	Type   int // AttendeeType: 1 required, 2 optional, 3 resource
}

// EASLocation is the 16.x airsyncbase:Location container ([MS-ASAIRS] 2.2.2.27).
type EASLocation struct {
	DisplayName, Annotation, Street, City, State, Country, PostalCode string
	Latitude, Longitude, Accuracy, Altitude, AltitudeAccuracy         *float64
	LocationURI                                                       string
}

func (l EASLocation) isEmpty() bool { return l == EASLocation{} }

// EASBody is the text of an event: both forms when the stored event has
// them. The front end picks one by the device's BodyPreference; a device's
// change fills one of them.
type EASBody struct {
	Text string // Type 1
	HTML string // Type 2
}

// EASItem holds the elements an event and its exceptions share. A nil field
// is an absent element; a pointer to the zero value is an empty element.
type EASItem struct {
	AllDayEvent               *bool
	StartTime, EndTime        *time.Time
	DtStamp                   *time.Time
	Subject                   *string
	Body                      *EASBody
	Location                  *string      // ≤14.1
	LocationInfo              *EASLocation // 16.x
	Attendees                 *[]EASAttendee
	BusyStatus                *int // 0 free, 1 tentative, 2 busy, 3 out of office, 4 working elsewhere
	Sensitivity               *int // 0 normal, 1 personal, 2 private, 3 confidential
	Reminder                  *int // minutes before the start; ReminderNone for none
	MeetingStatus             *int // bits: 1 meeting, 2 received, 4 cancelled
	Categories                *[]string
	ResponseType              *int // 0 none, 1 organizer, 2 tentative, 3 accepted, 4 declined, 5 not responded
	AppointmentReplyTime      *time.Time
	OnlineMeetingConfLink     *string
	OnlineMeetingExternalLink *string
}

// EASEvent is a Calendar item as ActiveSync carries it ([MS-ASCAL] 2.2.2),
// independent of WBXML.
type EASEvent struct {
	EASItem
	TimeZone                *TimeZone
	UID                     *string
	ClientUID               *string
	OrganizerName           *string
	OrganizerEmail          *string
	ResponseRequested       *bool
	DisallowNewTimeProposal *bool
	Recurrence              *EASRecurrence
	Exceptions              *[]EASException
}

// EASException is one Exception element ([MS-ASCAL] 2.2.2.20): the changed
// elements of one instance. ExceptionStartTime (≤14.1) or InstanceId (16.x)
// is the instance's original start in UTC; for an all-day series in 16.x,
// its date at 00:00Z.
type EASException struct {
	EASItem
	Deleted            bool
	ExceptionStartTime time.Time
}

// EASOptions is what a conversion needs to know about its reader.
type EASOptions struct {
	Version  Version
	Account  string         // the account's address: decides organizer and ResponseType
	UserZone *time.Location // reads floating times; zone of all-day events in ≤14.1; UTC when nil
	Now      time.Time      // zero means time.Now()
}

func (o EASOptions) zone() *time.Location {
	if o.UserZone == nil {
		return time.UTC
	}
	return o.UserZone
}

func (o EASOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// MaxExceptions is the number of exceptions ActiveSync carries ([eas-pim] §3).
const MaxExceptions = 256

// EventToEAS reads a stored VEVENT object as ActiveSync Calendar elements for
// a protocol version.
func EventToEAS(data []byte, opts EASOptions) (*EASEvent, error) {
	o, err := ParseObject(data)
	if err != nil {
		return nil, err
	}
	return o.ToEAS(opts)
}

// ToEAS converts the object (master, overrides, EXDATEs) to an EASEvent.
func (o *Object) ToEAS(opts EASOptions) (*EASEvent, error) {
	m := o.Primary()
	ev := &EASEvent{}
	item, start, err := o.itemOf(m, opts)
	if err != nil {
		return nil, err
	}
	ev.EASItem = item
	if uid := o.UID(); uid != "" {
		ev.UID = Ptr(uid)
	}
	if v, ok := propText(m, propClientUID); ok {
		ev.ClientUID = Ptr(v)
	}
	if p := m.Props.Get(ical.PropOrganizer); p != nil {
		ev.OrganizerEmail = Ptr(mailAddr(p.Value))
		if cn := p.Params.Get(ical.ParamCommonName); cn != "" {
			ev.OrganizerName = Ptr(cn)
		}
	}
	if p := o.accountAttendee(m, opts.Account); p != nil && !o.isOrganizer(m, opts.Account) {
		ev.ResponseRequested = Ptr(strings.EqualFold(p.Params.Get(ical.ParamRSVP), "TRUE"))
	}
	if p := m.Props.Get(propNoCounter); p != nil {
		ev.DisallowNewTimeProposal = Ptr(strings.EqualFold(p.Value, "TRUE"))
	}
	// TimeZone: the zone of DTSTART; for all-day events the user's zone in
	// ≤14.1 and none in 16.x ([eas-pim] §1).
	if !(start.IsDate && opts.Version.is16()) {
		at := start.Instant(opts.zone())
		if m.Props.Get(ical.PropRecurrenceRule) != nil {
			at = time.Date(opts.now().Year(), 7, 1, 0, 0, 0, 0, time.UTC) // series: the current year's rules
		}
		tz := o.blobFor(start, at, opts)
		ev.TimeZone = &tz
	}
	if o.Master != nil {
		if err := o.recurrenceToEAS(ev, start, opts); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// blobFor returns the TimeZone blob of a DTSTART.
func (o *Object) blobFor(start DateTime, at time.Time, opts EASOptions) TimeZone {
	switch {
	case start.IsDate || start.Floating || start.Loc == nil:
		return NewTimeZone(opts.zone(), at)
	case start.Loc == time.UTC:
		return TimeZone{StandardName: "UTC", DaylightName: "UTC"}
	}
	if LoadZone(start.TZID) == nil {
		if vtz := o.Zones.VTimezone(start.TZID); vtz != nil {
			if tz, err := TimeZoneFromVTimezone(vtz, at.Year()); err == nil {
				return tz
			}
		}
	}
	return NewTimeZone(start.Loc, at)
}

// itemOf reads the shared elements of one VEVENT.
func (o *Object) itemOf(c *ical.Component, opts EASOptions) (EASItem, DateTime, error) {
	var it EASItem
	start, err := o.Start(c)
	if err != nil && start.IsZero() {
		return it, start, err
	}
	end, _ := o.End(c, start)
	zone := opts.zone()
	it.AllDayEvent = Ptr(start.IsDate)
	st, en := o.easTimes(start, end, opts)
	it.StartTime, it.EndTime = &st, &en
	if p := c.Props.Get(ical.PropDateTimeStamp); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil {
			it.DtStamp = Ptr(d.Instant(zone).UTC())
		}
	}
	if v, ok := propText(c, ical.PropSummary); ok {
		it.Subject = Ptr(v)
	}
	if b := bodyOf(c); b != nil {
		it.Body = b
	}
	if v, ok := propText(c, ical.PropLocation); ok {
		if opts.Version.is16() {
			it.LocationInfo = locationOf(c, v)
		} else {
			it.Location = Ptr(v)
		}
	}
	if ats := o.attendeesOf(c); len(ats) > 0 {
		it.Attendees = &ats
	}
	it.BusyStatus = Ptr(o.busyStatus(c, opts))
	it.Sensitivity = Ptr(sensitivityOf(c))
	if r, ok := reminderOf(c, start, end, zone); ok {
		it.Reminder = Ptr(r)
	}
	if cats := categoriesOf(c); len(cats) > 0 {
		it.Categories = &cats
	}
	ms := o.meetingStatus(c, opts.Account)
	it.MeetingStatus = Ptr(ms)
	if ms != 0 {
		it.ResponseType = Ptr(o.responseType(c, opts.Account))
	}
	if p := c.Props.Get(propReplyTime); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil {
			it.AppointmentReplyTime = Ptr(d.Instant(zone).UTC())
		}
	}
	if opts.Version >= V141 {
		if p := c.Props.Get(ical.PropConference); p != nil {
			it.OnlineMeetingConfLink = Ptr(p.Value)
		}
		if p := c.Props.Get(ical.PropURL); p != nil {
			it.OnlineMeetingExternalLink = Ptr(p.Value)
		}
	}
	return it, start, nil
}

// easTimes gives StartTime and EndTime: instants for timed events; for
// all-day events midnight in the user's zone (≤14.1) or the date at 00:00Z
// (16.x) ([MS-ASCAL] 2.2.2.1, [eas-pim] §1).
func (o *Object) easTimes(start, end DateTime, opts EASOptions) (time.Time, time.Time) {
	if start.IsDate {
		s := start.Wall
		e := end.Wall
		if !end.IsDate {
			e = time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
		}
		if !e.After(s) {
			e = s.AddDate(0, 0, 1)
		}
		if opts.Version.is16() {
			return s, e
		}
		return wallToInstant(s, opts.zone()).UTC(), wallToInstant(e, opts.zone()).UTC()
	}
	s := start.Instant(opts.zone()).UTC()
	e := end.Instant(opts.zone()).UTC()
	if e.Before(s) {
		e = s
	}
	return s, e
}

func bodyOf(c *ical.Component) *EASBody {
	var b EASBody
	have := false
	if v, ok := propText(c, ical.PropDescription); ok {
		b.Text, have = v, true
	}
	for _, p := range c.Props.Values(propAltDesc) {
		if strings.EqualFold(p.Params.Get(ical.ParamFormatType), "text/html") {
			b.HTML, have = unescapeText(p.Value), true
		}
	}
	if !have {
		return nil
	}
	return &b
}

func locationOf(c *ical.Component, name string) *EASLocation {
	l := &EASLocation{DisplayName: name}
	if p := c.Props.Get(ical.PropLocation); p != nil {
		l.LocationURI = p.Params.Get(ical.ParamAltRep)
	}
	if p := c.Props.Get(ical.PropGeo); p != nil {
		if lat, lon, ok := strings.Cut(p.Value, ";"); ok {
			if f, err := strconv.ParseFloat(lat, 64); err == nil {
				l.Latitude = Ptr(f)
			}
			if f, err := strconv.ParseFloat(lon, 64); err == nil {
				l.Longitude = Ptr(f)
			}
		}
	}
	for _, f := range locFields(l) {
		if v, ok := propText(c, propLocPrefix+f.name); ok {
			if f.s != nil {
				*f.s = v
			} else if x, err := strconv.ParseFloat(v, 64); err == nil {
				*f.f = Ptr(x)
			}
		}
	}
	return l
}

type locField struct {
	name string
	s    *string
	f    **float64
}

// locFields lists the container parts kept in X-GATEHOUSE-LOCATION-*
// properties ([eas-pim] §1: "Address parts go to X- properties").
func locFields(l *EASLocation) []locField {
	return []locField{
		{"ANNOTATION", &l.Annotation, nil}, {"STREET", &l.Street, nil}, {"CITY", &l.City, nil},
		{"STATE", &l.State, nil}, {"COUNTRY", &l.Country, nil}, {"POSTALCODE", &l.PostalCode, nil},
		{"ACCURACY", nil, &l.Accuracy}, {"ALTITUDE", nil, &l.Altitude}, {"ALTITUDEACCURACY", nil, &l.AltitudeAccuracy},
	}
}

func mailAddr(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		v = v[7:]
	}
	return v
}

func sameAddr(a, b string) bool {
	return a != "" && strings.EqualFold(mailAddr(a), mailAddr(b))
}

// partstat <-> AttendeeStatus and ResponseType ([MS-ASCAL] 2.2.2.4, 2.2.2.39).
func statusOfPartstat(ps string) int {
	switch strings.ToUpper(ps) {
	case "ACCEPTED":
		return 3
	case "TENTATIVE":
		return 2
	case "DECLINED":
		return 4
	case "NEEDS-ACTION", "":
		return 5
	}
	return 0
}

func partstatOfStatus(s int) string {
	switch s {
	case 2:
		return "TENTATIVE"
	case 3:
		return "ACCEPTED"
	case 4:
		return "DECLINED"
	}
	return "NEEDS-ACTION"
}

func attendeeType(p *ical.Prop) int {
	switch strings.ToUpper(p.Params.Get(ical.ParamCalendarUserType)) {
	case "RESOURCE", "ROOM":
		return 3
	}
	switch strings.ToUpper(p.Params.Get(ical.ParamRole)) {
	case "OPT-PARTICIPANT", "NON-PARTICIPANT":
		return 2
	}
	return 1
}

func (o *Object) attendeesOf(c *ical.Component) []EASAttendee {
	org := ""
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		org = p.Value
	}
	var out []EASAttendee
	for _, p := range c.Props.Values(ical.PropAttendee) {
		if sameAddr(p.Value, org) {
			continue // the organizer is not an Attendee in ActiveSync
		}
		out = append(out, EASAttendee{
			Email:  mailAddr(p.Value),
			Name:   p.Params.Get(ical.ParamCommonName),
			Status: statusOfPartstat(p.Params.Get(ical.ParamParticipationStatus)),
			Type:   attendeeType(&p),
		})
	}
	return out
}

func (o *Object) isOrganizer(c *ical.Component, account string) bool {
	p := c.Props.Get(ical.PropOrganizer)
	return p != nil && sameAddr(p.Value, account)
}

func (o *Object) accountAttendee(c *ical.Component, account string) *ical.Prop {
	if account == "" {
		return nil
	}
	ps := c.Props[ical.PropAttendee]
	for i := range ps {
		if sameAddr(ps[i].Value, account) {
			return &ps[i]
		}
	}
	return nil
}

// meetingStatus derives MeetingStatus ([MS-ASCAL] 2.2.2.29): 0 for an
// appointment; 1 a meeting the account organises, 3 one it received; +4
// when cancelled.
func (o *Object) meetingStatus(c *ical.Component, account string) int {
	if c.Props.Get(ical.PropOrganizer) == nil && len(c.Props.Values(ical.PropAttendee)) == 0 {
		return 0
	}
	ms := 1
	if account != "" && !o.isOrganizer(c, account) {
		ms = 3
	}
	if v, _ := propText(c, ical.PropStatus); strings.EqualFold(v, "CANCELLED") {
		ms |= 4
	}
	return ms
}

func (o *Object) responseType(c *ical.Component, account string) int {
	if o.isOrganizer(c, account) {
		return 1
	}
	p := o.accountAttendee(c, account)
	if p == nil {
		return 0
	}
	return statusOfPartstat(p.Params.Get(ical.ParamParticipationStatus))
}

var busyNames = []string{"FREE", "TENTATIVE", "BUSY", "OOF", "WORKINGELSEWHERE"}

// busyStatus reads X-MICROSOFT-CDO-BUSYSTATUS, else TRANSP and STATUS; an
// invitation the account has not answered shows as tentative.
func (o *Object) busyStatus(c *ical.Component, opts EASOptions) int {
	if v, ok := propText(c, propBusy); ok {
		if i := indexOf(busyNames, strings.ToUpper(v)); i >= 0 {
			if i == 4 && opts.Version < V160 {
				return 0 // WORKINGELSEWHERE is 16.0+; older clients know it as free
			}
			return i
		}
	}
	if v, _ := propText(c, ical.PropTransparency); strings.EqualFold(v, "TRANSPARENT") {
		return 0
	}
	if v, _ := propText(c, ical.PropStatus); strings.EqualFold(v, "TENTATIVE") {
		return 1
	}
	if p := o.accountAttendee(c, opts.Account); p != nil && !o.isOrganizer(c, opts.Account) {
		switch strings.ToUpper(p.Params.Get(ical.ParamParticipationStatus)) {
		case "NEEDS-ACTION", "TENTATIVE", "":
			return 1
		case "DECLINED":
			return 0
		}
	}
	return 2
}

func sensitivityOf(c *ical.Component) int {
	v, _ := propText(c, ical.PropClass)
	switch strings.ToUpper(v) {
	case "PRIVATE":
		return 2
	case "CONFIDENTIAL":
		return 3
	case "X-PERSONAL", "PERSONAL":
		return 1
	}
	return 0
}

// reminderOf reads the first alarm as minutes before the start: a relative
// TRIGGER (RELATED=END converted), or an absolute one ([eas-pim] §1).
func reminderOf(c *ical.Component, start, end DateTime, zone *time.Location) (int, bool) {
	for _, a := range c.Children {
		if a.Name != ical.CompAlarm {
			continue
		}
		if min, ok := alarmMinutes(a, start, end, zone); ok {
			return min, true
		}
	}
	return 0, false
}

func alarmMinutes(a *ical.Component, start, end DateTime, zone *time.Location) (int, bool) {
	p := a.Props.Get(ical.PropTrigger)
	if p == nil {
		return 0, false
	}
	var before time.Duration
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE-TIME") || len(p.Value) >= 15 && !strings.ContainsAny(p.Value, "P") {
		w, _, utc, err := parseWall(p.Value)
		if err != nil {
			return 0, false
		}
		at := w
		if !utc {
			at = wallToInstant(w, zone)
		}
		before = start.Instant(zone).Sub(at)
	} else {
		d, err := parseDuration(p.Value)
		if err != nil {
			return 0, false
		}
		before = -d
		if strings.EqualFold(p.Params.Get(ical.ParamRelated), "END") {
			before -= end.Instant(zone).Sub(start.Instant(zone))
		}
	}
	if before < 0 {
		before = 0
	}
	return int(math.Round(before.Minutes())), true
}

func categoriesOf(c *ical.Component) []string {
	var out []string
	for _, p := range c.Props.Values(ical.PropCategories) {
		for _, v := range splitText(p.Value) {
			if v = strings.TrimSpace(v); v != "" && len(out) < 300 {
				out = append(out, v)
			}
		}
	}
	return out
}

// recurrenceToEAS fills Recurrence and Exceptions from the master's RRULE,
// RDATE, EXDATE and overrides.
func (o *Object) recurrenceToEAS(ev *EASEvent, start DateTime, opts EASOptions) error {
	m := o.Master
	rp := m.Props.Get(ical.PropRecurrenceRule)
	if rp == nil {
		return nil
	}
	rule, err := ParseRule(rp.Value)
	if err != nil {
		return nil // an unreadable RRULE: show the first instance only
	}
	rec, _ := RecurrenceFromRule(rule, start, opts.Version, opts.zone())
	if rec == nil {
		return nil
	}
	ev.Recurrence = rec
	var excs []EASException
	ex, _ := o.Zones.DateTimesOf(m.Props.Values(ical.PropExceptionDates))
	for _, d := range ex {
		excs = append(excs, EASException{Deleted: true, ExceptionStartTime: o.instanceID(d, start, opts)})
	}
	for _, ov := range o.Overrides {
		rid, err := o.Zones.DateTimeOf(ov.Props.Get(ical.PropRecurrenceID))
		if err != nil && rid.IsZero() {
			continue
		}
		item, _, err := o.itemOf(ov, opts)
		if err != nil {
			continue
		}
		e := EASException{ExceptionStartTime: o.instanceID(rid, start, opts), EASItem: diffItem(item, ev.EASItem)}
		if v, _ := propText(ov, ical.PropStatus); strings.EqualFold(v, "CANCELLED") && o.isOrganizer(m, opts.Account) {
			e = EASException{Deleted: true, ExceptionStartTime: e.ExceptionStartTime}
		}
		excs = append(excs, e)
	}
	if len(excs) > 0 {
		sort.Slice(excs, func(i, j int) bool { return excs[i].ExceptionStartTime.Before(excs[j].ExceptionStartTime) })
		if len(excs) > MaxExceptions {
			// Keep the exceptions nearest to now.
			now := opts.now()
			k := sort.Search(len(excs), func(i int) bool { return !excs[i].ExceptionStartTime.Before(now) })
			lo := k - MaxExceptions/2
			if lo < 0 {
				lo = 0
			}
			if lo+MaxExceptions > len(excs) {
				lo = len(excs) - MaxExceptions
			}
			excs = excs[lo : lo+MaxExceptions]
		}
		ev.Exceptions = &excs
	}
	return nil
}

// instanceID writes an instance's original start as ExceptionStartTime /
// InstanceId: UTC; for an all-day series, midnight in the user's zone
// (≤14.1) or the date at 00:00Z (16.x).
func (o *Object) instanceID(rid, start DateTime, opts EASOptions) time.Time {
	if start.IsDate || rid.IsDate {
		d := time.Date(rid.Wall.Year(), rid.Wall.Month(), rid.Wall.Day(), 0, 0, 0, 0, time.UTC)
		if opts.Version.is16() {
			return d
		}
		return wallToInstant(d, opts.zone()).UTC()
	}
	return rid.Instant(opts.zone()).UTC()
}

// diffItem keeps the elements of an exception that differ from the master;
// an element the master has and the exception lacks becomes empty (cleared).
func diffItem(ov, master EASItem) EASItem {
	var d EASItem
	pick := func(same bool) bool { return !same }
	if pick(eqPtr(ov.AllDayEvent, master.AllDayEvent)) {
		d.AllDayEvent = orZero(ov.AllDayEvent)
	}
	// Times are always sent: clients need them to place the instance.
	d.StartTime, d.EndTime = ov.StartTime, ov.EndTime
	if pick(eqPtr(ov.Subject, master.Subject)) {
		d.Subject = orZero(ov.Subject)
	}
	if pick(eqPtr(ov.Body, master.Body)) {
		d.Body = orZero(ov.Body)
	}
	if pick(eqPtr(ov.Location, master.Location)) {
		d.Location = orZero(ov.Location)
	}
	if pick(eqLoc(ov.LocationInfo, master.LocationInfo)) {
		d.LocationInfo = orZero(ov.LocationInfo)
	}
	if pick(eqSlice(ov.Attendees, master.Attendees)) {
		d.Attendees = orZero(ov.Attendees)
	}
	if pick(eqPtr(ov.BusyStatus, master.BusyStatus)) {
		d.BusyStatus = ov.BusyStatus
	}
	if pick(eqPtr(ov.Sensitivity, master.Sensitivity)) {
		d.Sensitivity = ov.Sensitivity
	}
	if pick(eqPtr(ov.Reminder, master.Reminder)) {
		d.Reminder = ov.Reminder
		if d.Reminder == nil {
			d.Reminder = Ptr(ReminderNone)
		}
	}
	if pick(eqPtr(ov.MeetingStatus, master.MeetingStatus)) {
		d.MeetingStatus = ov.MeetingStatus
	}
	if pick(eqSlice(ov.Categories, master.Categories)) {
		d.Categories = orZero(ov.Categories)
	}
	if pick(eqPtr(ov.ResponseType, master.ResponseType)) {
		d.ResponseType = ov.ResponseType
	}
	if pick(eqPtr(ov.AppointmentReplyTime, master.AppointmentReplyTime)) {
		d.AppointmentReplyTime = ov.AppointmentReplyTime
	}
	d.DtStamp = ov.DtStamp
	if pick(eqPtr(ov.OnlineMeetingConfLink, master.OnlineMeetingConfLink)) {
		d.OnlineMeetingConfLink = orZero(ov.OnlineMeetingConfLink)
	}
	if pick(eqPtr(ov.OnlineMeetingExternalLink, master.OnlineMeetingExternalLink)) {
		d.OnlineMeetingExternalLink = orZero(ov.OnlineMeetingExternalLink)
	}
	return d
}

func orZero[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqSlice[T comparable](a, b *[]T) bool {
	if a == nil || b == nil {
		return (a == nil || len(*a) == 0) && (b == nil || len(*b) == 0)
	}
	if len(*a) != len(*b) {
		return false
	}
	for i := range *a {
		if (*a)[i] != (*b)[i] {
			return false
		}
	}
	return true
}

func eqFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqLoc(a, b *EASLocation) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, y := *a, *b
	if !eqFloat(x.Latitude, y.Latitude) || !eqFloat(x.Longitude, y.Longitude) || !eqFloat(x.Accuracy, y.Accuracy) ||
		!eqFloat(x.Altitude, y.Altitude) || !eqFloat(x.AltitudeAccuracy, y.AltitudeAccuracy) {
		return false
	}
	x.Latitude, x.Longitude, x.Accuracy, x.Altitude, x.AltitudeAccuracy = nil, nil, nil, nil, nil
	y.Latitude, y.Longitude, y.Accuracy, y.Altitude, y.AltitudeAccuracy = nil, nil, nil, nil, nil
	return x == y
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var _ = fmt.Sprint
