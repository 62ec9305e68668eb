package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// EASTask is a Tasks item as ActiveSync carries it ([MS-ASTASK] 2.2.2),
// independent of WBXML. nil fields are absent elements. The non-Utc dates
// are the local wall clock labelled Z ([MS-ASTASK] 2.2.2.8, fact sheet §6).
type EASTask struct {
	Subject       *string
	Body          *EASBody
	Complete      *bool
	DateCompleted *time.Time
	StartDate     *time.Time
	UtcStartDate  *time.Time
	DueDate       *time.Time
	UtcDueDate    *time.Time
	Importance    *int // 0 low, 1 normal, 2 high
	ReminderSet   *bool
	ReminderTime  *time.Time // UTC
	Sensitivity   *int
	Categories    *[]string
	Recurrence    *EASRecurrence
}

const (
	propRegenerate = "X-GATEHOUSE-TASK-REGENERATE" // [MS-ASTASK] Regenerate: no RFC 5545 equivalent
	propDeadOccur  = "X-GATEHOUSE-TASK-DEADOCCUR"
)

// TaskToEAS reads a stored VTODO object as ActiveSync Tasks elements.
func TaskToEAS(data []byte, opts EASOptions) (*EASTask, error) {
	o, err := ParseObject(data)
	if err != nil {
		return nil, err
	}
	return o.TaskToEAS(opts)
}

// TaskToEAS converts the object's VTODO.
func (o *Object) TaskToEAS(opts EASOptions) (*EASTask, error) {
	c := o.Primary()
	if c.Name != ical.CompToDo {
		return nil, fmt.Errorf("%w: not a VTODO", ErrMalformed)
	}
	z := opts.zone()
	t := &EASTask{}
	if v, ok := propText(c, ical.PropSummary); ok {
		t.Subject = Ptr(v)
	}
	t.Body = bodyOf(c)
	status, _ := propText(c, ical.PropStatus)
	t.Complete = Ptr(strings.EqualFold(status, "COMPLETED") || c.Props.Get(ical.PropCompleted) != nil)
	if p := c.Props.Get(ical.PropCompleted); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil {
			t.DateCompleted = Ptr(d.Instant(z).UTC())
		}
	}
	var start DateTime
	if p := c.Props.Get(ical.PropDateTimeStart); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil || !d.IsZero() {
			start = d
			t.StartDate, t.UtcStartDate = taskDates(d, z)
		}
	}
	if p := c.Props.Get(ical.PropDue); p != nil {
		if d, err := o.Zones.DateTimeOf(p); err == nil || !d.IsZero() {
			t.DueDate, t.UtcDueDate = taskDates(d, z)
		}
	}
	imp := 1
	if p := c.Props.Get(ical.PropPriority); p != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(p.Value)); err == nil {
			switch {
			case n >= 1 && n <= 4:
				imp = 2
			case n >= 6 && n <= 9:
				imp = 0
			}
		}
	}
	t.Importance = Ptr(imp)
	if at, ok := taskReminder(o, c, start, z); ok {
		t.ReminderSet, t.ReminderTime = Ptr(true), Ptr(at)
	} else {
		t.ReminderSet = Ptr(false)
	}
	t.Sensitivity = Ptr(sensitivityOf(c))
	if cats := categoriesOf(c); len(cats) > 0 {
		t.Categories = &cats
	}
	if rp := c.Props.Get(ical.PropRecurrenceRule); rp != nil && !start.IsZero() {
		if rule, err := ParseRule(rp.Value); err == nil {
			if rec, _ := RecurrenceFromRule(rule, start, opts.Version, z); rec != nil {
				rec.Start = *t.StartDate
				rec.Regenerate = isTrue(c, propRegenerate)
				rec.DeadOccur = isTrue(c, propDeadOccur)
				t.Recurrence = rec
			}
		}
	}
	return t, nil
}

func isTrue(c *ical.Component, name string) bool {
	v, _ := propText(c, name)
	return strings.EqualFold(v, "TRUE")
}

