package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// iTIP methods (RFC 5546 1.4).
const (
	MethodRequest = "REQUEST"
	MethodReply   = "REPLY"
	MethodCancel  = "CANCEL"
)

// ITIPOptions is what building or applying a scheduling message needs.
type ITIPOptions struct {
	Account string // the account's address
	Name    string // the account's display name (CN)
	Now     time.Time
	ProdID  string
}

func (o ITIPOptions) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o ITIPOptions) prodID() string {
	if o.ProdID == "" {
		return DefaultProdID
	}
	return o.ProdID
}

// ITIPMessage is a parsed scheduling message (RFC 5546).
type ITIPMessage struct {
	Method       string
	UID          string
	Sequence     int
	DTStamp      time.Time
	RecurrenceID *DateTime // set when the message is about one instance
	Organizer    string    // address
	Attendees    []EASAttendee
	Object       *Object
}

// ParseITIP parses an iTIP message (the text/calendar part of an iMIP mail).
func ParseITIP(data []byte) (*ITIPMessage, error) {
	cal, err := Parse(data)
	if err != nil {
		return nil, err
	}
	m := &ITIPMessage{}
	if p := cal.Props.Get(ical.PropMethod); p != nil {
		m.Method = strings.ToUpper(strings.TrimSpace(p.Value))
	}
	if m.Method == "" {
		return nil, fmt.Errorf("%w: iTIP message without METHOD", ErrMalformed)
	}
	o, err := NewObject(cal)
	if err != nil {
		return nil, err
	}
	m.Object = o
	c := o.Primary()
	m.UID = o.UID()
	m.Sequence = sequenceOf(c)
	if p := c.Props.Get(ical.PropDateTimeStamp); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil {
			m.DTStamp = d.Instant(nil).UTC()
		}
	}
	if o.Master == nil {
		rid, err := o.Zones.DateTimeOf(c.Props.Get(ical.PropRecurrenceID))
		if err == nil || !rid.IsZero() {
			m.RecurrenceID = &rid
		}
	}
	if p := c.Props.Get(ical.PropOrganizer); p != nil {
		m.Organizer = mailAddr(p.Value)
	}
	for _, p := range c.Props.Values(ical.PropAttendee) {
		m.Attendees = append(m.Attendees, EASAttendee{Email: mailAddr(p.Value), Name: p.Params.Get(ical.ParamCommonName),
			Status: statusOfPartstat(p.Params.Get(ical.ParamParticipationStatus)), Type: attendeeType(&p)})
	}
	return m, nil
}

func sequenceOf(c *ical.Component) int {
	if p := c.Props.Get(ical.PropSequence); p != nil {
		n, _ := strconv.Atoi(strings.TrimSpace(p.Value))
		return n
	}
	return 0
}

// newITIP starts a scheduling message: VCALENDAR with METHOD and the
// VTIMEZONEs the given components use.
func newITIP(o *Object, method string, opts ITIPOptions, comps ...*ical.Component) *ical.Calendar {
	cal := ical.NewCalendar()
	cal.Props.Set(&ical.Prop{Name: ical.PropProductID, Params: ical.Params{}, Value: opts.prodID()})
	cal.Props.Set(&ical.Prop{Name: ical.PropVersion, Params: ical.Params{}, Value: "2.0"})
	cal.Props.Set(&ical.Prop{Name: ical.PropMethod, Params: ical.Params{}, Value: method})
	used := map[string]bool{}
	for _, c := range comps {
		for _, ps := range c.Props {
			for _, p := range ps {
				if id := p.Params.Get(ical.PropTimezoneID); id != "" {
					used[id] = true
				}
			}
		}
	}
	for _, ch := range o.Cal.Children {
		if ch.Name == ical.CompTimezone {
			if id := ch.Props.Get(ical.PropTimezoneID); id != nil && used[id.Value] {
				cal.Children = append(cal.Children, Clone(ch))
				delete(used, id.Value)
			}
		}
	}
	cal.Children = append(cal.Children, comps...)
	return cal
}

