package calendar

import (
	"errors"
	"testing"
	"time"
)

func floatingStart(s string) DateTime {
	w, isDate, _, _ := parseWall(s)
	return DateTime{Wall: w, IsDate: isDate, Floating: !isDate}
}

// EAS Recurrence -> RRULE. The first block is the Android Exchange client's
// testRruleFromRecurrence (CalendarUtilitiesTests.java, AOSP, Apache-2.0),
// whose expected strings we match up to part order and INTERVAL=1; the rest
// is the [MS-ASCAL] 2.2.2.37 table as the fact sheet (§3) states it.
func TestRuleFromRecurrence(t *testing.T) {
	start := floatingStart("20100301T100000")
	tests := []struct {
		name string
		r    EASRecurrence
		want string
	}{
		{"android: every Monday for 2 weeks", EASRecurrence{Type: 1, Occurrences: 2, Interval: 1, DayOfWeek: 2}, "FREQ=WEEKLY;COUNT=2;BYDAY=MO"},
		{"android: every Tuesday and Friday", EASRecurrence{Type: 1, DayOfWeek: 36}, "FREQ=WEEKLY;BYDAY=TU,FR"},
		{"android: last Saturday of the month", EASRecurrence{Type: 3, DayOfWeek: 64, WeekOfMonth: 5}, "FREQ=MONTHLY;BYDAY=-1SA"},
		{"android: third Wednesday and Thursday", EASRecurrence{Type: 3, DayOfWeek: 24, WeekOfMonth: 3}, "FREQ=MONTHLY;BYDAY=3WE,3TH"},
		{"android: the 14th of every month", EASRecurrence{Type: 2, DayOfMonth: 14}, "FREQ=MONTHLY;BYMONTHDAY=14"},
		{"android: every 31st of October", EASRecurrence{Type: 5, DayOfMonth: 31, MonthOfYear: 10}, "FREQ=YEARLY;BYMONTH=10;BYMONTHDAY=31"},
		{"android: first Tuesday of June", EASRecurrence{Type: 6, DayOfWeek: 4, WeekOfMonth: 1, MonthOfYear: 6}, "FREQ=YEARLY;BYMONTH=6;BYDAY=1TU"},
		{"daily, interval 0 read as 1", EASRecurrence{Type: 0, Interval: 0}, "FREQ=DAILY"},
		{"daily every 3 days", EASRecurrence{Type: 0, Interval: 3}, "FREQ=DAILY;INTERVAL=3"},
		{"daily on weekdays", EASRecurrence{Type: 0, DayOfWeek: 62}, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"},
		{"daily on any day", EASRecurrence{Type: 0, DayOfWeek: 127}, "FREQ=DAILY"},
		{"monthly day 31 = last day", EASRecurrence{Type: 2, DayOfMonth: 31}, "FREQ=MONTHLY;BYMONTHDAY=-1"},
		{"monthly day 30", EASRecurrence{Type: 2, DayOfMonth: 30}, "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"},
		{"last weekday of the month", EASRecurrence{Type: 3, DayOfWeek: 62, WeekOfMonth: 5}, "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"},
		{"second weekend day", EASRecurrence{Type: 3, DayOfWeek: 65, WeekOfMonth: 2}, "FREQ=MONTHLY;BYDAY=SA,SU;BYSETPOS=2"},
		{"third day of the month (127)", EASRecurrence{Type: 3, DayOfWeek: 127, WeekOfMonth: 3}, "FREQ=MONTHLY;BYMONTHDAY=3"},
		{"last day (127, 5)", EASRecurrence{Type: 3, DayOfWeek: 127, WeekOfMonth: 5}, "FREQ=MONTHLY;BYMONTHDAY=-1"},
		{"yearly last Sunday of March", EASRecurrence{Type: 6, DayOfWeek: 1, WeekOfMonth: 5, MonthOfYear: 3}, "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"},
		{"Occurrences wins over Until", EASRecurrence{Type: 0, Occurrences: 5, Until: time.Date(2010, 5, 1, 0, 0, 0, 0, time.UTC)}, "FREQ=DAILY;COUNT=5"},
		{"Until", EASRecurrence{Type: 0, Until: time.Date(2010, 5, 1, 9, 0, 0, 0, time.UTC)}, "FREQ=DAILY;UNTIL=20100501T090000"},
		{"Until midnight means the whole day", EASRecurrence{Type: 0, Until: time.Date(2010, 5, 1, 0, 0, 0, 0, time.UTC)}, "FREQ=DAILY;UNTIL=20100501T235959"},
		{"FirstDayOfWeek (14.1)", EASRecurrence{Type: 1, DayOfWeek: 2, HasFirstDayOfWeek: true, FirstDayOfWeek: 1}, "FREQ=WEEKLY;BYDAY=MO;WKST=MO"},
		{"Hebrew lunar leap month", EASRecurrence{Type: 5, DayOfMonth: 14, MonthOfYear: 6, CalendarType: 8, IsLeapMonth: true}, "FREQ=YEARLY;RSCALE=HEBREW;BYMONTH=6L;BYMONTHDAY=14"},
	}
	for _, tc := range tests {
		r, err := RuleFromRecurrence(tc.r, start, V141, time.UTC)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if r.String() != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, r, tc.want)
		}
	}
}