// taskDates gives the local (wall clock labelled Z) and UTC forms of a date.
func taskDates(d DateTime, z *time.Location) (*time.Time, *time.Time) {
	in := d.Instant(z)
	local := asWall(in.In(z))
	if d.IsDate {
		local = d.Wall
	}
	return &local, Ptr(in.UTC())
}

func taskReminder(o *Object, c *ical.Component, start DateTime, z *time.Location) (time.Time, bool) {
	for _, a := range c.Children {
		if a.Name != ical.CompAlarm {
			continue
		}
		p := a.Props.Get(ical.PropTrigger)
		if p == nil {
			continue
		}
		if w, _, utc, err := parseWall(p.Value); err == nil {
			if !utc {
				return wallToInstant(w, z).UTC(), true
			}
			return w, true
		}
		// A relative trigger: from DUE when RELATED=END, else DTSTART.
		d, err := parseDuration(p.Value)
		if err != nil {
			continue
		}
		base := start
		if strings.EqualFold(p.Params.Get(ical.ParamRelated), "END") || base.IsZero() {
			if due := c.Props.Get(ical.PropDue); due != nil {
				base, _ = o.Zones.DateTimeOf(due)
			}
		}
		if base.IsZero() {
			continue
		}
		return base.Instant(z).Add(d).UTC(), true
	}
	return time.Time{}, false
}

