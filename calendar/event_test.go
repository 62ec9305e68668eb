package calendar

import (
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

func readCorpus(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/ics/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

// Known answers for the Calendar elements of the corpus objects
// ([MS-ASCAL] 2.2.2, fact sheet §1).
func TestEventToEASKnownAnswers(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	ev, err := EventToEAS(readCorpus(t, "google_recurring.ics"), EASOptions{Version: V141, Account: "bob@example.org", UserZone: ny, Now: utc("20240301T000000Z")})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s wrong", name)
		}
	}
	check("StartTime", ev.StartTime.Equal(utc("20240311T133000Z"))) // 09:30 EDT, the day after the DST change
	check("EndTime", ev.EndTime.Equal(utc("20240311T140000Z")))
	check("AllDayEvent", !*ev.AllDayEvent)
	check("Subject", *ev.Subject == "Daily standup")
	check("Location", *ev.Location == "Room 4, Building B")
	check("Body", strings.Contains(ev.Body.Text, "Or dial: +1 555-0100") && strings.Contains(ev.Body.Text, "\n"))
	check("UID", *ev.UID == "5c7nhr1d1k0qgk4f8v7l0g7u1o@google.com")
	check("Organizer", *ev.OrganizerEmail == "alice@example.com" && *ev.OrganizerName == "Alice Example")
	check("Reminder", *ev.Reminder == 10)
	check("MeetingStatus received", *ev.MeetingStatus == 3)
	check("ResponseType not responded", *ev.ResponseType == 5)
	check("ResponseRequested", *ev.ResponseRequested)
	check("BusyStatus tentative until answered", *ev.BusyStatus == 1)
	check("TimeZone Eastern", ev.TimeZone != nil && ev.TimeZone.Bias == 300 && ev.TimeZone.StandardName == "Eastern Standard Time")
	check("Recurrence", ev.Recurrence != nil && ev.Recurrence.Type == 1 && ev.Recurrence.DayOfWeek == 42)
	atts := *ev.Attendees
	check("Attendees exclude the organizer", len(atts) == 2)
	check("Attendee bob", atts[0] == EASAttendee{Email: "bob@example.org", Name: "bob@example.org", Status: 5, Type: 1})
	check("Attendee carol", atts[1] == EASAttendee{Email: "carol@example.net", Name: "Carol", Status: 2, Type: 2})
	check("one exception", ev.Exceptions != nil && len(*ev.Exceptions) == 1)
	ex := (*ev.Exceptions)[0]
	check("ExceptionStartTime", ex.ExceptionStartTime.Equal(utc("20240315T133000Z")))
	check("exception subject", *ex.Subject == "Daily standup (moved)")
	check("exception start", ex.StartTime.Equal(utc("20240315T150000Z")))
	check("exception inherits location", ex.Location == nil || *ex.Location == "")

	// The organizer's view of the same object.
	org, _ := EventToEAS(readCorpus(t, "google_recurring.ics"), EASOptions{Version: V161, Account: "alice@example.com", UserZone: ny})
	check("organizer MeetingStatus", *org.MeetingStatus == 1 && *org.ResponseType == 1)
	check("organizer busy", *org.BusyStatus == 2)
	check("16.x Location container", org.LocationInfo != nil && org.LocationInfo.DisplayName == "Room 4, Building B" && org.Location == nil)

	// Outlook: Windows zone name, OOF, private, HTML body, EXDATE.
	ol, err := EventToEAS(readCorpus(t, "outlook_monthly.ics"), EASOptions{Version: V141, UserZone: time.UTC, Now: utc("20240601T000000Z")})
	if err != nil {
		t.Fatal(err)
	}
	check("Outlook start in Berlin", ol.StartTime.Equal(utc("20240702T070000Z")))
	check("Outlook blob", ol.TimeZone.Bias == -60 && ol.TimeZone.StandardName == "W. Europe Standard Time")
	check("BusyStatus OOF", *ol.BusyStatus == 3)
	check("Sensitivity private", *ol.Sensitivity == 2)
	check("HTML body", strings.Contains(ol.Body.HTML, "<b>numbers</b>"))
	check("monthly first Tuesday", ol.Recurrence.Type == 3 && ol.Recurrence.DayOfWeek == 4 && ol.Recurrence.WeekOfMonth == 1)
	check("Until", ol.Recurrence.Until.Equal(utc("20250630T070000Z")))
	check("Deleted exception", len(*ol.Exceptions) == 1 && (*ol.Exceptions)[0].Deleted && (*ol.Exceptions)[0].ExceptionStartTime.Equal(utc("20240903T070000Z")))
	check("DisallowNewTimeProposal", !*ol.DisallowNewTimeProposal)
	check("appointment", *ol.MeetingStatus == 0 && ol.ResponseType == nil)

	// Thunderbird: DURATION, RELATED=END alarm, categories over two lines.
	tb, err := EventToEAS(readCorpus(t, "thunderbird_duration.ics"), EASOptions{Version: V141, Account: "frank@example.com.au"})
	if err != nil {
		t.Fatal(err)
	}
	check("DURATION end", tb.EndTime.Sub(*tb.StartTime) == 150*time.Minute)
	check("start in Sydney on the DST day", tb.StartTime.Equal(utc("20241006T080000Z")))
	check("RELATED=END -PT3H is 30 min before the start", *tb.Reminder == 30)
	check("categories", strings.Join(*tb.Categories, "|") == "Business|Food|Team")
	check("room is a resource", (*tb.Attendees)[2].Type == 3)
	check("delegated is unknown", (*tb.Attendees)[1].Status == 0)
}