// Elements ActiveSync forbids: Status 6 ([MS-ASCAL] 2.2.2.37; MS-ASCAL test
// suite S01 "Status 6" cases).
func TestRuleFromRecurrenceInvalid(t *testing.T) {
	start := floatingStart("20100301T100000")
	bad := []EASRecurrence{
		{Type: 4, DayOfWeek: 2},
		{Type: 7},
		{Type: 1},                               // weekly without DayOfWeek
		{Type: 2},                               // monthly without DayOfMonth
		{Type: 3, DayOfWeek: 2},                 // without WeekOfMonth
		{Type: 5, DayOfMonth: 3},                // without MonthOfYear
		{Type: 6, DayOfWeek: 2, WeekOfMonth: 1}, // without MonthOfYear
		{Type: 1, DayOfWeek: 2, DayOfMonth: 5},  // DayOfMonth with weekly
		{Type: 2, DayOfMonth: 5, DayOfWeek: 2},  // DayOfWeek with monthly
		{Type: 0, MonthOfYear: 3},
		{Type: 0, Interval: 1000},
		{Type: 0, Occurrences: 1000},
		{Type: 0, CalendarType: 13},
		{Type: 0, CalendarType: 16},
		{Type: 1, DayOfWeek: 200},
		{Type: 1, DayOfWeek: 2, HasFirstDayOfWeek: true, FirstDayOfWeek: 7},
	}
	for _, r := range bad {
		if _, err := RuleFromRecurrence(r, start, V141, time.UTC); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: got %v, want ErrInvalid", r, err)
		}
	}
}