// instanceComponent returns the component for one instance: its override,
// or a new override built from the master.
func (o *Object) instanceComponent(rid DateTime, z *time.Location) (*ical.Component, error) {
	if ov := o.Override(rid, z); ov != nil {
		return ov, nil
	}
	if o.Master == nil {
		return nil, fmt.Errorf("%w: no such instance", ErrInvalid)
	}
	start, _ := o.Start(o.Master)
	end, _ := o.End(o.Master, start)
	c := Clone(o.Master)
	for _, n := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, ical.PropDuration} {
		c.Props.Del(n)
	}
	c.Props.Set(Ptr(dateTimeProp(ical.PropRecurrenceID, rid)))
	setDateTime(c, ical.PropDateTimeStart, rid)
	e := rid
	e.Wall = rid.Wall.Add(end.Wall.Sub(start.Wall))
	setDateTime(c, ical.PropDateTimeEnd, e)
	return c, nil
}

// ridOf turns an instance's original start into a RECURRENCE-ID in the
// master's form.
func (o *Object) ridOf(at time.Time, z *time.Location) DateTime {
	start, _ := o.Start(o.Primary())
	if p := o.Primary().Props.Get(ical.PropRecurrenceID); o.Master == nil && p != nil {
		start, _ = o.Zones.DateTimeOf(p)
	}
	mc := &mergeCtx{opts: MergeOptions{EASOptions: EASOptions{Version: V141, UserZone: z}}}
	return mc.ridFor(at, start)
}

// private properties that stay on the server.
func stripPrivate(c *ical.Component) {
	for name := range c.Props {
		if strings.HasPrefix(name, "X-GATEHOUSE-") {
			delete(c.Props, name)
		}
	}
	var kids []*ical.Component
	for _, ch := range c.Children {
		if ch.Name != ical.CompAlarm { // the organizer's alarms are the organizer's
			kids = append(kids, ch)
		}
	}
	c.Children = kids
}

// BuildRequest writes the organizer's METHOD:REQUEST for the whole stored
// meeting (RFC 5546 3.2.2), or for one instance when instance is non-zero
// (its original start). DTSTAMP is now; alarms and private properties stay
// home.
func BuildRequest(stored []byte, instance time.Time, opts ITIPOptions) ([]byte, error) {
	o, err := ParseObject(stored)
	if err != nil {
		return nil, err
	}
	var comps []*ical.Component
	if !instance.IsZero() {
		c, err := o.instanceComponent(o.ridOf(instance, time.UTC), time.UTC)
		if err != nil {
			return nil, err
		}
		comps = []*ical.Component{Clone(c)}
	} else {
		if o.Master != nil {
			comps = append(comps, Clone(o.Master))
		}
		for _, ov := range o.Overrides {
			comps = append(comps, Clone(ov))
		}
	}
	now := opts.now().UTC().Format("20060102T150405Z")
	for _, c := range comps {
		stripPrivate(c)
		setRaw(c, ical.PropDateTimeStamp, now)
		if c.Props.Get(ical.PropSequence) == nil {
			setRaw(c, ical.PropSequence, "0")
		}
		if c.Props.Get(ical.PropOrganizer) == nil && opts.Account != "" {
			p := ical.Prop{Name: ical.PropOrganizer, Params: ical.Params{}, Value: "mailto:" + opts.Account}
			if opts.Name != "" {
				p.Params.Set(ical.ParamCommonName, opts.Name)
			}
			c.Props.Set(&p)
		}
	}
	return Encode(newITIP(o, MethodRequest, opts, comps...)), nil
}

