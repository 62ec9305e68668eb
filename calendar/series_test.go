package calendar

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

const allDaySeries = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:ad\r\nDTSTAMP:20240101T000000Z\r\n" +
	"DTSTART;VALUE=DATE:20240101\r\nDTEND;VALUE=DATE:20240102\r\nRRULE:FREQ=WEEKLY;UNTIL=20240325\r\nSUMMARY:Bin day\r\n" +
	"EXDATE;VALUE=DATE:20240108\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:ad\r\nDTSTAMP:20240101T000000Z\r\nRECURRENCE-ID;VALUE=DATE:20240115\r\nDTSTART;VALUE=DATE:20240116\r\nDTEND;VALUE=DATE:20240117\r\nSUMMARY:Bin day (late)\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

// An all-day series: Until, ExceptionStartTime and InstanceId are midnight
// in the user's zone in ≤14.1 and dates at 00:00Z in 16.x ([MS-ASCAL]
// 2.2.2.1, fact sheet §1 and §3); the device's answers map back to DATE
// RECURRENCE-IDs and EXDATEs.
func TestAllDaySeriesBothVersions(t *testing.T) {
	tokyo := mustLoc(t, "Asia/Tokyo")
	ev, err := EventToEAS([]byte(allDaySeries), EASOptions{Version: V141, UserZone: tokyo})
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Recurrence.Until.Equal(utc("20240324T150000Z")) || len(*ev.Exceptions) != 2 {
		t.Fatalf("14.1: Until %v, %d exceptions", ev.Recurrence.Until, len(*ev.Exceptions))
	}
	ex := *ev.Exceptions
	if !ex[0].Deleted || !ex[0].ExceptionStartTime.Equal(utc("20240107T150000Z")) || !ex[1].ExceptionStartTime.Equal(utc("20240114T150000Z")) ||
		!ex[1].StartTime.Equal(utc("20240115T150000Z")) || *ex[1].Subject != "Bin day (late)" {
		t.Errorf("14.1 exceptions %+v", ex)
	}
	ev16, _ := EventToEAS([]byte(allDaySeries), EASOptions{Version: V161, UserZone: tokyo})
	ex16 := *ev16.Exceptions
	if !ev16.Recurrence.Until.Equal(utc("20240325T000000Z")) || !ex16[0].ExceptionStartTime.Equal(utc("20240108T000000Z")) || ev16.TimeZone != nil {
		t.Errorf("16.x: %v %v", ev16.Recurrence.Until, ex16[0].ExceptionStartTime)
	}
	// The device deletes 22 January and moves 29 January (14.1, Tokyo).
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, UserZone: tokyo}}
	more := append(ex, EASException{Deleted: true, ExceptionStartTime: utc("20240121T150000Z")},
		EASException{ExceptionStartTime: utc("20240128T150000Z"), EASItem: EASItem{StartTime: Ptr(utc("20240129T150000Z")), EndTime: Ptr(utc("20240130T150000Z")), AllDayEvent: Ptr(true)}})
	out, _, err := MergeEvent([]byte(allDaySeries), &EASEvent{Exceptions: &more}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"EXDATE;VALUE=DATE:20240122", "RECURRENCE-ID;VALUE=DATE:20240129", "DTSTART;VALUE=DATE:20240130"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	// 16.x: the same by InstanceId dates.
	out, _, err = DeleteInstance([]byte(allDaySeries), utc("20240122T000000Z"), MergeOptions{EASOptions: EASOptions{Version: V161}})
	if err != nil || !strings.Contains(string(out), "EXDATE;VALUE=DATE:20240122") {
		t.Errorf("16.x delete %v\n%s", err, out)
	}
	// An instance of the series as an ITIP cancel: EXDATE on a date.
	cancel := "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nUID:ad\r\nRECURRENCE-ID;VALUE=DATE:20240205\r\nDTSTART;VALUE=DATE:20240205\r\nSEQUENCE:1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	out, res, err := ApplyCancel([]byte(allDaySeries), []byte(cancel), ITIPOptions{})
	if err != nil || !res.Instance || !strings.Contains(string(out), "EXDATE;VALUE=DATE:20240205") {
		t.Errorf("cancel instance %v\n%s", err, out)
	}
}

