package calendar

import (
	"bytes"
	"testing"
	"time"
)

// TimeZone blobs captured from Exchange, from the Android Exchange client's
// CalendarUtilitiesTests.java (AOSP packages/apps/Exchange, Apache-2.0).
const (
	androidAsiaCalcutta = "tv7//0kAbgBkAGkAYQAgAFMAdABhAG4AZABhAHIAZAAgAFQAaQBtAGUAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEkAbgBkAGkAYQAgAEQAYQB5AGwAaQBnAGgAdAAgAFQAaQBtAGUA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
	androidAmericaDawson = "4AEAAFAAYQBjAGkAZgBpAGMAIABTAHQAYQBuAGQAYQByAGQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAsAAAABAAIAAAAAAAAAAAAAAFAAYQBjAGkAZgBpAGMAIABEAGEAeQBsAGkAZwBoAHQAIABUAGkA" +
		"bQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAACAAIAAAAAAAAAxP///w=="
	androidAustraliaACT = "qP3//0EAVQBTACAARQBhAHMAdABlAHIAbgAgAFMAdABhAG4AZABhAHIAZAAgAFQAaQBtAGUAAAAAAAAAAAAA" +
		"AAAAAAAAAAQAAAABAAMAAAAAAAAAAAAAAEEAVQBTACAARQBhAHMAdABlAHIAbgAgAEQAYQB5AGwAaQBnAGgA" +
		"dAAgAFQAaQBtAGUAAAAAAAAAAAAAAAAAAAAAAAoAAAABAAIAAAAAAAAAxP///w=="
	androidEuropeMoscow = "TP///1IAdQBzAHMAaQBhAG4AIABTAHQAYQBuAGQAYQByAGQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAoAAAAFAAMAAAAAAAAAAAAAAFIAdQBzAHMAaQBhAG4AIABEAGEAeQBsAGkAZwBoAHQAIABUAGkA" +
		"bQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAAFAAIAAAAAAAAAxP///w=="
	androidGMTUnknownDaylight = "AAAAACgARwBNAFQAKwAwADAAOgAwADAAKQAgAFQAaQBtAGUAIABaAG8AbgBlAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAAAAEAAAABAAAAAAAAAAAAAAAAACgARwBNAFQAKwAwADAAOgAwADAAKQAgAFQAaQBtAGUAIABaAG8A" +
		"bgBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAoAAAAFAAEAAAAAAAAAxP///w=="
	androidArizona = "pAEAAFUAUwAgAE0AbwB1AG4AdABhAGkAbgAgAFMAdABhAG4AZABhAHIAZAAgAFQAaQBtAGUAAAAAAAAAAAAA" +
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAFUAUwAgAE0AbwB1AG4AdABhAGkAbgAgAEQAYQB5AGwAaQBnAGgA" +
		"dAAgAFQAaQBtAGUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
)