// BuildReply writes an attendee's METHOD:REPLY (RFC 5546 3.2.3): the
// request's UID, SEQUENCE and ORGANIZER, a new DTSTAMP, only the account's
// ATTENDEE with partstat (ACCEPTED, TENTATIVE or DECLINED), and
// RECURRENCE-ID when answering one instance (fact sheet §4 step 5).
func BuildReply(stored []byte, partstat string, instance time.Time, opts ITIPOptions) ([]byte, error) {
	o, err := ParseObject(stored)
	if err != nil {
		return nil, err
	}
	src := o.Primary()
	if !instance.IsZero() {
		if src, err = o.instanceComponent(o.ridOf(instance, time.UTC), time.UTC); err != nil {
			return nil, err
		}
	}
	if o.isOrganizer(src, opts.Account) {
		return nil, fmt.Errorf("%w: the organizer does not reply", ErrInvalid)
	}
	c := ical.NewComponent(ical.CompEvent)
	for _, name := range []string{ical.PropUID, ical.PropSequence, ical.PropOrganizer, ical.PropRecurrenceID,
		ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDuration, ical.PropSummary} {
		if p := src.Props.Get(name); p != nil {
			c.Props.Set(Ptr(clonePropValue(*p)))
		}
	}
	if c.Props.Get(ical.PropSequence) == nil {
		setRaw(c, ical.PropSequence, "0")
	}
	setRaw(c, ical.PropDateTimeStamp, opts.now().UTC().Format("20060102T150405Z"))
	att := ical.Prop{Name: ical.PropAttendee, Params: ical.Params{}, Value: "mailto:" + opts.Account}
	if p := o.accountAttendee(src, opts.Account); p != nil {
		att = clonePropValue(*p)
	}
	att.Params.Del(ical.ParamRSVP)
	att.Params.Set(ical.ParamParticipationStatus, strings.ToUpper(partstat))
	if opts.Name != "" && att.Params.Get(ical.ParamCommonName) == "" {
		att.Params.Set(ical.ParamCommonName, opts.Name)
	}
	c.Props.Set(&att)
	return Encode(newITIP(o, MethodReply, opts, c)), nil
}

// BuildCancel writes the organizer's METHOD:CANCEL (RFC 5546 3.2.5) for the
// meeting or one instance, to attendees (all when nil), with SEQUENCE one
// above the stored one and STATUS:CANCELLED.
func BuildCancel(stored []byte, instance time.Time, attendees []string, opts ITIPOptions) ([]byte, error) {
	o, err := ParseObject(stored)
	if err != nil {
		return nil, err
	}
	src := o.Primary()
	if !instance.IsZero() {
		if src, err = o.instanceComponent(o.ridOf(instance, time.UTC), time.UTC); err != nil {
			return nil, err
		}
	}
	c := ical.NewComponent(ical.CompEvent)
	for _, name := range []string{ical.PropUID, ical.PropOrganizer, ical.PropRecurrenceID, ical.PropDateTimeStart,
		ical.PropDateTimeEnd, ical.PropDuration, ical.PropSummary, ical.PropLocation} {
		if p := src.Props.Get(name); p != nil {
			c.Props.Set(Ptr(clonePropValue(*p)))
		}
	}
	if instance.IsZero() {
		if p := src.Props.Get(ical.PropRecurrenceRule); p != nil {
			c.Props.Set(Ptr(clonePropValue(*p)))
		}
	}
	setRaw(c, ical.PropSequence, strconv.Itoa(sequenceOf(src)+1))
	setRaw(c, ical.PropDateTimeStamp, opts.now().UTC().Format("20060102T150405Z"))
	setRaw(c, ical.PropStatus, "CANCELLED")
	for _, p := range src.Props.Values(ical.PropAttendee) {
		if attendees != nil && !containsAddr(attendees, p.Value) {
			continue
		}
		q := clonePropValue(p)
		q.Params.Del(ical.ParamRSVP)
		c.Props.Add(&q)
	}
	return Encode(newITIP(o, MethodCancel, opts, c)), nil
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if sameAddr(x, a) {
			return true
		}
	}
	return false
}

// ApplyResult says what applying a scheduling message did.
type ApplyResult struct {
	Outdated   bool   // older SEQUENCE or DTSTAMP than what is stored: nothing changed
	Attendee   string // REPLY: who answered
	PartStat   string // REPLY: their answer
	Instance   bool   // the message was about one instance
	NewSeries  bool   // REQUEST: the item did not exist
	Reschedule bool   // REQUEST: a new SEQUENCE: the account must answer again
}

