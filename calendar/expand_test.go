package calendar

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

func obj(t testing.TB, body string) *Object {
	t.Helper()
	o, err := ParseObject([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + body + "END:VCALENDAR\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func starts(insts []Instance, loc *time.Location) string {
	var s []string
	for _, in := range insts {
		s = append(s, in.StartTime.In(loc).Format("01-02 15:04"))
	}
	return strings.Join(s, " ")
}

// A 09:00 meeting stays at 09:00 local across both DST changes (RFC 5545
// 3.3.10: the rule runs on the wall clock of DTSTART's zone).
func TestExpandAcrossDST(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	o := obj(t, "BEGIN:VEVENT\r\nUID:d\r\nDTSTART;TZID=America/New_York:20240308T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=4\r\nEND:VEVENT\r\n")
	insts, err := o.Expand(ExpandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var utcs []string
	for _, in := range insts {
		utcs = append(utcs, in.StartTime.UTC().Format("01-02T15Z"))
		if in.EndTime.Sub(in.StartTime) != time.Hour {
			t.Errorf("duration %v", in.EndTime.Sub(in.StartTime))
		}
	}
	if got := strings.Join(utcs, " "); got != "03-08T14Z 03-09T14Z 03-10T13Z 03-11T13Z" {
		t.Errorf("got %s", got)
	}
	if got := starts(insts, ny); got != "03-08 09:00 03-09 09:00 03-10 09:00 03-11 09:00" {
		t.Errorf("local %s", got)
	}
	// Southern hemisphere: Sydney's April change.
	syd := mustLoc(t, "Australia/Sydney")
	o = obj(t, "BEGIN:VEVENT\r\nUID:s\r\nDTSTART;TZID=Australia/Sydney:20240405T090000\r\nDTEND;TZID=Australia/Sydney:20240405T093000\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n")
	insts, _ = o.Expand(ExpandOptions{})
	if got := starts(insts, syd); got != "04-05 09:00 04-06 09:00 04-07 09:00" || insts[2].StartTime.Sub(insts[1].StartTime) != 25*time.Hour {
		t.Errorf("Sydney %s", got)
	}
}

// EXDATE, RDATE and RECURRENCE-ID overrides (RFC 5545 3.8.5.1–3, 3.8.4.4),
// including an override moved into the window from outside it and one moved
// out of it.
func TestExpandExceptions(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	o := obj(t, "BEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=Europe/Berlin:20240101T100000\r\nDTEND;TZID=Europe/Berlin:20240101T110000\r\n"+
		"RRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE;TZID=Europe/Berlin:20240115T100000,20240122T100000\r\nRDATE;TZID=Europe/Berlin:20240117T150000\r\n"+
		"EXDATE:20240205T090000Z\r\nEND:VEVENT\r\n"+
		"BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240108T100000\r\nDTSTART;TZID=Europe/Berlin:20240110T120000\r\nDTEND;TZID=Europe/Berlin:20240110T130000\r\nSUMMARY:moved\r\nEND:VEVENT\r\n"+
		"BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240226T100000\r\nDTSTART;TZID=Europe/Berlin:20240131T080000\r\nDTEND;TZID=Europe/Berlin:20240131T090000\r\nSUMMARY:pulled in\r\nEND:VEVENT\r\n"+
		"BEGIN:VEVENT\r\nUID:w\r\nRECURRENCE-ID;TZID=Europe/Berlin:20240129T100000\r\nDTSTART;TZID=Europe/Berlin:20240301T100000\r\nDTEND;TZID=Europe/Berlin:20240301T110000\r\nSUMMARY:pushed out\r\nEND:VEVENT\r\n")
	insts, err := o.Expand(ExpandOptions{Start: utc("20240101T000000Z"), End: utc("20240210T000000Z")})
	if err != nil {
		t.Fatal(err)
	}
	want := "01-01 10:00 01-10 12:00 01-17 15:00 01-31 08:00"
	if got := starts(insts, ber); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !insts[1].IsOverride || insts[1].RecurrenceID.Wall.Day() != 8 || insts[3].RecurrenceID.Wall.Day() != 26 {
		t.Errorf("override identity %+v", insts[1])
	}
	// All-day series with a DATE EXDATE, and an override of a date.
	o = obj(t, "BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20240229\r\nRRULE:FREQ=YEARLY;COUNT=5\r\nEXDATE;VALUE=DATE:20280229\r\nEND:VEVENT\r\n")
	insts, _ = o.Expand(ExpandOptions{Floating: mustLoc(t, "Pacific/Kiritimati")})
	// COUNT=5 from 29 February: only leap years have the date (RFC 5545
	// 3.3.10: invalid dates are ignored); 2028 is excluded.
	if len(insts) != 4 || insts[0].End.Wall.Format("20060102") != "20240301" || insts[1].Start.Wall.Year() != 2032 {
		t.Errorf("leap-day birthday: %d instances %+v", len(insts), insts)
	}
}

// Hostile rules end within the budget: the expansion returns ErrTooComplex
// (and what it found) instead of spinning or allocating without limit.
func TestExpandBounded(t *testing.T) {
	hostile := []string{
		"FREQ=SECONDLY",
		"FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=MINUTELY;BYHOUR=25",
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31;COUNT=1000000000",
		"FREQ=DAILY;INTERVAL=7;BYDAY=TU;COUNT=10",
		"FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO;BYSETPOS=366;COUNT=100000",
		"FREQ=SECONDLY;INTERVAL=1;BYSECOND=59;BYMINUTE=59;BYHOUR=23;BYMONTH=12;BYMONTHDAY=31;BYDAY=MO",
	}
	for _, r := range hostile {
		o := obj(t, "BEGIN:VEVENT\r\nUID:h\r\nDTSTART:20240101T000000Z\r\nRRULE:"+r+"\r\nEND:VEVENT\r\n")
		start := time.Now()
		insts, err := o.Expand(ExpandOptions{Start: utc("20240101T000000Z"), End: utc("21000101T000000Z"), MaxInstances: 1000, MaxWork: 200000})
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v", r, d)
		}
		if len(insts) > 1000 {
			t.Errorf("%s: %d instances", r, len(insts))
		}
		if err != nil && !errors.Is(err, ErrTooComplex) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", r, err)
		}
	}
	// An unbounded daily rule over a huge window is cut at MaxInstances.
	o := obj(t, "BEGIN:VEVENT\r\nUID:h\r\nDTSTART:20240101T000000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n")
	insts, err := o.Expand(ExpandOptions{MaxInstances: 50})
	if !errors.Is(err, ErrTooComplex) || len(insts) > 50 {
		t.Errorf("unbounded: %d %v", len(insts), err)
	}
}

// A window far from DTSTART skips ahead instead of walking every period.
func TestExpandSkipsAhead(t *testing.T) {
	for _, r := range []string{"FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "FREQ=DAILY;INTERVAL=3;UNTIL=29991231T000000Z"} {
		o := obj(t, "BEGIN:VEVENT\r\nUID:f\r\nDTSTART;TZID=Europe/Berlin:19000101T120000\r\nDURATION:PT1H\r\nRRULE:"+r+"\r\nEND:VEVENT\r\n")
		far, err := o.Expand(ExpandOptions{Start: utc("28000301T000000Z"), End: utc("28000401T000000Z"), MaxWork: 5000})
		if err != nil || len(far) == 0 {
			t.Errorf("%s: %d instances, %v", r, len(far), err)
		}
	}
}

func TestDurationParsing(t *testing.T) {
	good := map[string]time.Duration{"PT1H30M": 90 * time.Minute, "-PT15M": -15 * time.Minute, "P1W": 7 * 24 * time.Hour,
		"P1DT2H": 26 * time.Hour, "+PT10S": 10 * time.Second, "P0D": 0}
	for s, want := range good {
		if d, err := parseDuration(s); err != nil || d != want {
			t.Errorf("%s: %v %v", s, d, err)
		}
		if d, _ := parseDuration(formatDuration(want)); d != want {
			t.Errorf("format %v", want)
		}
	}
	for _, s := range []string{"", "P", "PT", "1H", "PTH", "P1H", "PT1D", "P1Y", "PT99999999999H"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

func TestObjectErrors(t *testing.T) {
	if _, err := ParseObject([]byte("BEGIN:VCALENDAR\r\nBEGIN:VJOURNAL\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n")); err == nil {
		t.Error("object without VEVENT/VTODO accepted")
	}
	o := obj(t, "BEGIN:VEVENT\r\nUID:x\r\nSUMMARY:no start\r\nEND:VEVENT\r\n")
	if _, err := o.Expand(ExpandOptions{}); err == nil {
		t.Error("event without DTSTART expanded")
	}
	if _, err := o.ToEAS(EASOptions{}); err == nil {
		t.Error("event without DTSTART converted")
	}
	// Unknown TZID: read as UTC, reported.
	o = obj(t, "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Mars/Olympus:20240101T100000\r\nEND:VEVENT\r\n")
	d, err := o.Start(o.Master)
	if err == nil || !d.Instant(nil).Equal(utc("20240101T100000Z")) {
		t.Errorf("unknown TZID: %v %v", d, err)
	}
	// An override without its master expands by itself.
	o = obj(t, "BEGIN:VEVENT\r\nUID:x\r\nRECURRENCE-ID:20240101T100000Z\r\nDTSTART:20240101T110000Z\r\nEND:VEVENT\r\n")
	insts, err := o.Expand(ExpandOptions{Start: utc("20240101T000000Z"), End: utc("20240102T000000Z")})
	if err != nil || len(insts) != 1 || !insts[0].IsOverride {
		t.Errorf("orphan override: %v %v", insts, err)
	}
	_ = fmt.Sprint
	_ = ical.CompEvent
}

// Free/busy for a week: busy, tentative (an unanswered invitation), out of
// office, free (transparent), declined and cancelled meetings ignored,
// overlaps merged with the heavier type winning.
func TestFreeBusy(t *testing.T) {
	mk := func(uid, start, end, extra string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART:" + start + "\r\nDTEND:" + end + "\r\n" + extra + "END:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	me := "mailto:me@example.com"
	objs := [][]byte{
		mk("busy", "20240603T090000Z", "20240603T100000Z", ""),
		mk("tent", "20240603T093000Z", "20240603T110000Z", "ORGANIZER:mailto:boss@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:"+me+"\r\n"),
		mk("oof", "20240604T000000Z", "20240605T000000Z", "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n"),
		mk("free", "20240605T090000Z", "20240605T100000Z", "TRANSP:TRANSPARENT\r\n"),
		mk("declined", "20240605T120000Z", "20240605T130000Z", "ORGANIZER:mailto:boss@example.com\r\nATTENDEE;PARTSTAT=DECLINED:"+me+"\r\n"),
		mk("cancelled", "20240605T140000Z", "20240605T150000Z", "STATUS:CANCELLED\r\n"),
		mk("weekly", "20240520T160000Z", "20240520T163000Z", "RRULE:FREQ=WEEKLY\r\n"),
		mk("we", "20240606T090000Z", "20240606T100000Z", "X-MICROSOFT-CDO-BUSYSTATUS:WORKINGELSEWHERE\r\n"),
		[]byte("not a calendar"),
	}
	start, end := utc("20240603T000000Z"), utc("20240610T000000Z")
	ps, err := FreeBusy(objs, FreeBusyOptions{Start: start, End: end, Account: "me@example.com"})
	if err == nil {
		t.Error("the unreadable object was not reported")
	}
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s-%s:%d", p.Start.Format("02T15:04"), p.End.Format("02T15:04"), p.Type))
	}
	want := "03T09:00-03T10:00:2 03T10:00-03T11:00:1 03T16:00-03T16:30:2 04T00:00-05T00:00:3"
	if strings.Join(got, " ") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(got, " "), want)
	}
	if mfb := MergedFreeBusy(ps, utc("20240603T080000Z"), utc("20240603T120000Z"), 30*time.Minute); mfb != "00221100" {
		t.Errorf("MergedFreeBusy %s", mfb)
	}
	if MergedFreeBusy(ps, end, start, time.Hour) != "" {
		t.Error("empty window")
	}
	vfb := VFreeBusy(ps, start, end, start)
	fbs := vfb.Props.Values(ical.PropFreeBusy)
	if len(fbs) != 4 || fbs[1].Params.Get(ical.ParamFreeBusyType) != "BUSY-TENTATIVE" || fbs[0].Value != "20240603T090000Z/20240603T100000Z" ||
		fbs[3].Params.Get(ical.ParamFreeBusyType) != "BUSY-UNAVAILABLE" {
		t.Errorf("VFREEBUSY %+v", fbs)
	}
}

// Apple's CalDAV tester data (recurrenceput/25.ics, Apache-2.0): the last
// weekday of every other month from 24 March 2015, with three EXDATEs and a
// transparent override on 31 July. dateutil gives 31 Mar, 29 May, 31 Jul,
// 30 Sep, 30 Nov 2015 and 29 Jan 2016 for the rule; the first two are
// excluded. In free/busy the transparent override is free.
func TestCalDAVTesterRecurrence(t *testing.T) {
	o, err := ParseObject(readCorpus(t, "caldavtester_recurrenceput_25.ics"))
	if err != nil {
		t.Fatal(err)
	}
	la := mustLoc(t, "America/Los_Angeles")
	insts, err := o.Expand(ExpandOptions{Start: utc("20150301T000000Z"), End: utc("20160301T000000Z")})
	if err != nil {
		t.Fatal(err)
	}
	if got := starts(insts, la); got != "07-31 13:00 09-30 13:00 11-30 13:00 01-29 13:00" || !insts[0].IsOverride {
		t.Errorf("got %s", got)
	}
	ps, _ := o.BusyPeriods(FreeBusyOptions{Start: utc("20150301T000000Z"), End: utc("20160301T000000Z")})
	if len(ps) != 3 || !ps[0].Start.Equal(utc("20150930T200000Z")) || ps[0].End.Sub(ps[0].Start) != 45*time.Minute {
		t.Errorf("busy %+v", ps)
	}
	ev, _ := o.ToEAS(EASOptions{Version: V141})
	if r := ev.Recurrence; r.Type != 3 || r.Interval != 2 || r.DayOfWeek != Weekdays || r.WeekOfMonth != 5 {
		t.Errorf("pattern %+v", r)
	}
	// recurrenceput/22.ics: a monthly series whose overrides carry their own
	// alarms; the instance of 1 Feb 2014 is its override, with its 5-minute alarm.
	o, err = ParseObject(readCorpus(t, "caldavtester_recurrenceput_22.ics"))
	if err != nil {
		t.Fatal(err)
	}
	insts, _ = o.Expand(ExpandOptions{Start: utc("20140115T000000Z"), End: utc("20140315T000000Z")})
	if len(insts) != 2 || !insts[0].IsOverride || insts[1].IsOverride || !insts[0].StartTime.Equal(utc("20140201T170000Z")) {
		t.Errorf("22.ics: %+v", insts)
	}
	if ev, _ := o.ToEAS(EASOptions{Version: V141}); len(*ev.Exceptions) != 2 || *(*ev.Exceptions)[1].Reminder != 5 {
		t.Errorf("22.ics exceptions %+v", ev.Exceptions)
	}
}