func mustTZ(t *testing.T, s string) TimeZone {
	t.Helper()
	tz, err := ParseTimeZone(s)
	if err != nil {
		t.Fatal(err)
	}
	return tz
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func st(month, dow, day, h, m int) SystemTime {
	return SystemTime{Month: uint16(month), DayOfWeek: uint16(dow), Day: uint16(day), Hour: uint16(h), Minute: uint16(m)}
}

// The layout and example of [MS-ASDTYPE] 2.7.6 and the fact sheet's
// America/Dawson example: Bias 480, Std {11, Sun, 1, 02:00}, Dst {3, Sun, 2,
// 02:00}, DaylightBias −60.
func TestDecodeAndroidBlobs(t *testing.T) {
	tests := []struct {
		blob     string
		want     TimeZone
		zone2010 string
	}{
		{androidAmericaDawson, TimeZone{Bias: 480, StandardName: "Pacific Standard Time", StandardDate: st(11, 0, 1, 2, 0),
			DaylightName: "Pacific Daylight Time", DaylightDate: st(3, 0, 2, 2, 0), DaylightBias: -60}, "America/Los_Angeles"},
		{androidAsiaCalcutta, TimeZone{Bias: -330, StandardName: "India Standard Time", DaylightName: "India Daylight Time"}, "Asia/Kolkata"},
		{androidAustraliaACT, TimeZone{Bias: -600, StandardName: "AUS Eastern Standard Time", StandardDate: st(4, 0, 1, 3, 0),
			DaylightName: "AUS Eastern Daylight Time", DaylightDate: st(10, 0, 1, 2, 0), DaylightBias: -60}, "Australia/Sydney"},
		{androidEuropeMoscow, TimeZone{Bias: -180, StandardName: "Russian Standard Time", StandardDate: st(10, 0, 5, 3, 0),
			DaylightName: "Russian Daylight Time", DaylightDate: st(3, 0, 5, 2, 0), DaylightBias: -60}, "Europe/Moscow"},
		{androidArizona, TimeZone{Bias: 420, StandardName: "US Mountain Standard Time", DaylightName: "US Mountain Daylight Time"}, "America/Phoenix"},
	}
	for _, tc := range tests {
		tz := mustTZ(t, tc.blob)
		if tz != tc.want {
			t.Errorf("%s:\n got %#v\nwant %#v", tc.want.StandardName, tz, tc.want)
		}
		if got := tz.Location(nil, 2010).String(); got != tc.zone2010 {
			t.Errorf("%s: zone %s, want %s", tc.want.StandardName, got, tc.zone2010)
		}
		// Re-encoding gives the same bytes.
		if tz.String() != tc.blob {
			t.Errorf("%s: re-encoded as %s", tc.want.StandardName, tz.String())
		}
	}
}

// IANA zone -> blob, with the transitions of the tz database's rules
// (northamerica "Rule US 2007 max Mar Sun>=8 2:00 / Nov Sun>=1 2:00"; europe
// "Rule EU 1981 max Mar lastSun 1:00u / Oct lastSun 1:00u"; australasia
// "Rule AN 2008 max Apr Sun>=1 2:00s / Oct Sun>=1 2:00s" and "Rule NZ 2007 max
// Sep lastSun 2:45s / Apr Sun>=1 2:45s"; southamerica "Rule Brazil 2018 Nov
// Sun>=1 0:00" and the abolition of DST in 2019), written as Windows writes
// them ([eas-pim] §2 steps 2–5).
func TestNewTimeZoneKnownAnswers(t *testing.T) {
	saoPauloStd := SystemTime{Month: 2, DayOfWeek: 6, Day: 3, Hour: 23, Minute: 59, Second: 59, Milliseconds: 999}
	saoPauloDst := SystemTime{Month: 11, DayOfWeek: 6, Day: 1, Hour: 23, Minute: 59, Second: 59, Milliseconds: 999}
	tests := []struct {
		zone string
		at   time.Time
		want TimeZone // names are checked separately
	}{
		{"America/New_York", date(2024, 6, 1), TimeZone{Bias: 300, StandardDate: st(11, 0, 1, 2, 0), DaylightDate: st(3, 0, 2, 2, 0), DaylightBias: -60}},
		{"America/Dawson", date(2010, 6, 1), TimeZone{Bias: 480, StandardDate: st(11, 0, 1, 2, 0), DaylightDate: st(3, 0, 2, 2, 0), DaylightBias: -60}},
		{"America/Dawson", date(2024, 6, 1), TimeZone{Bias: 420}}, // Yukon: UTC−7 all year since 2020
		{"Europe/London", date(2024, 6, 1), TimeZone{Bias: 0, StandardDate: st(10, 0, 5, 2, 0), DaylightDate: st(3, 0, 5, 1, 0), DaylightBias: -60}},
		{"Europe/Dublin", date(2024, 6, 1), TimeZone{Bias: 0, StandardDate: st(10, 0, 5, 2, 0), DaylightDate: st(3, 0, 5, 1, 0), DaylightBias: -60}},
		{"Europe/Berlin", date(2024, 6, 1), TimeZone{Bias: -60, StandardDate: st(10, 0, 5, 3, 0), DaylightDate: st(3, 0, 5, 2, 0), DaylightBias: -60}},
		{"Australia/Sydney", date(2024, 6, 1), TimeZone{Bias: -600, StandardDate: st(4, 0, 1, 3, 0), DaylightDate: st(10, 0, 1, 2, 0), DaylightBias: -60}},
		{"Asia/Kolkata", date(2024, 6, 1), TimeZone{Bias: -330}},
		{"America/Sao_Paulo", date(2018, 6, 1), TimeZone{Bias: 180, StandardDate: saoPauloStd, DaylightDate: saoPauloDst, DaylightBias: -60}},
		{"America/Sao_Paulo", date(2019, 1, 10), TimeZone{Bias: 120}}, // the last DST period, ended 17 Feb 2019
		{"America/Sao_Paulo", date(2019, 6, 1), TimeZone{Bias: 180}},
		{"America/Sao_Paulo", date(2024, 6, 1), TimeZone{Bias: 180}},
		{"Africa/Johannesburg", date(2024, 6, 1), TimeZone{Bias: -120}},
		{"Pacific/Auckland", date(2024, 6, 1), TimeZone{Bias: -720, StandardDate: st(4, 0, 1, 3, 0), DaylightDate: st(9, 0, 5, 2, 0), DaylightBias: -60}},
	}
	for _, tc := range tests {
		got := NewTimeZone(mustLoc(t, tc.zone), tc.at)
		got.StandardName, got.DaylightName = "", ""
		if got != tc.want {
			t.Errorf("%s %s:\n got %#v\nwant %#v", tc.zone, tc.at.Format("2006-01"), got, tc.want)
		}
		// And back: the blob decodes to a zone with the same rules, the zone
		// itself when the user is there.
		full := NewTimeZone(mustLoc(t, tc.zone), tc.at)
		if l := full.Location(mustLoc(t, tc.zone), tc.at.Year()); l.String() != tc.zone {
			t.Errorf("%s: with the user's zone decoded as %s", tc.zone, l)
		}
		if l := full.Location(nil, tc.at.Year()); !full.Fits(l, tc.at.Year()) && full.HasDST() {
			t.Errorf("%s: decoded as %s, whose rules differ", tc.zone, l)
		}
	}
}

// The blob Windows writes for India (Android's capture) is byte-identical to
// ours: same names, no transitions.
func TestNewTimeZoneKolkataBytes(t *testing.T) {
	got := NewTimeZone(mustLoc(t, "Asia/Kolkata"), date(2010, 6, 1)).String()
	if got != androidAsiaCalcutta {
		t.Errorf("got %s\nwant %s", got, androidAsiaCalcutta)
	}
	au := NewTimeZone(mustLoc(t, "Australia/Sydney"), date(2010, 6, 1)).String()
	if au != androidAustraliaACT {
		t.Errorf("Sydney: got %s\nwant %s", au, androidAustraliaACT)
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestBlobToZone(t *testing.T) {
	berlin := NewTimeZone(mustLoc(t, "Europe/Berlin"), date(2024, 1, 1))
	eastern := NewTimeZone(mustLoc(t, "America/New_York"), date(2024, 1, 1))
	lenientEastern := eastern
	lenientEastern.StandardName, lenientEastern.DaylightName = "Eastern", "Eastern"
	lenientEastern.StandardDate.Hour, lenientEastern.DaylightDate.Hour = 4, 4 // Exchange 2007's 2-hour error
	london := NewTimeZone(mustLoc(t, "Europe/London"), date(2024, 1, 1))
	zimbraLondon := london
	zimbraLondon.StandardName = "Europe/London"
	tbLondon := london
	tbLondon.StandardName = "(GMT-00:00) Europe/London"
	amsterdam := mustLoc(t, "Europe/Amsterdam")
	joburgNoName := TimeZone{Bias: -120}
	joburgNamed := TimeZone{Bias: -120, StandardName: "South Africa Standard Time"}
	bogusBias := TimeZone{Bias: -60, DaylightBias: -60} // zero dates, non-zero bias (EAS-4-TbSync#272)
	tests := []struct {
		name   string
		tz     TimeZone
		prefer *time.Location
		year   int
		want   string
	}{
		{"by Windows name", berlin, nil, 2024, "Europe/Berlin"},
		{"user's zone preferred when it fits", berlin, amsterdam, 2024, "Europe/Amsterdam"},
		{"user's zone ignored when it does not fit", berlin, mustLoc(t, "America/New_York"), 2024, "Europe/Berlin"},
		{"Dawson for a Dawson user in 2010", mustTZ(t, androidAmericaDawson), mustLoc(t, "America/Dawson"), 2010, "America/Dawson"},
		{"not for a Dawson user in 2024", mustTZ(t, androidAmericaDawson), mustLoc(t, "America/Dawson"), 2024, "America/Los_Angeles"},
		{"lenient rule match", lenientEastern, nil, 2024, "America/New_York"},
		{"Zimbra's IANA name", zimbraLondon, nil, 2024, "Europe/London"},
		{"Thunderbird's decorated name", tbLondon, nil, 2024, "Europe/London"},
		{"Johannesburg is not Kiev", joburgNoName, nil, 2024, "Etc/GMT-2"},
		{"Johannesburg by name", joburgNamed, nil, 2024, "Africa/Johannesburg"},
		{"Johannesburg for its user", joburgNoName, mustLoc(t, "Africa/Johannesburg"), 2024, "Africa/Johannesburg"},
		{"zero dates ignore DaylightBias", bogusBias, nil, 2024, "Etc/GMT-1"},
		{"all zero is UTC", TimeZone{}, nil, 2024, "UTC"},
		{"Kolkata by rules and name", mustTZ(t, androidAsiaCalcutta), nil, 2024, "Asia/Kolkata"},
		{"Nepal's 5:45 is a fixed zone", TimeZone{Bias: -345}, nil, 2024, "UTC+05:45"},
	}
	for _, tc := range tests {
		if got := tc.tz.Location(tc.prefer, tc.year).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

// A blob with DST rules no zone has becomes a zone following those rules;
// for a southern-hemisphere blob the DST interval wraps the year end.
func TestBlobRuleZoneSouthern(t *testing.T) {
	tz := mustTZ(t, androidAustraliaACT)
	tz.Bias = -610 // no zone is UTC+10:10
	tz.StandardName = "Somewhere"
	loc := tz.Location(nil, 2024)
	if loc.String() != "Somewhere" {
		t.Fatalf("got zone %s", loc)
	}
	tests := []struct {
		at   time.Time
		want int // minutes east
	}{
		{time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC), 670},
		{time.Date(2024, 7, 15, 0, 0, 0, 0, time.UTC), 610},
		{time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), 670},
		// First Sunday of April 2024 is 7 April; at 03:00 daylight (UTC+11:10,
		// so 15:50Z on the 6th) it becomes standard.
		{time.Date(2024, 4, 6, 15, 49, 0, 0, time.UTC), 670},
		{time.Date(2024, 4, 6, 15, 51, 0, 0, time.UTC), 610},
	}
	for _, tc := range tests {
		_, off := tc.at.In(loc).Zone()
		if off/60 != tc.want {
			t.Errorf("%s: offset %d min, want %d", tc.at, off/60, tc.want)
		}
	}
	// The Android "GMT unknown daylight" blob (Bias 0, bogus rules) follows its
	// own rules: standard (UTC+0) from the first Sunday in January to the last
	// Sunday in October.
	g := mustTZ(t, androidGMTUnknownDaylight)
	gl := g.Location(nil, 2010)
	if _, off := time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC).In(gl).Zone(); off != 0 {
		t.Errorf("GMT unknown: offset %d in June", off)
	}
}

func TestTimeZoneBinaryEdges(t *testing.T) {
	// Short blobs are zero-extended; long ones refused; bad base64 refused.
	tz, err := ParseTimeZone("LAEAAA==") // Bias 300 only
	if err != nil || tz.Bias != 300 || tz.HasDST() {
		t.Errorf("short blob: %#v %v", tz, err)
	}
	if _, err := ParseTimeZone("!!!"); err == nil {
		t.Error("bad base64 accepted")
	}
	long := make([]byte, 200)
	if err := new(TimeZone).UnmarshalBinary(long); err == nil {
		t.Error("long blob accepted")
	}
	// Names: cut at 31 UTF-16 units, surrogate pairs kept.
	in := TimeZone{StandardName: "Zone 𝄞 with a name much longer than thirty-one units"}
	b, _ := in.MarshalBinary()
	var out TimeZone
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if out.StandardName != "Zone 𝄞 with a name much longer" {
		t.Errorf("name %q", out.StandardName)
	}
	if !bytes.Equal(b[66:68], []byte{0, 0}) {
		t.Error("name not NUL-terminated")
	}
	// A lone surrogate decodes as U+FFFD.
	bad := make([]byte, TimeZoneSize)
	bad[4], bad[5] = 0x00, 0xD8
	_ = out.UnmarshalBinary(bad)
	if out.StandardName != "\uFFFD" {
		t.Errorf("lone surrogate: %q", out.StandardName)
	}
}

// RFC 5545 3.6.5's example VTIMEZONE for America/New_York (2007 rules), and
// the form Outlook writes (DTSTART in 1601), under names no zone database has.
const rfcNewYorkVTimezone = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Eastern Custom\r\nLAST-MODIFIED:20050809T050000Z\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nTZNAME:EDT\r\nEND:DAYLIGHT\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nTZNAME:EST\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Outlook Berlin\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VTIMEZONE\r\nTZID:Fixed Plus Three\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\n" +
	"END:VTIMEZONE\r\n" +
	"BEGIN:VEVENT\r\nUID:x\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Eastern Custom:20240704T090000\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestVTimezoneToBlobAndZone(t *testing.T) {
	cal, err := Parse([]byte(rfcNewYorkVTimezone))
	if err != nil {
		t.Fatal(err)
	}
	z := NewZones(cal)
	tests := []struct {
		tzid, like string
		julyOff    int
	}{
		{"Eastern Custom", "America/New_York", -4 * 3600},
		{"Outlook Berlin", "Europe/Berlin", 2 * 3600},
		{"Fixed Plus Three", "Europe/Moscow", 3 * 3600},
	}
	for _, tc := range tests {
		vtz := z.VTimezone(tc.tzid)
		blob, err := TimeZoneFromVTimezone(vtz, 2024)
		if err != nil {
			t.Fatal(err)
		}
		want := NewTimeZone(mustLoc(t, tc.like), date(2024, 1, 1))
		if !sameRules(blob, want, 2024, false) {
			t.Errorf("%s: blob %#v, want rules of %s %#v", tc.tzid, blob, tc.like, want)
		}
		loc := z.Location(tc.tzid)
		if loc == nil {
			t.Fatalf("%s: no zone", tc.tzid)
		}
		if _, off := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC).In(loc).Zone(); off != tc.julyOff {
			t.Errorf("%s: July offset %d", tc.tzid, off)
		}
		// Blob -> VTIMEZONE -> blob is the identity on the rules.
		back, err := TimeZoneFromVTimezone(blob.VTimezone("again"), 2024)
		if err != nil || !sameRules(back, blob, 2024, false) {
			t.Errorf("%s: VTIMEZONE round trip %#v %v", tc.tzid, back, err)
		}
	}
	// The event's DTSTART reads in that zone: 09:00 EDT is 13:00Z.
	o, err := NewObject(cal)
	if err != nil {
		t.Fatal(err)
	}
	s, err := o.Start(o.Master)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Instant(nil).UTC(); !got.Equal(time.Date(2024, 7, 4, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("DTSTART read as %s", got)
	}
}

func TestLoadZoneNames(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Europe/Berlin", "Europe/Berlin"},
		{"Asia/Calcutta", "Asia/Kolkata"},
		{"W. Europe Standard Time", "Europe/Berlin"},
		{"/mozilla.org/20050126_1/America/New_York", "America/New_York"},
		{"/softwarestudio.org/Olson_20011030_5/America/New_York", "America/New_York"},
		{"(GMT+01:00) Europe/Berlin", "Europe/Berlin"},
		{"UTC", "UTC"},
		{"GMT", "UTC"},
		{"Not/AZone", ""},
		{"../../etc/passwd", ""},
		{"", ""},
	}
	for _, tc := range tests {
		got := ""
		if l := LoadZone(tc.in); l != nil {
			got = l.String()
		}
		if got != tc.want {
			t.Errorf("LoadZone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if WindowsZoneName("Asia/Calcutta") != "India Standard Time" || WindowsZoneName("Nowhere/None") != "" {
		t.Error("WindowsZoneName")
	}
}

// RFC 5545 3.3.5: a local time in a DST gap takes the offset before the gap;
// an ambiguous one is its first instant.
func TestWallToInstantGapsAndFolds(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	syd := mustLoc(t, "Australia/Sydney")
	tests := []struct {
		loc  *time.Location
		wall string
		want string
	}{
		{ny, "20240310T023000", "20240310T073000Z"}, // gap: read as EST, which is 03:30 EDT
		{ny, "20241103T013000", "20241103T053000Z"}, // fold: the EDT instant
		{ny, "20240704T090000", "20240704T130000Z"},
		{syd, "20241006T023000", "20241005T163000Z"}, // Sydney gap (first Sunday of October)
		{syd, "20240407T023000", "20240406T153000Z"}, // Sydney fold: the AEDT instant
	}
	for _, tc := range tests {
		got := wallToInstant(mustWall(t, tc.wall), tc.loc).UTC().Format("20060102T150405Z")
		if got != tc.want {
			t.Errorf("%s %s: got %s, want %s", tc.loc, tc.wall, got, tc.want)
		}
	}
}
