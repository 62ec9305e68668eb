// Package calendar is Gatehouse's calendar domain: iCalendar objects
// (RFC 5545), time zones and the ActiveSync TimeZone blob, recurrence rules
// and their bounded expansion, the mapping of events and tasks to and from
// ActiveSync Calendar: and Tasks: elements, meetings (iTIP, RFC 5546, carried
// by iMIP, RFC 6047) and free/busy.
//
// It is a leaf: it imports go-ical (the object model shared with CalDAV
// libraries) and the standard library, and nothing of Gatehouse. It does
// not use rrule-go: its own expander (recur.go) is bounded by a work budget,
// which rrule-go's iterator is not (an impossible FREQ=SECONDLY rule walks
// to the year 9999). The reader and writer are its own too, over go-ical's
// types: go-ical's decoder can panic on hostile input and its encoder
// neither folds lines nor writes objects that lack a required property.
// The ActiveSync side speaks plain Go structs (EASEvent, EASTask,
// EASRecurrence, EASMeetingRequest); turning them into WBXML is the front
// end's job.
//
// # Entry points
//
//   - iCalendar: Parse, Encode, ParseObject (one UID: master, overrides,
//     VTIMEZONEs), Object.Expand, Zones (TZID resolution).
//   - Time zones: TimeZone (the 172-byte blob), ParseTimeZone, NewTimeZone
//     (IANA zone -> blob), TimeZoneFromVTimezone, TimeZone.Location (blob ->
//     best zone), TimeZone.VTimezone, VTimezoneFor, LoadZone (IANA, Windows
//     and decorated names), WindowsZoneName.
//   - Recurrence: Rule, ParseRule, RuleFromRecurrence and RecurrenceFromRule
//     (EASRecurrence <-> RRULE).
//   - ActiveSync items: EventToEAS / Object.ToEAS and MergeEvent (Sync Add
//     and Change), MergeInstance and DeleteInstance (16.x InstanceId),
//     TaskToEAS and MergeTask. Device values ActiveSync forbids give
//     ErrInvalid (Status 6).
//   - Meetings: GlobalObjIDFromUID, UIDFromGlobalObjID, BuildRequest,
//     BuildReply, BuildCancel, ParseITIP, ApplyRequest, ApplyReply,
//     ApplyCancel, BuildIMIP, CalendarPart, MeetingRequestFromITIP.
//   - Free/busy: FreeBusy, MergeBusy, MergedFreeBusy (ActiveSync
//     Availability), VFreeBusy (CalDAV free-busy-query).
//
// # The stored text is the truth
//
// The store keeps each calendar object as the iCalendar text a client sent
// (one UID: the master and its RECURRENCE-ID overrides, with their
// VTIMEZONEs). Every user of this package reads that text and writes a new
// text; nobody keeps a second model of an event.
//
// # Invariants
//
//  1. Merge, never rebuild. A change from a device (MergeEvent, MergeTask) or
//     an iTIP message (ApplyReply, ApplyCancel, ApplyRequest) is applied to
//     the parsed stored object property by property. Properties, parameters,
//     alarms and components the change does not speak of are kept byte for
//     byte in value (X- properties, ATTACH, extra VALARMs, ATTENDEE
//     parameters, Apple and Google extensions). A device value equal to what
//     the device was sent for the stored object is no change at all.
//  2. Never overwrite the stored RRULE with a lossy echo. ActiveSync cannot
//     express every RRULE; the device gets the nearest pattern
//     (RecurrenceFromRule). When the device sends that same pattern back,
//     the stored RRULE stays. Only a pattern that differs from what we sent
//     replaces it.
//  3. Bounded expansion. Expanding a recurrence examines at most
//     ExpandOptions.MaxWork candidates and returns at most MaxInstances
//     instances, whatever the RRULE (FREQ=SECONDLY, impossible BYxxx
//     combinations, COUNT=10^9); past the bound it returns ErrTooComplex
//     with what it found. The iCalendar reader refuses input over
//     MaxObjectSize and nesting deeper than a few levels, and never panics.
//  4. Time is wall-clock in the event's zone. Recurrence is computed on the
//     wall clock of DTSTART's zone and turned into instants afterwards
//     (RFC 5545 3.3.5: a time in a DST gap takes the offset from before the
//     gap, an ambiguous time its first instant). All-day events are dates,
//     never instants: they keep their date in every zone from UTC−12 to
//     UTC+14; only the ≤14.1 wire format turns them into midnights in the
//     blob's zone and back.
//  5. The server owns PARTSTAT in 16.x; a device cannot reset an attendee's
//     status by leaving it out. Attendees are merged by address, keeping
//     their stored parameters.
//  6. Recurrence semantics are those of RFC 5545 3.3.10 as Python's
//     dateutil.rrule reads its corner cases; testdata/rrule_golden.jsonl,
//     written by testdata/gen_rrule_golden.py, holds 400 rules expanded by
//     dateutil, and the tests compare with it. Regenerate it (with Debian's
//     python3-dateutil) after changing the generator, never by hand.
//
// Ghosting (which absent elements a Change deletes) follows [MS-ASCMD]
// 2.2.3.168 Supported: in ≤14.1 an element listed in Supported and absent
// is deleted, an unlisted one stays; in 16.x absent elements stay; an empty
// element clears in every version; inside an Exception a missing element
// leaves the instance as it is (the override keeps its value).
//
// Objects are not safe for concurrent use; parse one per goroutine.
//
// Facts and their sources: [MS-ASCAL], [MS-ASDTYPE] 2.7.6 (TimeZone),
// [MS-ASEMAIL] (MeetingRequest), [MS-OXCICAL] 2.1.3.1.1.20.26 (GlobalObjId),
// RFC 5545, 5546, 6047, 7529, and the project fact sheet eas-pim.md.
package calendar