// Moving a ≤14.1 series keeps its exceptions on their instances: the
// RECURRENCE-IDs and EXDATEs move with DTSTART. Turning it into an all-day
// series makes UNTIL a DATE (RFC 5545 3.3.10).
func TestMoveSeries(t *testing.T) {
	stored := readCorpus(t, "outlook_monthly.ics")
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, Account: "x@example.com"}}
	ev, _ := EventToEAS(stored, opts.EASOptions)
	later := ev.StartTime.Add(time.Hour)
	out, res, err := MergeEvent(stored, &EASEvent{EASItem: EASItem{StartTime: &later}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "EXDATE;TZID=W. Europe Standard Time:20240903T100000") || !contains(res.Changed, "StartTime") {
		t.Errorf("EXDATE not moved\n%s", out)
	}
	g := readCorpus(t, "google_recurring.ics")
	gev, _ := EventToEAS(g, EASOptions{Version: V141})
	earlier := gev.StartTime.Add(-30 * time.Minute)
	out, _, _ = MergeEvent(g, &EASEvent{EASItem: EASItem{StartTime: &earlier}}, MergeOptions{EASOptions: EASOptions{Version: V141}})
	if !strings.Contains(string(out), "RECURRENCE-ID;TZID=America/New_York:20240315T090000") {
		t.Errorf("RECURRENCE-ID not moved\n%s", out)
	}
	// 16.x: moving the series drops its exceptions.
	out, _, _ = MergeEvent(g, &EASEvent{EASItem: EASItem{StartTime: &earlier}}, MergeOptions{EASOptions: EASOptions{Version: V161}})
	if strings.Contains(string(out), "RECURRENCE-ID") {
		t.Errorf("16.x kept the exceptions\n%s", out)
	}
	// All-day now: DATE values, UNTIL a DATE.
	d0 := utc("20240702T000000Z")
	out, _, err = MergeEvent(stored, &EASEvent{EASItem: EASItem{AllDayEvent: Ptr(true), StartTime: &d0, EndTime: Ptr(d0.AddDate(0, 0, 1))}}, MergeOptions{EASOptions: EASOptions{Version: V161}})
	if err != nil || !strings.Contains(string(out), "DTSTART;VALUE=DATE:20240702") || !strings.Contains(string(out), "UNTIL=20250630;") ||
		!strings.Contains(string(out), "X-MICROSOFT-CDO-ALLDAYEVENT:TRUE") {
		t.Errorf("all-day %v\n%s", err, out)
	}
	// And back to timed: UNTIL in UTC again.
	back, _, _ := MergeEvent(out, &EASEvent{EASItem: EASItem{AllDayEvent: Ptr(false), StartTime: Ptr(utc("20240702T070000Z")), EndTime: Ptr(utc("20240702T080000Z"))}}, MergeOptions{EASOptions: EASOptions{Version: V161}})
	if !strings.Contains(string(back), "UNTIL=20250630T") {
		t.Errorf("timed again\n%s", back)
	}
}