// All-day events keep their date in every zone from UTC−12 to UTC+14, in
// ≤14.1 (midnight in the blob's zone) and 16.x (dates), there and back.
func TestAllDayEveryZone(t *testing.T) {
	stored := readCorpus(t, "apple_birthday.ics")
	for off := -12; off <= 14; off++ {
		name := "Etc/GMT"
		if off > 0 {
			name += "-" + itoa(off)
		} else if off < 0 {
			name += "+" + itoa(-off)
		}
		zone := mustLoc(t, name)
		for _, v := range []Version{V121, V141, V161} {
			opts := EASOptions{Version: v, UserZone: zone}
			ev, err := EventToEAS(stored, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !*ev.AllDayEvent {
				t.Fatalf("%s %v: not all-day", name, v)
			}
			if v.is16() {
				if ev.TimeZone != nil || !ev.StartTime.Equal(utc("20240315T000000Z")) || !ev.EndTime.Equal(utc("20240316T000000Z")) {
					t.Errorf("%s %v: %v %v %v", name, v, ev.TimeZone, ev.StartTime, ev.EndTime)
				}
			} else if got := ev.StartTime.In(zone); got.Format("20060102T150405") != "20240315T000000" {
				t.Errorf("%s %v: start %s", name, v, got)
			}
			// The device sends the same back (with its blob): nothing changes.
			out, res, err := MergeEvent(stored, ev, MergeOptions{EASOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Changed) != 0 || string(out) != string(stored) {
				t.Errorf("%s %v: echo changed %v", name, v, res.Changed)
			}
			// The device moves it by one day: still a date.
			moved := *ev
			moved.StartTime, moved.EndTime = Ptr(ev.StartTime.AddDate(0, 0, 1)), Ptr(ev.EndTime.AddDate(0, 0, 1))
			out, _, err = MergeEvent(stored, &moved, MergeOptions{EASOptions: opts})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), "DTSTART;VALUE=DATE:20240316\r\n") || !strings.Contains(string(out), "DTEND;VALUE=DATE:20240317\r\n") {
				t.Errorf("%s %v: moved event\n%s", name, v, out)
			}
		}
	}
}

func itoa(n int) string {
	return strings.TrimSpace(strings.Replace(time.Duration(n).String(), "ns", "", 1))
}