// RRULE -> EAS pattern: exact where ActiveSync can say it, the nearest
// pattern otherwise.
func TestRecurrenceFromRule(t *testing.T) {
	start := floatingStart("20240311T093000") // a Monday
	tests := []struct {
		rule  string
		want  *EASRecurrence
		exact bool
	}{
		{"FREQ=DAILY", &EASRecurrence{Type: 0, Interval: 1}, true},
		{"FREQ=WEEKLY;WKST=SU;BYDAY=MO,WE,FR", &EASRecurrence{Type: 1, Interval: 1, DayOfWeek: 42, HasFirstDayOfWeek: true}, true},
		{"FREQ=WEEKLY", &EASRecurrence{Type: 1, Interval: 1, DayOfWeek: 2}, true},
		{"FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", &EASRecurrence{Type: 1, Interval: 1, DayOfWeek: 62}, true},
		{"FREQ=MONTHLY;BYDAY=1TU", &EASRecurrence{Type: 3, Interval: 1, DayOfWeek: 4, WeekOfMonth: 1}, true},
		{"FREQ=MONTHLY;BYDAY=-1FR;COUNT=10", &EASRecurrence{Type: 3, Interval: 1, DayOfWeek: 32, WeekOfMonth: 5, Occurrences: 10}, true},
		{"FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", &EASRecurrence{Type: 3, Interval: 1, DayOfWeek: 62, WeekOfMonth: 5}, true},
		{"FREQ=MONTHLY;BYMONTHDAY=-1", &EASRecurrence{Type: 2, Interval: 1, DayOfMonth: 31}, true},
		{"FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1", &EASRecurrence{Type: 2, Interval: 1, DayOfMonth: 30}, true},
		{"FREQ=MONTHLY", &EASRecurrence{Type: 2, Interval: 1, DayOfMonth: 11}, true},
		{"FREQ=YEARLY", &EASRecurrence{Type: 5, Interval: 1, DayOfMonth: 11, MonthOfYear: 3}, true},
		{"FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", &EASRecurrence{Type: 6, Interval: 1, DayOfWeek: 16, WeekOfMonth: 4, MonthOfYear: 11}, true},
		{"FREQ=YEARLY;INTERVAL=2;BYMONTH=6;BYMONTHDAY=1", &EASRecurrence{Type: 5, Interval: 2, DayOfMonth: 1, MonthOfYear: 6}, true},
		{"FREQ=WEEKLY;UNTIL=20240601T133000Z", &EASRecurrence{Type: 1, Interval: 1, DayOfWeek: 2, Until: time.Date(2024, 6, 1, 13, 30, 0, 0, time.UTC)}, true},
		// Not expressible: the nearest pattern.
		{"FREQ=MONTHLY;BYMONTHDAY=1,15", &EASRecurrence{Type: 2, Interval: 1, DayOfMonth: 11}, false},
		{"FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1", &EASRecurrence{Type: 5, Interval: 1, DayOfMonth: 1, MonthOfYear: 1}, false},
		{"FREQ=MONTHLY;BYDAY=1MO,-1FR", &EASRecurrence{Type: 3, Interval: 1, DayOfWeek: 34, WeekOfMonth: 1}, false},
		{"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", &EASRecurrence{Type: 5, Interval: 1, DayOfMonth: 11, MonthOfYear: 3}, false},
		{"FREQ=DAILY;BYHOUR=9,17", &EASRecurrence{Type: 0, Interval: 1}, false},
		{"FREQ=DAILY;COUNT=5000", &EASRecurrence{Type: 0, Interval: 1, Occurrences: 999}, false},
		{"FREQ=HOURLY", nil, false},
		{"FREQ=MINUTELY;INTERVAL=30", nil, false},
	}
	for _, tc := range tests {
		rule, err := ParseRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		got, exact := RecurrenceFromRule(rule, start, V141, time.UTC)
		if exact != tc.exact || !sameRecurrence(got, tc.want) || (got != nil && got.HasFirstDayOfWeek != tc.want.HasFirstDayOfWeek) {
			t.Errorf("%s: got %+v exact=%v, want %+v exact=%v", tc.rule, got, exact, tc.want, tc.exact)
		}
	}
}

