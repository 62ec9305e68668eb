package calendar

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// GlobalObjId vectors. The Outlook ID and the vCal-Uid ID are the values of
// NachoClient's GlobalObjIdToUid tests ("taken from actual e-mail messages
// and their corresponding calendar events"); the decoding rule is
// [MS-ASEMAIL] 3.1.4.7 / [MS-OXCICAL] 2.1.3.1.1.20.26 as the fact sheet
// (§4) states it. NachoClient strips the braces and dashes of the vCal UID
// for its own use; the UID itself is the text between "vCal-Uid\x01\0\0\0"
// and the NUL.
func TestGlobalObjIDVectors(t *testing.T) {
	tests := []struct {
		goid, uid string
		inst      time.Time
	}{
		{"BAAAAIIA4AB0xbcQGoLgCAfUCRDgQMnBJoXEAQAAAAAAAAAAEAAAAAvw7UtuTulOnjnjhns3jvM=",
			"040000008200E00074C5B7101A82E00800000000E040C9C12685C4010000000000000000100000000BF0ED4B6E4EE94E9E39E3867B378EF3",
			time.Date(2004, 9, 16, 0, 0, 0, 0, time.UTC)},
		{"BAAAAIIA4AB0xbcQGoLgCAAAAAAAAAAAAAAAAAAAAAAAAAAAMwAAAHZDYWwtVWlkAQAAAHs4MTQxMkQzQy0yQTI0LTRFOUQtQjIwRS0xMUY3QkJFOTI3OTl9AA==",
			"{81412D3C-2A24-4E9D-B20E-11F7BBE92799}", time.Time{}},
	}
	for _, tc := range tests {
		uid, inst, err := UIDFromGlobalObjID(tc.goid)
		if err != nil || uid != tc.uid || !inst.Equal(tc.inst) {
			t.Errorf("decode %s: %q %v %v", tc.goid, uid, inst, err)
		}
		// And back: the same bytes.
		if got := GlobalObjIDFromUID(uid, inst); got != tc.goid {
			t.Errorf("encode %s:\n got %s\nwant %s", uid, got, tc.goid)
		}
	}
	// Any UID survives the trip, with or without an instance date.
	for _, uid := range []string{"5c7nhr1d1k0qgk4f8v7l0g7u1o@google.com", "ü-ünïcode", strings.Repeat("x", 300)} {
		for _, inst := range []time.Time{{}, time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC)} {
			g := GlobalObjIDFromUID(uid, inst)
			back, bi, err := UIDFromGlobalObjID(g)
			if err != nil || back != uid || !bi.Equal(inst) {
				t.Errorf("%q: %q %v %v", uid, back, bi, err)
			}
		}
	}
	for _, bad := range []string{"!!", base64.StdEncoding.EncodeToString([]byte("short")), base64.StdEncoding.EncodeToString(make([]byte, 60))} {
		if _, _, err := UIDFromGlobalObjID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

const organizerCopy = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:weekly-sync@example.com\r\nSEQUENCE:2\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20240506T100000\r\nDTEND;TZID=Europe/Berlin:20240506T110000\r\n" +
	"RRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Weekly sync\r\nLOCATION:Room 1\r\nORGANIZER;CN=Olga:mailto:olga@example.com\r\n" +
	"ATTENDEE;CN=Olga;PARTSTAT=ACCEPTED:mailto:olga@example.com\r\n" +
	"ATTENDEE;CN=Paul;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;ROLE=REQ-PARTICIPANT:mailto:paul@example.com\r\n" +
	"ATTENDEE;CN=Quinn;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;ROLE=OPT-PARTICIPANT:mailto:quinn@example.com\r\n" +
	"X-GATEHOUSE-CLIENTUID:secret\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func props(t *testing.T, b []byte) (*ical.Calendar, *ical.Component) {
	t.Helper()
	cal := mustParse(t, b)
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent {
			return cal, c
		}
	}
	t.Fatal("no VEVENT")
	return nil, nil
}