// ApplyReply records an attendee's REPLY in the organizer's copy: their
// PARTSTAT on the series, or on the instance's override (created if
// needed). A reply with an older SEQUENCE than the stored one, or an older
// DTSTAMP than the last reply recorded from that attendee, is ignored
// (RFC 5546 2.1.5, 3.2.3).
func ApplyReply(stored, reply []byte, opts ITIPOptions) ([]byte, ApplyResult, error) {
	var res ApplyResult
	msg, err := ParseITIP(reply)
	if err != nil {
		return nil, res, err
	}
	if msg.Method != MethodReply || len(msg.Attendees) != 1 {
		return nil, res, fmt.Errorf("%w: not a REPLY from one attendee", ErrInvalid)
	}
	o, err := ParseObject(stored)
	if err != nil {
		return nil, res, err
	}
	if o.UID() != msg.UID {
		return nil, res, fmt.Errorf("%w: REPLY for another UID", ErrInvalid)
	}
	who := msg.Attendees[0]
	rp := msg.Object.Primary().Props.Get(ical.PropAttendee)
	res.Attendee, res.PartStat = who.Email, strings.ToUpper(rp.Params.Get(ical.ParamParticipationStatus))
	target := o.Primary()
	if msg.RecurrenceID != nil {
		res.Instance = true
		rid := *msg.RecurrenceID
		if ov := o.Override(rid, time.UTC); ov != nil {
			target = ov
		} else {
			ov, err := o.instanceComponent(rid, time.UTC)
			if err != nil {
				return nil, res, err
			}
			o.Cal.Children = append(o.Cal.Children, ov)
			o.Overrides = append(o.Overrides, ov)
			target = ov
		}
	}
	if msg.Sequence < sequenceOf(target) {
		res.Outdated = true
		return stored, res, nil
	}
	stamp := msg.DTStamp.UTC().Format("20060102T150405Z")
	ps := target.Props[ical.PropAttendee]
	found := false
	for i := range ps {
		if !sameAddr(ps[i].Value, who.Email) {
			continue
		}
		found = true
		if last := ps[i].Params.Get("X-GATEHOUSE-DTSTAMP"); last != "" && !msg.DTStamp.IsZero() && stamp < last {
			res.Outdated = true
			return stored, res, nil
		}
		ps[i].Params.Set(ical.ParamParticipationStatus, res.PartStat)
		ps[i].Params.Del(ical.ParamRSVP)
		if !msg.DTStamp.IsZero() {
			ps[i].Params.Set("X-GATEHOUSE-DTSTAMP", stamp)
		}
	}
	if !found {
		// An uninvited attendee (a forwarded invitation): add them.
		q := clonePropValue(*rp)
		q.Params.Del(ical.ParamRSVP)
		target.Props.Add(&q)
	}
	setRaw(target, ical.PropLastModified, opts.now().UTC().Format("20060102T150405Z"))
	return o.Bytes(), res, nil
}