// EAS -> RRULE -> EAS is the identity for every expressible pattern.
func TestRecurrenceRoundTrip(t *testing.T) {
	start := floatingStart("20240311T093000")
	var cases []EASRecurrence
	for _, dow := range []int{1, 2, 36, 62, 65, 127} {
		cases = append(cases, EASRecurrence{Type: 1, DayOfWeek: dow, Interval: 2})
		for wom := 1; wom <= 5; wom++ {
			cases = append(cases, EASRecurrence{Type: 3, DayOfWeek: dow, WeekOfMonth: wom})
			cases = append(cases, EASRecurrence{Type: 6, DayOfWeek: dow, WeekOfMonth: wom, MonthOfYear: 2})
		}
	}
	for d := 1; d <= 31; d++ {
		cases = append(cases, EASRecurrence{Type: 2, DayOfMonth: d, Occurrences: 7}, EASRecurrence{Type: 5, DayOfMonth: d, MonthOfYear: 12})
	}
	for _, r := range cases {
		rule, err := RuleFromRecurrence(r, start, V161, time.UTC)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		back, exact := RecurrenceFromRule(rule, start, V161, time.UTC)
		if r.Type == 1 && r.DayOfWeek == 127 {
			continue // "every day of the week" comes back as the same days, weekly
		}
		if !exact || !sameRecurrence(back, &r) {
			if r.Type == 3 && r.DayOfWeek == 127 || r.Type == 6 && r.DayOfWeek == 127 {
				// "the nth day of the month" is BYMONTHDAY=n, read back as Type 2.
				if back.Type == 2 || back.Type == 5 {
					continue
				}
			}
			t.Errorf("%+v -> %s -> %+v (exact %v)", r, rule, back, exact)
		}
	}
}

// The patterns expand to the days Outlook shows: "day 30" falls on 29
// February 2024 and 28 February 2025; "day 31" on the 30th in April.
func TestMonthlyDayOfMonthExpansion(t *testing.T) {
	start := floatingStart("20240130T090000")
	for _, tc := range []struct {
		dom  int
		want []string
	}{
		{30, []string{"20240130", "20240229", "20240330", "20240430"}},
		{31, []string{"20240131", "20240229", "20240331", "20240430"}},
	} {
		s := start
		if tc.dom == 31 {
			s = floatingStart("20240131T090000")
		}
		rule, _ := RuleFromRecurrence(EASRecurrence{Type: 2, DayOfMonth: tc.dom}, s, V141, time.UTC)
		it := newRuleIter(rule, s.Wall, DefaultMaxWork)
		for i, w := range tc.want {
			got, ok := it.next()
			if !ok || got.Format("20060102") != w {
				t.Errorf("day %d, #%d: got %s, want %s", tc.dom, i, got.Format("20060102"), w)
			}
		}
	}
}

func TestVersionParse(t *testing.T) {
	for in, want := range map[string]Version{"2.5": 25, "12.1": V121, "14.0": V140, "16.1": V161} {
		if v, err := ParseVersion(in); err != nil || v != want || v.String() != in {
			t.Errorf("%s: %v %v", in, v, err)
		}
	}
	for _, in := range []string{"", "16", "x.1", "16.10"} {
		if _, err := ParseVersion(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestRuleParseAndString(t *testing.T) {
	good := []string{
		"FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2;BYWEEKNO=20;BYYEARDAY=-1;BYMONTHDAY=1,-1;BYDAY=-1SU,MO;BYHOUR=9;BYMINUTE=30;BYSECOND=0;BYSETPOS=-1;WKST=MO",
		"FREQ=DAILY;UNTIL=20240101",
		"FREQ=DAILY;UNTIL=20240101T000000Z;X-FOO=bar",
		"FREQ=MONTHLY;RSCALE=CHINESE;BYMONTHDAY=1;SKIP=FORWARD",
	}
	for _, s := range good {
		r, err := ParseRule(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		r2, err := ParseRule(r.String())
		if err != nil || r2.String() != r.String() {
			t.Errorf("%s: not stable: %s", s, r.String())
		}
	}
	for _, s := range []string{"", "INTERVAL=2", "FREQ=FORTNIGHTLY", "FREQ=DAILY;COUNT=0", "FREQ=DAILY;BYMONTH=13",
		"FREQ=DAILY;BYDAY=XX", "FREQ=DAILY;BYDAY=0MO", "FREQ=DAILY;UNTIL=tomorrow", "FREQ=DAILY;WKST=XX", "FREQ=DAILY;garbage",
		"FREQ=DAILY;BYMONTHDAY=0", "FREQ=DAILY;INTERVAL=-1"} {
		if _, err := ParseRule(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