// The full iTIP cycle (RFC 5546): REQUEST out, filed by the attendee,
// REPLY back and applied, instance REPLY, CANCEL of an instance and of the
// series, outdated messages ignored.
func TestITIPCycle(t *testing.T) {
	now := utc("20240501T120000Z")
	org := ITIPOptions{Account: "olga@example.com", Name: "Olga", Now: now}
	paul := ITIPOptions{Account: "paul@example.com", Now: now.Add(time.Hour)}

	req, err := BuildRequest([]byte(organizerCopy), time.Time{}, org)
	if err != nil {
		t.Fatal(err)
	}
	cal, ev := props(t, req)
	if cal.Props.Get(ical.PropMethod).Value != "REQUEST" || ev.Props.Get(ical.PropDateTimeStamp).Value != "20240501T120000Z" ||
		ev.Props.Get(ical.PropSequence).Value != "2" || ev.Props.Get("X-GATEHOUSE-CLIENTUID") != nil || len(ev.Children) != 0 ||
		len(cal.Children) != 2 {
		t.Errorf("REQUEST:\n%s", req)
	}
	// The attendee files it: a new item, Paul's answer pending.
	paulCopy, res, err := ApplyRequest(nil, req, paul)
	if err != nil || !res.NewSeries || bytes.Contains(paulCopy, []byte("METHOD")) {
		t.Fatalf("ApplyRequest: %v %+v\n%s", err, res, paulCopy)
	}
	ea, _ := EventToEAS(paulCopy, EASOptions{Version: V161, Account: "paul@example.com"})
	if *ea.MeetingStatus != 3 || *ea.ResponseType != 5 || *ea.BusyStatus != 1 {
		t.Errorf("attendee view: %d %d %d", *ea.MeetingStatus, *ea.ResponseType, *ea.BusyStatus)
	}
	mr, err := MeetingRequestFromITIP(req, nil, EASOptions{Version: V161, Account: "paul@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if mr.MessageClass != "IPM.Schedule.Meeting.Request" || mr.InstanceType != 1 || mr.MeetingMessageType != 1 ||
		!mr.StartTime.Equal(utc("20240506T080000Z")) || mr.TimeZone.Bias != -60 || mr.Organizer != `"Olga" <olga@example.com>` ||
		!mr.ResponseRequested || mr.Recurrence == nil || mr.Recurrence.DayOfWeek != Monday || mr.GlobalObjID != GlobalObjIDFromUID("weekly-sync@example.com", time.Time{}) {
		t.Errorf("MeetingRequest %+v", mr)
	}
	// The same request again is informational; an older one outdated.
	if mr2, _ := MeetingRequestFromITIP(req, paulCopy, EASOptions{Version: V161, Account: "paul@example.com"}); mr2.MeetingMessageType != 3 {
		t.Errorf("repeat: type %d", mr2.MeetingMessageType)
	}
	old := bytes.Replace(req, []byte("SEQUENCE:2"), []byte("SEQUENCE:1"), 1)
	if mr3, _ := MeetingRequestFromITIP(old, paulCopy, EASOptions{Version: V161, Account: "paul@example.com"}); mr3.MeetingMessageType != 4 {
		t.Errorf("older: type %d", mr3.MeetingMessageType)
	}
	if _, res, _ := ApplyRequest(paulCopy, old, paul); !res.Outdated {
		t.Error("older REQUEST applied")
	}

	// Paul accepts: REPLY with only his ATTENDEE.
	reply, err := BuildReply(paulCopy, "ACCEPTED", time.Time{}, paul)
	if err != nil {
		t.Fatal(err)
	}
	rcal, rev := props(t, reply)
	if rcal.Props.Get(ical.PropMethod).Value != "REPLY" || len(rev.Props.Values(ical.PropAttendee)) != 1 ||
		rev.Props.Get(ical.PropAttendee).Params.Get("PARTSTAT") != "ACCEPTED" || rev.Props.Get(ical.PropSequence).Value != "2" ||
		rev.Props.Get(ical.PropOrganizer) == nil || rev.Props.Get(ical.PropRecurrenceID) != nil {
		t.Errorf("REPLY:\n%s", reply)
	}
	if _, err := BuildReply([]byte(organizerCopy), "ACCEPTED", time.Time{}, org); err == nil {
		t.Error("the organizer replied to herself")
	}
	updated, ar, err := ApplyReply([]byte(organizerCopy), reply, org)
	if err != nil || ar.Attendee != "paul@example.com" || ar.PartStat != "ACCEPTED" {
		t.Fatalf("ApplyReply %v %+v", err, ar)
	}
	if !strings.Contains(string(unfoldText(updated)), "PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT;X-GATEHOUSE-DTSTAMP=20240501T130000Z:mailto:paul@example.com") {
		t.Errorf("reply not recorded\n%s", updated)
	}
	// A reply stamped earlier than the recorded one is ignored.
	earlier, _ := BuildReply(paulCopy, "DECLINED", time.Time{}, ITIPOptions{Account: "paul@example.com", Now: now})
	if _, ar, _ := ApplyReply(updated, earlier, org); !ar.Outdated {
		t.Error("earlier reply applied")
	}
	// Quinn declines one instance: an override for 13 May carries it.
	quinn := ITIPOptions{Account: "quinn@example.com", Now: now.Add(2 * time.Hour)}
	qreply, err := BuildReply(paulCopy, "DECLINED", utc("20240513T080000Z"), quinn)
	if err != nil || !strings.Contains(string(qreply), "RECURRENCE-ID;TZID=Europe/Berlin:20240513T100000") {
		t.Fatalf("instance REPLY %v\n%s", err, qreply)
	}
	updated, ar, err = ApplyReply(updated, qreply, org)
	if err != nil || !ar.Instance {
		t.Fatal(err)
	}
	o, _ := ParseObject(updated)
	if len(o.Overrides) != 1 || !strings.Contains(string(unfoldText(Encode(o.Cal))), "PARTSTAT=DECLINED") {
		t.Errorf("instance reply\n%s", updated)
	}
	// Olga cancels the 20 May instance; Paul's copy gets an EXDATE.
	cancel, err := BuildCancel([]byte(organizerCopy), utc("20240520T080000Z"), nil, org)
	if err != nil {
		t.Fatal(err)
	}
	_, cev := props(t, cancel)
	if cev.Props.Get(ical.PropStatus).Value != "CANCELLED" || cev.Props.Get(ical.PropSequence).Value != "3" ||
		cev.Props.Get(ical.PropRecurrenceID) == nil || len(cev.Props.Values(ical.PropAttendee)) != 3 {
		t.Errorf("CANCEL\n%s", cancel)
	}
	mrc, _ := MeetingRequestFromITIP(cancel, paulCopy, EASOptions{Version: V141, Account: "paul@example.com"})
	if mrc.MessageClass != "IPM.Schedule.Meeting.Canceled" || mrc.InstanceType != 3 || mrc.RecurrenceID == nil || !mrc.RecurrenceID.Equal(utc("20240520T080000Z")) {
		t.Errorf("cancel MeetingRequest %+v", mrc)
	}
	paulCopy2, ar, err := ApplyCancel(paulCopy, cancel, paul)
	if err != nil || !ar.Instance || !strings.Contains(string(paulCopy2), "EXDATE;TZID=Europe/Berlin:20240520T100000") {
		t.Errorf("ApplyCancel instance %v\n%s", err, paulCopy2)
	}
	// Then the whole series, to Paul only.
	cancelAll, _ := BuildCancel([]byte(organizerCopy), time.Time{}, []string{"paul@example.com"}, org)
	_, cev = props(t, cancelAll)
	if len(cev.Props.Values(ical.PropAttendee)) != 1 || cev.Props.Get(ical.PropRecurrenceRule) == nil {
		t.Errorf("CANCEL all\n%s", cancelAll)
	}
	paulCopy3, _, err := ApplyCancel(paulCopy2, cancelAll, paul)
	if err != nil {
		t.Fatal(err)
	}
	if ev, _ := EventToEAS(paulCopy3, EASOptions{Version: V141, Account: "paul@example.com"}); *ev.MeetingStatus != 7 {
		t.Errorf("MeetingStatus %d, want 7", *ev.MeetingStatus)
	}
	// Wrong methods and UIDs are refused.
	if _, _, err := ApplyReply([]byte(organizerCopy), cancel, org); err == nil {
		t.Error("CANCEL applied as a REPLY")
	}
	if _, _, err := ApplyCancel([]byte(organizerCopy), reply, org); err == nil {
		t.Error("REPLY applied as a CANCEL")
	}
	other := strings.Replace(string(reply), "weekly-sync@example.com", "other@example.com", 1)
	if _, _, err := ApplyReply([]byte(organizerCopy), []byte(other), org); err == nil {
		t.Error("REPLY for another UID applied")
	}
}

// An update with a new SEQUENCE asks the attendee again but keeps their
// alarm; one with the same SEQUENCE keeps their answer.
func TestApplyRequestUpdate(t *testing.T) {
	org := ITIPOptions{Account: "olga@example.com", Now: utc("20240501T120000Z")}
	paul := ITIPOptions{Account: "paul@example.com"}
	req, _ := BuildRequest([]byte(organizerCopy), time.Time{}, org)
	paulCopy, _, _ := ApplyRequest(nil, req, paul)
	// Paul accepted and set an alarm.
	paulCopy = []byte(strings.Replace(string(unfoldText(paulCopy)), "PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:paul", "PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:paul", 1))
	paulCopy = []byte(strings.Replace(string(paulCopy), "END:VEVENT", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\nEND:VEVENT", 1))
	info := bytes.Replace(req, []byte("LOCATION:Room 1"), []byte("LOCATION:Room 2"), 1)
	out, res, err := ApplyRequest(paulCopy, info, paul)
	if err != nil || res.Reschedule || !strings.Contains(string(unfoldText(out)), "PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:paul") ||
		!strings.Contains(string(out), "LOCATION:Room 2") || !strings.Contains(string(out), "TRIGGER:-PT1H") {
		t.Errorf("informational update %v %+v\n%s", err, res, out)
	}
	moved := bytes.Replace(req, []byte("SEQUENCE:2"), []byte("SEQUENCE:3"), 1)
	out, res, _ = ApplyRequest(paulCopy, moved, paul)
	if !res.Reschedule || !strings.Contains(string(unfoldText(out)), "PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:paul") || !strings.Contains(string(out), "TRIGGER:-PT1H") {
		t.Errorf("rescheduled update %+v\n%s", res, out)
	}
	// A request for one instance adds an override.
	inst, err := BuildRequest([]byte(organizerCopy), utc("20240527T080000Z"), org)
	if err != nil {
		t.Fatal(err)
	}
	out, res, _ = ApplyRequest(paulCopy, inst, paul)
	o, _ := ParseObject(out)
	if !res.Instance || len(o.Overrides) != 1 {
		t.Errorf("instance request %+v\n%s", res, out)
	}
	if mr, _ := MeetingRequestFromITIP(inst, nil, EASOptions{Version: V141, Account: "paul@example.com"}); mr.InstanceType != 4 ||
		mr.GlobalObjID != GlobalObjIDFromUID("weekly-sync@example.com", time.Date(2024, 5, 27, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("orphan instance %+v", mr)
	}
}

// The iMIP mail (RFC 6047 2.4): multipart/alternative whose text/calendar
// part has the method parameter, readable back by CalendarPart.
func TestIMIP(t *testing.T) {
	org := ITIPOptions{Account: "olga@example.com", Now: utc("20240501T120000Z")}
	req, _ := BuildRequest([]byte(organizerCopy), time.Time{}, org)
	msg, err := BuildIMIP(req, IMIPOptions{From: "Olga <olga@example.com>", To: []string{"paul@example.com"}, Date: utc("20240501T120000Z"), MessageID: "m1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Subject") != "Weekly sync" || m.Header.Get("Message-Id") != "<m1@example.com>" {
		t.Errorf("headers %v", m.Header)
	}
	mt, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("type %s", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		types = append(types, p.Header.Get("Content-Type"))
		_, _ = io.Copy(io.Discard, p)
	}
	if len(types) != 2 || types[0] != "text/plain; charset=utf-8" || types[1] != "text/calendar; charset=utf-8; component=VEVENT; method=REQUEST" {
		t.Errorf("parts %q", types)
	}
	ics, method, err := CalendarPart(msg)
	if err != nil || method != "REQUEST" || !bytes.Equal(ics, req) {
		t.Errorf("CalendarPart: %v %s", err, method)
	}
	// Reply and cancel subjects.
	reply, _ := BuildReply([]byte(strings.Replace(organizerCopy, "X-GATEHOUSE", "X-OTHER", 1)), "TENTATIVE", time.Time{}, ITIPOptions{Account: "paul@example.com"})
	rm, _ := BuildIMIP(reply, IMIPOptions{From: "paul@example.com", To: []string{"olga@example.com"}})
	if !bytes.Contains(rm, []byte("Subject: Tentative: Weekly sync")) || !bytes.Contains(rm, []byte("method=REPLY")) {
		t.Errorf("reply mail\n%s", rm)
	}
	// A plain text/calendar mail, quoted-printable, method only inside.
	plain := "From: a@b\r\nContent-Type: text/calendar\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		strings.ReplaceAll(string(req), "=", "=3D")
	if _, method, err := CalendarPart([]byte(plain)); err != nil || method != "REQUEST" {
		t.Errorf("single part: %v %s", err, method)
	}
	if _, _, err := CalendarPart([]byte("From: a@b\r\nContent-Type: text/plain\r\n\r\nhello")); err == nil {
		t.Error("found a calendar in plain text")
	}
}

// The Android client's invitation checks (CalendarUtilitiesTests
// testCreateMessageForEntity_Invite*, AOSP, Apache-2.0): METHOD:REQUEST,
// SEQUENCE 0, ATTENDEE with ROLE=REQ-PARTICIPANT, PARTSTAT=NEEDS-ACTION,
// RSVP=TRUE; an all-day event has DATE values and
// X-MICROSOFT-CDO-ALLDAYEVENT only where the organizer's copy has it.
func TestAndroidInviteShape(t *testing.T) {
	dev := &EASEvent{EASItem: EASItem{
		StartTime: Ptr(utc("20100412T000000Z")), EndTime: Ptr(utc("20100413T000000Z")), AllDayEvent: Ptr(true),
		Subject: Ptr("Discuss Unit Tests"), Location: Ptr("Meeting Location"),
		Attendees: &[]EASAttendee{{Email: "attendee@server.com"}},
	}, UID: Ptr("31415926535")}
	opts := MergeOptions{EASOptions: EASOptions{Version: V141, Account: "organizer@server.com", Now: utc("20100405T143051Z")}}
	stored, _, err := MergeEvent(nil, dev, opts)
	if err != nil {
		t.Fatal(err)
	}
	req, err := BuildRequest(stored, time.Time{}, ITIPOptions{Account: "organizer@server.com", Now: utc("20100405T143051Z")})
	if err != nil {
		t.Fatal(err)
	}
	s := string(unfoldText(req))
	for _, want := range []string{"METHOD:REQUEST", "SEQUENCE:0", "SUMMARY:Discuss Unit Tests", "LOCATION:Meeting Location", "UID:31415926535",
		"ATTENDEE;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:attendee@server.com",
		"DTSTART;VALUE=DATE:20100412", "DTEND;VALUE=DATE:20100413", "ORGANIZER:mailto:organizer@server.com"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s\n%s", want, s)
		}
	}
}

// MeetingResponse server actions (fact sheet §4): the account's PARTSTAT
// and AppointmentReplyTime on the series or on one instance; the organizer,
// a stranger, a bad answer and a missing instance are Status 2 material.
func TestRespond(t *testing.T) {
	paul := ITIPOptions{Account: "paul@example.com", Now: utc("20240502T080000Z")}
	out, err := Respond([]byte(organizerCopy), "accepted", time.Time{}, paul)
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := EventToEAS(out, EASOptions{Version: V141, Account: "paul@example.com"})
	if *ev.ResponseType != 3 || !ev.AppointmentReplyTime.Equal(utc("20240502T080000Z")) || *ev.BusyStatus != 2 {
		t.Errorf("accepted: %v %v %v", *ev.ResponseType, ev.AppointmentReplyTime, *ev.BusyStatus)
	}
	out, err = Respond(out, "DECLINED", utc("20240513T080000Z"), paul)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := ParseObject(out)
	if len(o.Overrides) != 1 || o.responseType(o.Overrides[0], "paul@example.com") != 4 || o.responseType(o.Master, "paul@example.com") != 3 {
		t.Errorf("instance decline\n%s", out)
	}
	for name, f := range map[string]func() error{
		"organizer": func() error {
			_, err := Respond([]byte(organizerCopy), "ACCEPTED", time.Time{}, ITIPOptions{Account: "olga@example.com"})
			return err
		},
		"stranger": func() error {
			_, err := Respond([]byte(organizerCopy), "ACCEPTED", time.Time{}, ITIPOptions{Account: "zed@example.com"})
			return err
		},
		"bad answer": func() error { _, err := Respond([]byte(organizerCopy), "MAYBE", time.Time{}, paul); return err },
		"no instance": func() error {
			_, err := Respond([]byte(organizerCopy), "ACCEPTED", utc("20240514T080000Z"), paul)
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
