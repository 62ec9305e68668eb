package calendar

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// dailySeries is a daily 09:00 Berlin series over ten years (2020–2029) with
// 200 exceptions: 100 EXDATEs and 100 moved instances, spread over the
// years.
func dailySeries() []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:bench\r\n")
	b.WriteString("BEGIN:VEVENT\r\nUID:daily\r\nDTSTAMP:20200101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20200101T090000\r\n" +
		"DTEND;TZID=Europe/Berlin:20200101T093000\r\nRRULE:FREQ=DAILY;UNTIL=20291231T235959Z\r\nSUMMARY:Standup\r\n")
	first := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 100; i++ {
		d := first.AddDate(0, 0, 7+i*36)
		b.WriteString("EXDATE;TZID=Europe/Berlin:" + d.Format("20060102T150405") + "\r\n")
	}
	b.WriteString("END:VEVENT\r\n")
	for i := 0; i < 100; i++ {
		d := first.AddDate(0, 0, 20+i*36)
		b.WriteString("BEGIN:VEVENT\r\nUID:daily\r\nDTSTAMP:20200101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:" + d.Format("20060102T150405") +
			"\r\nDTSTART;TZID=Europe/Berlin:" + d.Add(2*time.Hour).Format("20060102T150405") +
			"\r\nDTEND;TZID=Europe/Berlin:" + d.Add(150*time.Minute).Format("20060102T150405") + "\r\nSUMMARY:Moved " + fmt.Sprint(i) + "\r\nEND:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

// BenchmarkExpandDailyTenYears200Exceptions expands the series into a
// one-month window in 2027 (target ≤ 50 µs).
func BenchmarkExpandDailyTenYears200Exceptions(b *testing.B) {
	o, err := ParseObject(dailySeries())
	if err != nil {
		b.Fatal(err)
	}
	opts := ExpandOptions{Start: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)}
	insts, err := o.Expand(opts)
	if err != nil || len(insts) < 28 || len(insts) > 31 {
		b.Fatalf("%d instances, %v", len(insts), err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := o.Expand(opts); err != nil {
			b.Fatal(err)
		}
	}
}

// The series' instances in the window match a plain day-by-day count.
func TestDailySeriesWindow(t *testing.T) {
	o, err := ParseObject(dailySeries())
	if err != nil {
		t.Fatal(err)
	}
	insts, err := o.Expand(ExpandOptions{Start: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ber := mustLoc(t, "Europe/Berlin")
	moved, ex := 0, 0
	first := time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC)
	want := 0
	for d := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC); d.Month() == 3; d = d.AddDate(0, 0, 1) {
		days := int(d.Sub(first).Hours()/24 + 0.5)
		switch {
		case days >= 7 && (days-7)%36 == 0 && (days-7)/36 < 100:
			ex++
		case days >= 20 && (days-20)%36 == 0 && (days-20)/36 < 100:
			moved++
			want++
		default:
			want++
		}
	}
	got := 0
	for _, in := range insts {
		got++
		h := in.StartTime.In(ber).Hour()
		if in.IsOverride != (h == 11) || !in.IsOverride && h != 9 {
			t.Errorf("instance %v override=%v", in.StartTime.In(ber), in.IsOverride)
		}
	}
	if got != want || moved+ex == 0 {
		t.Errorf("got %d instances, want %d (moved %d, deleted %d)", got, want, moved, ex)
	}
}

// BenchmarkEASRoundTrip converts 10,000 events to ActiveSync Calendar
// elements and merges each device echo back (events/s).
func BenchmarkEASRoundTrip(b *testing.B) {
	const n = 10000
	events := make([][]byte, n)
	corp := [][]byte{readCorpus(b, "google_recurring.ics"), readCorpus(b, "outlook_monthly.ics"), readCorpus(b, "thunderbird_duration.ics"), readCorpus(b, "apple_birthday.ics")}
	for i := range events {
		events[i] = []byte(strings.Replace(string(corp[i%len(corp)]), "SUMMARY:", fmt.Sprintf("SUMMARY:#%d ", i), 1))
	}
	opts := MergeOptions{EASOptions: EASOptions{Version: V161, Account: "bob@example.org", UserZone: time.UTC, Now: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, e := range events {
			ev, err := EventToEAS(e, opts.EASOptions)
			if err != nil {
				b.Fatal(err)
			}
			if _, _, err := MergeEvent(e, ev, opts); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