// MergeTask applies a device's Sync Add (stored == nil) or Change of a task,
// with the same merge rules as MergeEvent.
func MergeTask(stored []byte, dev *EASTask, opts MergeOptions) ([]byte, MergeResult, error) {
	var res MergeResult
	if dev == nil {
		dev = &EASTask{}
	}
	mc, err := newMergeCtx(stored, ical.CompToDo, opts, &res)
	if err != nil {
		return nil, res, err
	}
	o, c := mc.o, mc.o.Master
	if c.Name != ical.CompToDo {
		return nil, res, fmt.Errorf("%w: not a VTODO", ErrMalformed)
	}
	proj := &EASTask{}
	if !res.Created {
		if proj, err = o.TaskToEAS(opts.EASOptions); err != nil {
			return nil, res, err
		}
	} else {
		uid := opts.NewUID
		if uid == "" {
			uid = newUID()
		}
		setText(c, ical.PropUID, uid)
	}
	res.UID = o.UID()
	z := opts.zone()
	// Subject, Body, Sensitivity, Categories: as for events.
	item := EASItem{Subject: dev.Subject, Body: dev.Body, Sensitivity: dev.Sensitivity, Categories: dev.Categories}
	pitem := EASItem{Subject: proj.Subject, Body: proj.Body, Sensitivity: proj.Sensitivity, Categories: proj.Categories}
	mc.applyItem(c, item, pitem, true)
	// Complete and DateCompleted.
	if dev.Complete != nil && !eqPtr(dev.Complete, orFalse(proj.Complete)) {
		if *dev.Complete {
			setRaw(c, ical.PropStatus, "COMPLETED")
			done := opts.now().UTC()
			if dev.DateCompleted != nil {
				done = dev.DateCompleted.UTC()
			}
			setRaw(c, ical.PropCompleted, done.Format("20060102T150405Z"))
			setRaw(c, ical.PropPercentComplete, "100")
		} else {
			setRaw(c, ical.PropStatus, "NEEDS-ACTION")
			c.Props.Del(ical.PropCompleted)
			c.Props.Del(ical.PropPercentComplete)
		}
		mc.touch(c, "Complete")
	} else if dev.DateCompleted != nil && proj.DateCompleted != nil && !dev.DateCompleted.Equal(*proj.DateCompleted) {
		setRaw(c, ical.PropCompleted, dev.DateCompleted.UTC().Format("20060102T150405Z"))
		mc.touch(c, "DateCompleted")
	}
	// Dates: a local midnight is a date-only task (the usual case); otherwise
	// the UTC instant.
	mc.applyTaskDate(c, ical.PropDateTimeStart, "StartDate", dev.StartDate, dev.UtcStartDate, proj.StartDate, proj.UtcStartDate, z)
	mc.applyTaskDate(c, ical.PropDue, "DueDate", dev.DueDate, dev.UtcDueDate, proj.DueDate, proj.UtcDueDate, z)
	// Importance <-> PRIORITY (RFC 5545 3.8.1.9: 1 high, 5 normal, 9 low).
	if dev.Importance != nil && !eqPtr(dev.Importance, proj.Importance) {
		pr := map[int]string{0: "9", 1: "5", 2: "1"}[*dev.Importance]
		if pr == "" {
			pr = "5"
		}
		setRaw(c, ical.PropPriority, pr)
		mc.touch(c, "Importance")
	}
	// Reminder: an absolute trigger.
	switch {
	case dev.ReminderSet != nil && !*dev.ReminderSet && orFalse(proj.ReminderSet) != nil && *orFalse(proj.ReminderSet):
		mc.applyReminder(c, ReminderNone, Ptr(0))
	case dev.ReminderSet != nil && *dev.ReminderSet && dev.ReminderTime != nil && !eqPtr(dev.ReminderTime, proj.ReminderTime):
		var alarm *ical.Component
		for _, a := range c.Children {
			if a.Name == ical.CompAlarm {
				alarm = a
				break
			}
		}
		if alarm == nil {
			alarm = ical.NewComponent(ical.CompAlarm)
			setRaw(alarm, ical.PropAction, "DISPLAY")
			setText(alarm, ical.PropDescription, "Reminder")
			c.Children = append(c.Children, alarm)
		}
		p := ical.Prop{Name: ical.PropTrigger, Params: ical.Params{}, Value: dev.ReminderTime.UTC().Format("20060102T150405Z")}
		p.Params.Set(ical.ParamValue, "DATE-TIME")
		alarm.Props.Set(&p)
		mc.touch(c, "ReminderTime")
	}
	// Recurrence.
	if dev.Recurrence != nil {
		start, _ := o.Start(c)
		if start.IsZero() && !dev.Recurrence.Start.IsZero() {
			s := dev.Recurrence.Start
			start = DateTime{Wall: time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC), IsDate: true}
			setDateTime(c, ical.PropDateTimeStart, start)
		}
		if start.IsZero() {
			return nil, res, fmt.Errorf("%w: a recurring task needs a start date", ErrInvalid)
		}
		if _, err := mc.applyRecurrence(c, dev.Recurrence, proj.Recurrence, start); err != nil {
			return nil, res, err
		}
		for name, v := range map[string]bool{propRegenerate: dev.Recurrence.Regenerate, propDeadOccur: dev.Recurrence.DeadOccur} {
			if v != isTrue(c, name) {
				if v {
					setRaw(c, name, "TRUE")
				} else {
					c.Props.Del(name)
				}
				mc.touch(c, "Recurrence")
			}
		}
	}
	return mc.result(stored)
}

func (mc *mergeCtx) applyTaskDate(c *ical.Component, prop, name string, local, utc, pLocal, pUTC *time.Time, z *time.Location) {
	if local == nil && utc == nil {
		if (pLocal != nil || pUTC != nil) && mc.ghost(name) {
			c.Props.Del(prop)
			mc.touch(c, name)
		}
		return
	}
	if eqPtr(local, pLocal) && (utc == nil || eqPtr(utc, pUTC)) || local == nil && eqPtr(utc, pUTC) {
		return
	}
	var d DateTime
	switch {
	case local != nil && local.Hour() == 0 && local.Minute() == 0 && local.Second() == 0:
		d = NewDate(local.Year(), local.Month(), local.Day())
	case utc != nil:
		d = NewDateTimeIn(*utc, time.UTC, "")
	default:
		d = NewDateTimeIn(wallToInstant(asWall(*local), z), time.UTC, "")
	}
	setDateTime(c, prop, d)
	mc.touch(c, name)
}