// ApplyCancel applies the organizer's CANCEL to the attendee's copy: the
// whole meeting becomes STATUS:CANCELLED (MeetingStatus 7), or one instance
// gets an EXDATE (fact sheet §4). An outdated CANCEL is ignored.
func ApplyCancel(stored, cancel []byte, opts ITIPOptions) ([]byte, ApplyResult, error) {
	var res ApplyResult
	msg, err := ParseITIP(cancel)
	if err != nil {
		return nil, res, err
	}
	if msg.Method != MethodCancel {
		return nil, res, fmt.Errorf("%w: not a CANCEL", ErrInvalid)
	}
	o, err := ParseObject(stored)
	if err != nil {
		return nil, res, err
	}
	if o.UID() != msg.UID {
		return nil, res, fmt.Errorf("%w: CANCEL for another UID", ErrInvalid)
	}
	now := opts.now().UTC().Format("20060102T150405Z")
	if msg.RecurrenceID != nil && o.Master != nil {
		res.Instance = true
		rid := *msg.RecurrenceID
		if ov := o.Override(rid, time.UTC); ov != nil {
			if msg.Sequence < sequenceOf(ov) {
				res.Outdated = true
				return stored, res, nil
			}
			mc := &mergeCtx{o: o, res: &MergeResult{}, touched: map[*ical.Component]bool{}}
			mc.removeOverride(ov)
		}
		// The EXDATE in the master's form.
		start, _ := o.Start(o.Master)
		ex := rid
		if start.IsDate && !rid.IsDate {
			ex = DateTime{Wall: time.Date(rid.Wall.Year(), rid.Wall.Month(), rid.Wall.Day(), 0, 0, 0, 0, time.UTC), IsDate: true}
		} else if !start.IsDate && !rid.IsDate && start.Loc != nil && start.TZID != rid.TZID {
			ex = NewDateTimeIn(rid.Instant(nil), start.Loc, start.TZID)
		}
		o.Master.Props.Add(Ptr(dateTimeProp(ical.PropExceptionDates, ex)))
		setRaw(o.Master, ical.PropLastModified, now)
		return o.Bytes(), res, nil
	}
	targets := append([]*ical.Component{}, o.Overrides...)
	if o.Master != nil {
		targets = append([]*ical.Component{o.Master}, targets...)
	}
	if msg.Sequence < sequenceOf(o.Primary()) {
		res.Outdated = true
		return stored, res, nil
	}
	for _, c := range targets {
		setRaw(c, ical.PropStatus, "CANCELLED")
		setRaw(c, ical.PropSequence, strconv.Itoa(max(msg.Sequence, sequenceOf(c))))
		setRaw(c, ical.PropLastModified, now)
	}
	return o.Bytes(), res, nil
}

// ApplyRequest files an incoming REQUEST in the attendee's calendar: a new
// item under the request's UID (Exchange adds it as tentative: the account's
// PARTSTAT is NEEDS-ACTION), or an update of the existing one. The account's
// own alarms and private properties are kept; its answer is kept when the
// SEQUENCE did not change (an informational update) and reset otherwise.
// An outdated request (lower SEQUENCE) changes nothing.
func ApplyRequest(stored, request []byte, opts ITIPOptions) ([]byte, ApplyResult, error) {
	var res ApplyResult
	msg, err := ParseITIP(request)
	if err != nil {
		return nil, res, err
	}
	if msg.Method != MethodRequest {
		return nil, res, fmt.Errorf("%w: not a REQUEST", ErrInvalid)
	}
	res.Instance = msg.RecurrenceID != nil
	in := msg.Object
	if len(strings.TrimSpace(string(stored))) == 0 {
		res.NewSeries = true
		cal := in.Cal
		cal.Props.Del(ical.PropMethod)
		for _, c := range cal.Children {
			if c.Name == ical.CompEvent {
				markNeedsAction(c, opts.Account)
			}
		}
		return Encode(cal), res, nil
	}
	o, err := ParseObject(stored)
	if err != nil {
		return nil, res, err
	}
	if o.UID() != msg.UID {
		return nil, res, fmt.Errorf("%w: REQUEST for another UID", ErrInvalid)
	}
	for _, nc := range append(append([]*ical.Component{}, nonNil(in.Master)...), in.Overrides...) {
		var old *ical.Component
		if p := nc.Props.Get(ical.PropRecurrenceID); p != nil {
			rid, _ := in.Zones.DateTimeOf(p)
			old = o.Override(rid, time.UTC)
		} else {
			old = o.Master
		}
		if old != nil && sequenceOf(nc) < sequenceOf(old) {
			res.Outdated = true
			continue
		}
		repl := Clone(nc)
		if old != nil {
			if sequenceOf(nc) == sequenceOf(old) {
				// Keep the account's answer.
				if a := o.accountAttendee(old, opts.Account); a != nil {
					if b := (&Object{}).accountAttendee(repl, opts.Account); b != nil {
						b.Params = clonePropValue(*a).Params
					}
				}
			} else {
				res.Reschedule = true
				markNeedsAction(repl, opts.Account)
			}
			for name, ps := range old.Props {
				if strings.HasPrefix(name, "X-GATEHOUSE-") && repl.Props.Get(name) == nil {
					repl.Props[name] = ps
				}
			}
			var alarms []*ical.Component
			for _, ch := range old.Children {
				if ch.Name == ical.CompAlarm {
					alarms = append(alarms, ch)
				}
			}
			if len(alarms) > 0 {
				var kids []*ical.Component
				for _, ch := range repl.Children {
					if ch.Name != ical.CompAlarm {
						kids = append(kids, ch)
					}
				}
				repl.Children = append(kids, alarms...)
			}
			replaceChild(o.Cal, old, repl)
		} else {
			markNeedsAction(repl, opts.Account)
			o.Cal.Children = append(o.Cal.Children, repl)
		}
	}
	// VTIMEZONEs the update brings.
	for _, ch := range in.Cal.Children {
		if ch.Name == ical.CompTimezone {
			if id := ch.Props.Get(ical.PropTimezoneID); id != nil && o.Zones.VTimezone(id.Value) == nil {
				o.Cal.Children = append([]*ical.Component{ch}, o.Cal.Children...)
			}
		}
	}
	return Encode(o.Cal), res, nil
}