// The 16.x Location container: every part survives a round trip through
// the stored event, and an empty container deletes it ([MS-ASAIRS] 2.2.2.27).
func TestLocationContainer(t *testing.T) {
	l := EASLocation{DisplayName: "HQ", Annotation: "3rd floor", Street: "1 Main St", City: "Springfield", State: "IL",
		Country: "US", PostalCode: "62701", Latitude: Ptr(39.8), Longitude: Ptr(-89.65), Accuracy: Ptr(5.0), Altitude: Ptr(180.5),
		AltitudeAccuracy: Ptr(2.0), LocationURI: "https://maps.example.com/hq"}
	opts := MergeOptions{EASOptions: EASOptions{Version: V161}}
	out, _, err := MergeEvent(nil, &EASEvent{EASItem: EASItem{StartTime: Ptr(utc("20240101T100000Z")), EndTime: Ptr(utc("20240101T110000Z")), LocationInfo: &l}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := EventToEAS(out, opts.EASOptions)
	if !eqLoc(ev.LocationInfo, &l) {
		t.Errorf("got %+v\n%s", ev.LocationInfo, out)
	}
	// ≤14.1 sees the name.
	if old, _ := EventToEAS(out, EASOptions{Version: V141}); *old.Location != "HQ" {
		t.Errorf("14.1 Location %v", old.Location)
	}
	// The echo changes nothing; a 16.x plain Location renames it; empty deletes.
	if again, res, _ := MergeEvent(out, ev, opts); len(res.Changed) != 0 || string(again) != string(out) {
		t.Errorf("echo changed %v", res.Changed)
	}
	renamed, _, _ := MergeEvent(out, &EASEvent{EASItem: EASItem{Location: Ptr("Annex")}}, opts)
	if !strings.Contains(string(renamed), "LOCATION;ALTREP=\"https://maps.example.com/hq\":Annex") {
		t.Errorf("rename\n%s", renamed)
	}
	gone, _, _ := MergeEvent(out, &EASEvent{EASItem: EASItem{LocationInfo: &EASLocation{}}}, opts)
	if strings.Contains(string(gone), "LOCATION") || strings.Contains(string(gone), "GEO") {
		t.Errorf("empty container kept\n%s", gone)
	}
}

// Reminders: absolute and RELATED=END triggers convert to minutes before
// the start; setting one keeps the other alarms; types of attendees map to
// ROLE and CUTYPE.
func TestRemindersAndAttendeeTypes(t *testing.T) {
	ber := mustLoc(t, "Europe/Berlin")
	text := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTART;TZID=Europe/Berlin:20240601T100000\r\nDTEND;TZID=Europe/Berlin:20240601T120000\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;VALUE=DATE-TIME:20240601T090000\r\nEND:VALARM\r\n" +
		"BEGIN:VALARM\r\nACTION:EMAIL\r\nTRIGGER;RELATED=END:PT0M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	ev, err := EventToEAS([]byte(text), EASOptions{Version: V141, UserZone: ber})
	if err != nil || *ev.Reminder != 60 {
		t.Fatalf("absolute floating trigger: %v %v", err, ev.Reminder)
	}
	out, _, _ := MergeEvent([]byte(text), &EASEvent{EASItem: EASItem{Reminder: Ptr(15)}}, MergeOptions{EASOptions: EASOptions{Version: V141, UserZone: ber}})
	if !strings.Contains(string(out), "TRIGGER:-PT15M") || !strings.Contains(string(out), "ACTION:EMAIL") {
		t.Errorf("reminder\n%s", out)
	}
	atts := []EASAttendee{{Email: "room@example.com", Type: 3}, {Email: "opt@example.com", Type: 2, Status: 3}, {Email: "req@example.com", Type: 1}}
	out, _, _ = MergeEvent([]byte(text), &EASEvent{EASItem: EASItem{Attendees: &atts}}, MergeOptions{EASOptions: EASOptions{Version: V141, Account: "me@example.com"}})
	s := string(unfoldText(out))
	for _, want := range []string{"CUTYPE=RESOURCE;PARTSTAT=NEEDS-ACTION;ROLE=NON-PARTICIPANT", "ROLE=OPT-PARTICIPANT", "ORGANIZER:mailto:me@example.com"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	// Changing types back and forth.
	atts = []EASAttendee{{Email: "room@example.com", Type: 1}, {Email: "opt@example.com", Type: 3}}
	out, res, _ := MergeEvent(out, &EASEvent{EASItem: EASItem{Attendees: &atts}}, MergeOptions{EASOptions: EASOptions{Version: V141, Account: "me@example.com"}})
	ev, _ = EventToEAS(out, EASOptions{Version: V141, Account: "me@example.com"})
	if (*ev.Attendees)[0].Type != 1 || (*ev.Attendees)[1].Type != 3 || len(res.AttendeesRemoved) != 1 {
		t.Errorf("types %+v %+v", *ev.Attendees, res)
	}
	// Task reminders relative to DUE.
	task := "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nDUE:20240601T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:-PT30M\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	tk, _ := TaskToEAS([]byte(task), EASOptions{})
	if !tk.ReminderTime.Equal(utc("20240601T093000Z")) {
		t.Errorf("task reminder %v", tk.ReminderTime)
	}
}

// VTimezoneFor writes a VTIMEZONE a CalDAV client can read back to the
// same rules.
func TestVTimezoneFor(t *testing.T) {
	for _, z := range []string{"America/New_York", "Australia/Sydney", "Asia/Kolkata", "Europe/Dublin"} {
		loc := mustLoc(t, z)
		at := utc("20240601T000000Z")
		vtz := VTimezoneFor(loc, at)
		if id := vtz.Props.Get(ical.PropTimezoneID); id == nil || id.Value != z {
			t.Fatalf("%s: TZID", z)
		}
		back, err := TimeZoneFromVTimezone(vtz, 2024)
		if err != nil || !sameRules(back, NewTimeZone(loc, at), 2024, false) {
			t.Errorf("%s: %#v %v", z, back, err)
		}
		custom, err := LocationFromVTimezone(vtz)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []time.Month{1, 7} {
			when := time.Date(time.Now().Year(), m, 15, 12, 0, 0, 0, time.UTC)
			_, a := when.In(custom).Zone()
			_, b := when.In(loc).Zone()
			if a != b {
				t.Errorf("%s %v: %d != %d", z, m, a, b)
			}
		}
	}
}

func TestDateTimeHelpers(t *testing.T) {
	d := NewDate(2024, 2, 29)
	if y, m, dd := d.Date(); y != 2024 || m != 2 || dd != 29 || d.String() != "20240229" {
		t.Error("date")
	}
	ny := mustLoc(t, "America/New_York")
	dt := NewDateTimeIn(utc("20240704T130000Z"), ny, "")
	if dt.String() != "20240704T090000" || dt.TZID != "America/New_York" {
		t.Errorf("%v", dt)
	}
	if u := NewDateTimeIn(utc("20240704T130000Z"), nil, ""); u.String() != "20240704T130000Z" {
		t.Errorf("%v", u)
	}
	for _, bad := range []string{"2024", "20240230", "20241301", "20240101X100000", "20240101T250000", "20240101T100000X", "2024010aT100000"} {
		if _, _, _, err := parseWall(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if w, _, _, err := parseWall("20161231T235960Z"); err != nil || w.Second() != 59 {
		t.Errorf("leap second: %v %v", w, err)
	}
}