func mustParse(t testing.TB, b []byte) *ical.Calendar {
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// changedLines lists the lines of b that a does not have.
func changedLines(a, b []byte) []string {
	have := map[string]int{}
	for _, l := range unfold(a) {
		have[l]++
	}
	var out []string
	for _, l := range unfold(b) {
		if have[l] > 0 {
			have[l]--
			continue
		}
		name := l
		if i := strings.IndexAny(l, ";:"); i > 0 {
			name = l[:i]
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Editing one field changes only that field (and the revision stamps), and
// what the device cannot see survives: the second alarm, X- properties,
// the attendees' parameters, the override.
func TestMergeChangesOnlyThatField(t *testing.T) {
	stored := Encode(mustParse(t, readCorpus(t, "google_recurring.ics")))
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, Account: "bob@example.org", UserZone: mustLoc(t, "Europe/Paris"), Now: utc("20240305T080000Z")}}
	ev, err := EventToEAS(stored, opts.EASOptions)
	if err != nil {
		t.Fatal(err)
	}
	ev.Subject = Ptr("Daily standup, new name")
	// A Paris device sends its own zone with the unchanged times.
	paris := NewTimeZone(mustLoc(t, "Europe/Paris"), utc("20240305T080000Z"))
	ev.TimeZone = &paris
	out, res, err := MergeEvent(stored, ev, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(changedLines(stored, out), " "); got != "DTSTAMP LAST-MODIFIED SUMMARY" {
		t.Errorf("changed lines: %s\n%s", got, out)
	}
	if strings.Join(res.Changed, ",") != "Subject" || res.Rescheduled {
		t.Errorf("result %+v", res)
	}
	for _, keep := range []string{"X-NUM-GUESTS=0", "ACTION:EMAIL", "X-GOOGLE-CONFERENCE", "RECURRENCE-ID;TZID=America/New_York:20240315T093000", "DTSTART;TZID=America/New_York:20240311T093000"} {
		if !strings.Contains(string(out), keep) {
			t.Errorf("lost %s", keep)
		}
	}
}

// Ghosting ([MS-ASCMD] 2.2.3.168; fact sheet §1): in ≤14.1 an element listed
// in Supported and absent is deleted, unlisted ones stay; in 16.x absent
// elements always stay. An empty element clears in every version.
func TestMergeGhosting(t *testing.T) {
	stored := readCorpus(t, "thunderbird_duration.ics")
	base := EASOptions{Account: "erin@example.com.au", UserZone: mustLoc(t, "Australia/Sydney")}
	tests := []struct {
		name      string
		v         Version
		supported []string
		dev       EASEvent
		gone      []string
		kept      []string
	}{
		{"14.1 listed and absent: deleted", V141, []string{"Categories", "Location", "Reminder"}, EASEvent{EASItem: EASItem{Subject: Ptr("Team dinner")}},
			[]string{"CATEGORIES", "LOCATION", "BEGIN:VALARM"}, []string{"DESCRIPTION", "ATTENDEE", "GEO"}},
		{"14.1 unlisted and absent: kept", V141, nil, EASEvent{EASItem: EASItem{Subject: Ptr("Team dinner")}},
			nil, []string{"CATEGORIES", "LOCATION", "BEGIN:VALARM", "DESCRIPTION", "ATTENDEE"}},
		{"16.1 absent: kept whatever Supported says", V161, []string{"Categories", "Location"}, EASEvent{},
			nil, []string{"CATEGORIES", "LOCATION", "BEGIN:VALARM"}},
		{"empty elements clear", V161, nil, EASEvent{EASItem: EASItem{Categories: &[]string{}, Reminder: Ptr(ReminderNone), Body: &EASBody{}, LocationInfo: &EASLocation{}}},
			[]string{"CATEGORIES", "BEGIN:VALARM", "DESCRIPTION", "LOCATION", "GEO"}, []string{"SUMMARY", "ATTENDEE"}},
	}
	for _, tc := range tests {
		opts := MergeOptions{EASOptions: base, Supported: tc.supported}
		opts.Version = tc.v
		out, _, err := MergeEvent(stored, &tc.dev, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range tc.gone {
			if strings.Contains(string(out), "\n"+g) {
				t.Errorf("%s: %s still there", tc.name, g)
			}
		}
		for _, k := range tc.kept {
			if !strings.Contains(string(out), "\n"+k) {
				t.Errorf("%s: %s lost", tc.name, k)
			}
		}
	}
}

// Invariant 2: an RRULE ActiveSync cannot express is sent as the nearest
// pattern, and the device's echo of that pattern does not overwrite it. A
// different pattern does.
func TestMergeKeepsLossyRRULE(t *testing.T) {
	stored := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:lossy\r\nDTSTAMP:20240101T000000Z\r\n" +
		"DTSTART:20240101T090000Z\r\nDTEND:20240101T100000Z\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=24\r\nSUMMARY:Payroll\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	opts := MergeOptions{EASOptions: EASOptions{Version: V141}}
	ev, err := EventToEAS(stored, opts.EASOptions)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Recurrence == nil || ev.Recurrence.Type != 2 || ev.Recurrence.DayOfMonth != 1 || ev.Recurrence.Occurrences != 24 {
		t.Fatalf("nearest pattern %+v", ev.Recurrence)
	}
	ev.Subject = Ptr("Payroll run")
	out, res, err := MergeEvent(stored, ev, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=24\r\n") || !res.RecurrenceKept {
		t.Errorf("stored RRULE overwritten by the echo:\n%s", out)
	}
	// A real change of pattern replaces it.
	ev.Recurrence = &EASRecurrence{Type: 1, DayOfWeek: Friday, Occurrences: 10}
	out, res, err = MergeEvent(stored, ev, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "RRULE:FREQ=WEEKLY;COUNT=10;BYDAY=FR\r\n") || !contains(res.Changed, "Recurrence") {
		t.Errorf("new pattern not applied:\n%s", out)
	}
	// 16.x: an empty Recurrence removes it.
	opts.Version = V161
	out, _, err = MergeEvent(stored, &EASEvent{Recurrence: &EASRecurrence{Empty: true}}, opts)
	if err != nil || strings.Contains(string(out), "RRULE") {
		t.Errorf("empty Recurrence kept the RRULE: %v\n%s", err, out)
	}
	// A forbidden pattern is Status 6.
	if _, _, err := MergeEvent(stored, &EASEvent{Recurrence: &EASRecurrence{Type: 4}}, opts); !errors.Is(err, ErrInvalid) {
		t.Errorf("Type 4: %v", err)
	}
}

// Attendees merge by address and keep their parameters; in 16.x the device
// cannot set a status; new attendees are NEEDS-ACTION; an organizer's
// reschedule bumps SEQUENCE and asks everyone again (RFC 6638 3.2.8).
func TestMergeAttendees(t *testing.T) {
	stored := readCorpus(t, "thunderbird_duration.ics")
	opts := MergeOptions{EASOptions: EASOptions{Version: V161, Account: "erin@example.com.au", UserZone: mustLoc(t, "Australia/Sydney")}}
	ev, err := EventToEAS(stored, opts.EASOptions)
	if err != nil {
		t.Fatal(err)
	}
	list := *ev.Attendees
	list[0].Status = 3                                                                  // a 16.x client must not send status: ignored
	list = append(list[:1], list[2:]...)                                                // hal removed
	list = append(list, EASAttendee{Email: "ivy@example.com.au", Name: "Ivy", Type: 2}) // ivy added
	out, res, err := MergeEvent(stored, &EASEvent{EASItem: EASItem{Attendees: &list}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s := string(unfoldText(out))
	for _, want := range []string{
		"ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:frank@example.com.au",
		"ATTENDEE;CN=Harbour Room;CUTYPE=ROOM;PARTSTAT=ACCEPTED;ROLE=NON-PARTICIPANT:mailto:harbour@rooms.example.com.au",
		"ATTENDEE;CN=Ivy;PARTSTAT=NEEDS-ACTION;ROLE=OPT-PARTICIPANT;RSVP=TRUE:mailto:ivy@example.com.au",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	if strings.Contains(s, "hal@") || strings.Join(res.AttendeesAdded, ",") != "ivy@example.com.au" || strings.Join(res.AttendeesRemoved, ",") != "hal@example.com.au" {
		t.Errorf("result %+v", res)
	}
	// ≤14.1 may set a status.
	opts.Version = V141
	one := []EASAttendee{{Email: "FRANK@example.com.au", Status: 4}, {Email: "hal@example.com.au"}, {Email: "harbour@rooms.example.com.au"}}
	out, _, _ = MergeEvent(stored, &EASEvent{EASItem: EASItem{Attendees: &one}}, opts)
	if !strings.Contains(string(unfoldText(out)), "PARTSTAT=DECLINED;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:frank@") {
		t.Errorf("14.1 status not applied\n%s", out)
	}
	// The organizer moves the dinner: SEQUENCE 1, everyone asked again.
	later := utc("20241006T090000Z")
	out, res, err = MergeEvent(stored, &EASEvent{EASItem: EASItem{StartTime: &later}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s = string(unfoldText(out))
	if !res.Rescheduled || !strings.Contains(s, "SEQUENCE:1\r\n") || strings.Contains(s, "PARTSTAT=ACCEPTED;ROLE=NON") ||
		!strings.Contains(s, "DTSTART;TZID=Australia/Sydney:20241006T200000") || !strings.Contains(s, "DURATION:PT2H30M") {
		t.Errorf("reschedule: %+v\n%s", res, s)
	}
}

func unfoldText(b []byte) []byte { return []byte(strings.Join(unfold(b), "\r\n")) }

// Exceptions: ≤14.1 ExceptionStartTime and 16.x InstanceId map to
// RECURRENCE-ID in the master's zone; Deleted is an EXDATE.
func TestMergeExceptions(t *testing.T) {
	stored := readCorpus(t, "google_recurring.ics")
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, Account: "bob@example.org", UserZone: mustLoc(t, "UTC")}}
	excs := []EASException{
		{Deleted: true, ExceptionStartTime: utc("20240318T133000Z")},
		{ExceptionStartTime: utc("20240320T133000Z"), EASItem: EASItem{Subject: Ptr("Standup at the café"), Location: Ptr("Café")}},
		{ExceptionStartTime: utc("20240315T133000Z"), EASItem: EASItem{Location: Ptr("Room 9")}}, // the existing override
	}
	out, res, err := MergeEvent(stored, &EASEvent{Exceptions: &excs}, opts)
	if err != nil {
		t.Fatal(err)
	}
	o, err := ParseObject(out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(unfoldText(out))
	if !strings.Contains(s, "EXDATE;TZID=America/New_York:20240318T093000") {
		t.Errorf("no EXDATE\n%s", s)
	}
	if len(o.Overrides) != 2 || !contains(res.Changed, "Exceptions") {
		t.Fatalf("%d overrides, %+v", len(o.Overrides), res)
	}
	ny := mustLoc(t, "America/New_York")
	insts, err := o.Expand(ExpandOptions{Start: utc("20240315T000000Z"), End: utc("20240323T000000Z"), Floating: ny})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range insts {
		sum, _ := propText(in.Component, ical.PropSummary)
		loc, _ := propText(in.Component, ical.PropLocation)
		got = append(got, in.StartTime.In(ny).Format("Mon 15:04")+" "+sum+" @"+loc)
	}
	want := []string{
		"Fri 11:00 Daily standup (moved) @Room 9",
		"Wed 09:30 Standup at the café @Café",
		"Fri 09:30 Daily standup @Room 4, Building B",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("instances\n got %q\nwant %q", got, want)
	}
	// 16.x: edit and delete single instances by InstanceId.
	opts.Version = V161
	out, _, err = MergeInstance(stored, utc("20240325T133000Z"), &EASItem{Subject: Ptr("One-off")}, opts)
	if err != nil || !strings.Contains(string(out), "RECURRENCE-ID;TZID=America/New_York:20240325T093000") || !strings.Contains(string(out), "SUMMARY:One-off") {
		t.Errorf("MergeInstance: %v\n%s", err, out)
	}
	out, _, err = DeleteInstance(out, utc("20240327T133000Z"), opts)
	if err != nil || !strings.Contains(string(out), "EXDATE;TZID=America/New_York:20240327T093000") {
		t.Errorf("DeleteInstance: %v\n%s", err, out)
	}
	single := []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:s\r\nDTSTART:20240101T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	if _, _, err := DeleteInstance(single, utc("20240101T090000Z"), opts); !errors.Is(err, ErrInvalid) {
		t.Errorf("instance of a single event: %v", err)
	}
}

// A Sync Add: ≤14.1 takes the client's UID, 16.x assigns one; a timed event
// in a device zone gets that zone's TZID and VTIMEZONE.
func TestMergeAdd(t *testing.T) {
	ber := NewTimeZone(mustLoc(t, "Europe/Berlin"), utc("20240601T000000Z"))
	dev := &EASEvent{
		EASItem: EASItem{
			StartTime: Ptr(utc("20240610T080000Z")), EndTime: Ptr(utc("20240610T090000Z")),
			Subject: Ptr("Dentist"), Reminder: Ptr(30), BusyStatus: Ptr(2), Sensitivity: Ptr(1),
			Categories: &[]string{"Health", "a,b"}, Body: &EASBody{HTML: "<p>Bring <b>card</b></p>"},
		},
		TimeZone: &ber, UID: Ptr("client-uid-1"), ClientUID: Ptr("c-1"),
	}
	out, res, err := MergeEvent(nil, dev, MergeOptions{EASOptions: EASOptions{Version: V141, Now: utc("20240601T000000Z")}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(unfoldText(out))
	for _, want := range []string{"UID:client-uid-1", "X-GATEHOUSE-CLIENTUID:c-1", "DTSTART;TZID=Europe/Berlin:20240610T100000", "DTEND;TZID=Europe/Berlin:20240610T110000",
		"BEGIN:VTIMEZONE", "TZID:Europe/Berlin", "SUMMARY:Dentist", "TRIGGER:-PT30M", "CLASS:X-PERSONAL", "CATEGORIES:Health,a\\,b",
		"X-MICROSOFT-CDO-BUSYSTATUS:BUSY", "DESCRIPTION:Bring card", "X-ALT-DESC;FMTTYPE=text/html:<p>Bring <b>card</b></p>"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
	if !res.Created || res.UID != "client-uid-1" {
		t.Errorf("%+v", res)
	}
	// Read back: the same elements.
	ev, err := EventToEAS(out, EASOptions{Version: V141})
	if err != nil || *ev.Reminder != 30 || *ev.Sensitivity != 1 || (*ev.Categories)[1] != "a,b" || !ev.StartTime.Equal(*dev.StartTime) {
		t.Errorf("read back: %v %+v", err, ev)
	}
	// 16.x ignores the client's UID and assigns NewUID; no StartTime is the next half hour.
	out, res, err = MergeEvent(nil, &EASEvent{UID: Ptr("nope"), EASItem: EASItem{Subject: Ptr("x")}},
		MergeOptions{EASOptions: EASOptions{Version: V161, Now: utc("20240601T101500Z")}, NewUID: "server-uid"})
	if err != nil || res.UID != "server-uid" || !strings.Contains(string(out), "DTSTART:20240601T103000Z") || !strings.Contains(string(out), "DTEND:20240601T110000Z") {
		t.Errorf("16.x add: %v %+v\n%s", err, res, out)
	}
	if _, _, err := MergeEvent(nil, &EASEvent{EASItem: EASItem{StartTime: Ptr(utc("20240601T100000Z")), EndTime: Ptr(utc("20240601T090000Z"))}}, MergeOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("end before start: %v", err)
	}
}
