package calendar

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// Seeds: the corpus in testdata/ics, plus testdata/fuzz/<Name>/ (go test's
// own corpus format, also where it writes failing inputs).

// FuzzParse: the iCalendar reader never panics, and whatever it accepts
// survives Encode and Parse unchanged; converting it to ActiveSync and
// merging the device's echo back never panics either.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/ics/*.ics")
	for _, fn := range files {
		b, _ := os.ReadFile(fn)
		f.Add(b)
	}
	f.Add([]byte(organizerCopy))
	f.Add([]byte(todoText))
	f.Fuzz(func(t *testing.T, data []byte) {
		began := time.Now()
		defer func() {
			if d := time.Since(began); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
		}()
		cal, err := Parse(data)
		if err != nil {
			return
		}
		out := Encode(cal)
		cal2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of our own output: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(cal, cal2) {
			t.Fatalf("round trip changed the model\n%q\n%q", data, out)
		}
		if !bytes.Equal(Encode(cal2), out) {
			t.Fatal("encoding not stable")
		}
		o, err := NewObject(cal)
		if err != nil {
			return
		}
		for _, v := range []Version{V141, V161} {
			opts := EASOptions{Version: v, Account: "me@example.com", Now: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}
			if o.Primary().Name == "VTODO" {
				if task, err := o.TaskToEAS(opts); err == nil {
					_, _, _ = MergeTask(out, task, MergeOptions{EASOptions: opts})
				}
				continue
			}
			ev, err := o.ToEAS(opts)
			if err != nil {
				continue
			}
			_, _, _ = MergeEvent(out, ev, MergeOptions{EASOptions: opts, Supported: []string{"Subject", "Body", "Attendees", "Recurrence"}})
		}
		_, _ = o.Expand(ExpandOptions{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), MaxWork: 20000, MaxInstances: 100})
	})
}

// FuzzTimeZoneBlob: any 172 bytes decode, re-encode to the same bytes (when
// the names are valid UTF-16), and resolve to a zone without panicking.
func FuzzTimeZoneBlob(f *testing.F) {
	for _, s := range []string{androidAmericaDawson, androidAsiaCalcutta, androidAustraliaACT, androidEuropeMoscow, androidGMTUnknownDaylight, androidArizona} {
		b, _ := base64.StdEncoding.DecodeString(s)
		f.Add(b, uint16(2010))
	}
	f.Add(make([]byte, TimeZoneSize), uint16(2024))
	f.Fuzz(func(t *testing.T, b []byte, year uint16) {
		var tz TimeZone
		if err := tz.UnmarshalBinary(b); err != nil {
			if len(b) <= TimeZoneSize {
				t.Fatalf("rejected %d bytes: %v", len(b), err)
			}
			return
		}
		y := 1970 + int(year)%130
		loc := tz.Location(nil, y)
		if loc == nil {
			t.Fatal("no zone")
		}
		_ = time.Date(y, 6, 1, 12, 0, 0, 0, time.UTC).In(loc).String()
		vtz := tz.VTimezone("fuzz")
		if _, err := TimeZoneFromVTimezone(vtz, y); err != nil {
			t.Fatalf("own VTIMEZONE unreadable: %v", err)
		}
		again, _ := tz.MarshalBinary()
		var tz2 TimeZone
		_ = tz2.UnmarshalBinary(again)
		if tz2 != tz {
			// Only names with lone surrogates may change (to U+FFFD).
			tz2.StandardName, tz2.DaylightName, tz.StandardName, tz.DaylightName = "", "", "", ""
			if tz2 != tz {
				t.Fatalf("re-encoding changed the blob: %#v", tz2)
			}
		}
		_, _ = ParseTimeZone(tz.String())
	})
}

// FuzzExpand: any RRULE with any DTSTART expands within the budget, in
// order, without more than MaxInstances instances.
func FuzzExpand(f *testing.F) {
	for _, c := range loadGolden(f)[:40] {
		f.Add(c.RRule, c.DTStart, c.TZID, int64(0))
	}
	f.Add("FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30", "20240101T000000", "", int64(86400*365))
	f.Add("FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SU;BYSETPOS=-1,1", "20201231T235959", "Pacific/Apia", int64(0))
	f.Add("FREQ=MINUTELY;INTERVAL=7;BYHOUR=2;BYMINUTE=30", "20240310T013000", "America/New_York", int64(0))
	f.Fuzz(func(t *testing.T, rrule, dtstart, tzid string, offset int64) {
		if len(rrule) > 300 || len(tzid) > 60 {
			return
		}
		body := "BEGIN:VEVENT\r\nUID:f\r\nDTSTART"
		if tzid != "" {
			body += ";TZID=" + tzid
		}
		text := "BEGIN:VCALENDAR\r\n" + body + ":" + dtstart + "\r\nDURATION:PT1H\r\nRRULE:" + rrule + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		o, err := ParseObject([]byte(text))
		if err != nil {
			return
		}
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(offset%(86400*365*50)) * time.Second)
		opts := ExpandOptions{Start: start, End: start.AddDate(0, 2, 0), MaxInstances: 500, MaxWork: 50000}
		began := time.Now()
		insts, _ := o.Expand(opts)
		if d := time.Since(began); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		if len(insts) > 500 {
			t.Fatalf("%d instances", len(insts))
		}
		if !sort.SliceIsSorted(insts, func(i, j int) bool { return insts[i].StartTime.Before(insts[j].StartTime) }) {
			t.Fatal("not in order")
		}
		if rule, err := ParseRule(rrule); err == nil {
			if s, err := ParseRule(rule.String()); err != nil || s.String() != rule.String() {
				t.Fatalf("RRULE not stable: %q -> %q", rrule, rule.String())
			}
		}
	})
}