func nonNil(c *ical.Component) []*ical.Component {
	if c == nil {
		return nil
	}
	return []*ical.Component{c}
}

func replaceChild(cal *ical.Calendar, old, repl *ical.Component) {
	for i, ch := range cal.Children {
		if ch == old {
			cal.Children[i] = repl
		}
	}
}

func markNeedsAction(c *ical.Component, account string) {
	ps := c.Props[ical.PropAttendee]
	for i := range ps {
		if sameAddr(ps[i].Value, account) {
			ps[i].Params.Set(ical.ParamParticipationStatus, "NEEDS-ACTION")
		}
	}
}

// Respond records the account's answer to a meeting in its own copy, as a
// MeetingResponse does before the REPLY goes out (fact sheet §4, server
// actions 2–4): the account's PARTSTAT (ACCEPTED, TENTATIVE or DECLINED) and
// the reply time (AppointmentReplyTime), on the series or, for one
// instance (its original start), on that instance's override. The item
// keeps its UID; declining does not delete it (the front end hides it).
func Respond(stored []byte, partstat string, instance time.Time, opts ITIPOptions) ([]byte, error) {
	partstat = strings.ToUpper(partstat)
	if partstat != "ACCEPTED" && partstat != "TENTATIVE" && partstat != "DECLINED" {
		return nil, fmt.Errorf("%w: answer %q", ErrInvalid, partstat)
	}
	o, err := ParseObject(stored)
	if err != nil {
		return nil, err
	}
	target := o.Primary()
	if !instance.IsZero() {
		if !o.isRecurring() {
			return nil, fmt.Errorf("%w: instance of an item that is not recurring", ErrInvalid)
		}
		rid := o.ridOf(instance, time.UTC)
		if ov := o.Override(rid, time.UTC); ov != nil {
			target = ov
		} else {
			if !o.generates(rid, ExpandOptions{}, time.UTC) {
				return nil, fmt.Errorf("%w: the series has no such instance", ErrInvalid)
			}
			if target, err = o.instanceComponent(rid, time.UTC); err != nil {
				return nil, err
			}
			o.Cal.Children = append(o.Cal.Children, target)
			o.Overrides = append(o.Overrides, target)
		}
	}
	if o.isOrganizer(target, opts.Account) {
		return nil, fmt.Errorf("%w: the account organizes this meeting", ErrInvalid)
	}
	p := o.accountAttendee(target, opts.Account)
	if p == nil {
		return nil, fmt.Errorf("%w: the account is not invited", ErrInvalid)
	}
	p.Params.Set(ical.ParamParticipationStatus, partstat)
	p.Params.Del(ical.ParamRSVP)
	now := opts.now().UTC().Format("20060102T150405Z")
	setRaw(target, propReplyTime, now)
	setRaw(target, ical.PropLastModified, now)
	return o.Bytes(), nil
}
