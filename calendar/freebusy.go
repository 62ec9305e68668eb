package calendar

import (
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// BusyType is the kind of a busy period, numbered as the digits of
// ActiveSync's MergedFreeBusy ([MS-ASCMD] 2.2.3.105).
type BusyType int

// Busy types, by increasing weight.
const (
	Free             BusyType = 0
	Tentative        BusyType = 1
	Busy             BusyType = 2
	OutOfOffice      BusyType = 3
	NoData           BusyType = 4
	workingElsewhere BusyType = -1
)

// BusyPeriod is a time the calendar's owner is not free.
type BusyPeriod struct {
	Start, End time.Time
	Type       BusyType
}

// FreeBusyOptions bound a free/busy computation.
type FreeBusyOptions struct {
	Start, End time.Time      // the window
	Account    string         // the calendar's owner: declined meetings are free, unanswered ones tentative
	Floating   *time.Location // the owner's zone, for floating times and all-day events
	MaxWork    int            // per object; 0 means DefaultMaxWork
}

// FreeBusy returns the merged busy periods of the stored objects in the
// window (for ResolveRecipients Availability and CalDAV free-busy-query,
// RFC 4791 7.10): each instance's type from its STATUS, TRANSP,
// X-MICROSOFT-CDO-BUSYSTATUS and the owner's PARTSTAT; cancelled,
// transparent and declined instances are free. Periods of the same type
// that touch or overlap are joined; where types overlap the heavier wins.
// An object that cannot be read is skipped and reported in the error.
func FreeBusy(objects [][]byte, opts FreeBusyOptions) ([]BusyPeriod, error) {
	var periods []BusyPeriod
	var firstErr error
	for _, data := range objects {
		o, err := ParseObject(data)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		ps, err := o.BusyPeriods(opts)
		if err != nil && firstErr == nil {
			firstErr = err
		}
		periods = append(periods, ps...)
	}
	return MergeBusy(periods), firstErr
}

// BusyPeriods returns the object's busy instances in the window, unmerged.
func (o *Object) BusyPeriods(opts FreeBusyOptions) ([]BusyPeriod, error) {
	if o.Primary().Name != ical.CompEvent {
		return nil, nil
	}
	insts, err := o.Expand(ExpandOptions{Start: opts.Start, End: opts.End, Floating: opts.Floating, MaxWork: opts.MaxWork})
	var out []BusyPeriod
	for _, in := range insts {
		t := o.busyType(in.Component, opts.Account)
		if t <= Free || !in.EndTime.After(in.StartTime) {
			continue
		}
		s, e := in.StartTime, in.EndTime
		if !opts.Start.IsZero() && s.Before(opts.Start) {
			s = opts.Start
		}
		if !opts.End.IsZero() && e.After(opts.End) {
			e = opts.End
		}
		out = append(out, BusyPeriod{Start: s.UTC(), End: e.UTC(), Type: t})
	}
	return out, err
}

func (o *Object) busyType(c *ical.Component, account string) BusyType {
	if v, _ := propText(c, ical.PropStatus); strings.EqualFold(v, "CANCELLED") {
		return Free
	}
	if p := o.accountAttendee(c, account); p != nil && !o.isOrganizer(c, account) &&
		strings.EqualFold(p.Params.Get(ical.ParamParticipationStatus), "DECLINED") {
		return Free
	}
	switch o.busyStatus(c, EASOptions{Version: V161, Account: account}) {
	case 0:
		return Free
	case 1:
		return Tentative
	case 3:
		return OutOfOffice
	case 4:
		return workingElsewhere
	}
	return Busy
}

// MergeBusy joins overlapping and touching periods; where periods of
// different types overlap, the heavier type wins for the overlap.
func MergeBusy(ps []BusyPeriod) []BusyPeriod {
	if len(ps) == 0 {
		return nil
	}
	type edge struct {
		at    time.Time
		t     BusyType
		delta int
	}
	var edges []edge
	for _, p := range ps {
		if p.End.After(p.Start) && p.Type > Free {
			edges = append(edges, edge{p.Start, p.Type, 1}, edge{p.End, p.Type, -1})
		}
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].at.Before(edges[j].at) })
	var count [NoData + 1]int
	var out []BusyPeriod
	cur, curStart := Free, time.Time{}
	for i := 0; i < len(edges); {
		at := edges[i].at
		for ; i < len(edges) && edges[i].at.Equal(at); i++ {
			count[edges[i].t] += edges[i].delta
		}
		top := Free
		for t := NoData; t > Free; t-- {
			if count[t] > 0 {
				top = t
				break
			}
		}
		if top == cur {
			continue
		}
		if cur != Free {
			out = append(out, BusyPeriod{Start: curStart, End: at, Type: cur})
		}
		cur, curStart = top, at
	}
	return out
}

// MergedFreeBusy writes the periods as ActiveSync's MergedFreeBusy string:
// one digit per interval from start to end (0 free, 1 tentative, 2 busy,
// 3 out of office; the heaviest type in the interval).
func MergedFreeBusy(ps []BusyPeriod, start, end time.Time, interval time.Duration) string {
	if interval <= 0 || !end.After(start) {
		return ""
	}
	n := int((end.Sub(start) + interval - 1) / interval)
	if n > 100000 {
		n = 100000
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = '0'
	}
	for _, p := range ps {
		if p.Type <= Free {
			continue
		}
		first := int(p.Start.Sub(start) / interval)
		last := int((p.End.Sub(start) - 1) / interval)
		if first < 0 {
			first = 0
		}
		for i := first; i <= last && i < n; i++ {
			if d := byte('0' + p.Type); d > out[i] {
				out[i] = d
			}
		}
	}
	return string(out)
}

// VFreeBusy returns a VFREEBUSY component for the window (RFC 5545 3.6.4,
// the answer of a CalDAV free-busy-query, RFC 4791 7.10).
func VFreeBusy(ps []BusyPeriod, start, end, now time.Time) *ical.Component {
	c := ical.NewComponent(ical.CompFreeBusy)
	f := func(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
	setRaw(c, ical.PropDateTimeStamp, f(now))
	setRaw(c, ical.PropDateTimeStart, f(start))
	setRaw(c, ical.PropDateTimeEnd, f(end))
	fb := map[BusyType]string{Tentative: "BUSY-TENTATIVE", Busy: "BUSY", OutOfOffice: "BUSY-UNAVAILABLE"}
	for _, p := range ps {
		kind, ok := fb[p.Type]
		if !ok {
			continue
		}
		prop := ical.Prop{Name: ical.PropFreeBusy, Params: ical.Params{}, Value: f(p.Start) + "/" + f(p.End)}
		prop.Params.Set(ical.ParamFreeBusyType, kind)
		c.Props.Add(&prop)
	}
	return c
}
