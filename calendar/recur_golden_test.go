package calendar

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// goldenCase is one line of testdata/rrule_golden.jsonl, written by
// testdata/gen_rrule_golden.py from Python's dateutil.rrule (Debian package
// python3-dateutil), the independent oracle for recurrence expansion.
type goldenCase struct {
	ID          int      `json:"id"`
	TZID        string   `json:"tzid"`
	DTStart     string   `json:"dtstart"`
	RRule       string   `json:"rrule"`
	First       []string `json:"first"`
	FirstUTC    []string `json:"first_utc"`
	WindowStart string   `json:"window_start"`
	WindowEnd   string   `json:"window_end"`
	Window      []string `json:"window"`
}

func loadGolden(t testing.TB) []goldenCase {
	f, err := os.Open("testdata/rrule_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var out []goldenCase
	header := true
	for sc.Scan() {
		if header {
			header = false
			continue
		}
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) < 300 {
		t.Fatalf("only %d golden cases", len(out))
	}
	return out
}

func mustWall(t testing.TB, s string) time.Time {
	w, _, _, err := parseWall(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRRuleGoldenDateutil(t *testing.T) {
	for _, c := range loadGolden(t) {
		rule, err := ParseRule(c.RRule)
		if err != nil {
			t.Errorf("case %d: %v", c.ID, err)
			continue
		}
		loc := time.UTC
		start := DateTime{Wall: mustWall(t, c.DTStart), Floating: true}
		if c.TZID != "" {
			loc = LoadZone(c.TZID)
			start = DateTime{Wall: start.Wall, TZID: c.TZID, Loc: loc}
		}
		// The first occurrences.
		it := newSeriesIter(rule, start, loc, DefaultMaxWork)
		var got []string
		for len(got) < 40 {
			w, ok := it.next()
			if !ok {
				break
			}
			got = append(got, w.Format("20060102T150405"))
		}
		// A rule whose periods never match (DAILY;INTERVAL=7;BYDAY=<another
		// day>) runs dateutil to the year 9999; we stop at the work budget.
		if it.err != nil && (it.err != ErrTooComplex || len(c.First) >= 40) {
			t.Errorf("case %d %s: %v", c.ID, c.RRule, it.err)
		}
		if strings.Join(got, " ") != strings.Join(c.First, " ") {
			t.Errorf("case %d DTSTART %s %s RRULE %s\n got %v\nwant %v", c.ID, c.TZID, c.DTStart, c.RRule, got, c.First)
			continue
		}
		// Their instants, where the wall time exists once.
		for i, u := range c.FirstUTC {
			if u == "" {
				continue
			}
			in := wallToInstant(mustWall(t, c.First[i]), loc).UTC().Format("20060102T150405Z")
			if in != u {
				t.Errorf("case %d: %s %s is %s, dateutil says %s", c.ID, c.First[i], c.TZID, in, u)
			}
		}
		// A window far from DTSTART, reached by skipping ahead.
		ws, we := mustWall(t, c.WindowStart), mustWall(t, c.WindowEnd)
		wsI, weI := wallToInstant(ws, loc), wallToInstant(we, loc)
		it = newSeriesIter(rule, start, loc, DefaultMaxWork)
		it.skipTo(ws.AddDate(0, 0, -2))
		got = got[:0]
		for {
			w, ok := it.next()
			if !ok {
				break
			}
			in := wallToInstant(w, loc)
			if in.After(weI) {
				break
			}
			if !in.Before(wsI) {
				got = append(got, w.Format("20060102T150405"))
			}
		}
		if it.err != nil && it.err != ErrTooComplex {
			t.Errorf("case %d %s: %v", c.ID, c.RRule, it.err)
		}
		if strings.Join(got, " ") != strings.Join(c.Window, " ") {
			t.Errorf("case %d window %s..%s DTSTART %s %s RRULE %s\n got %v\nwant %v", c.ID, c.WindowStart, c.WindowEnd, c.TZID, c.DTStart, c.RRule, got, c.Window)
		}
	}
}
