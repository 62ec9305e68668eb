package calendar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

// corpus returns the real-world style exports in testdata/ics: Google
// Calendar (recurring meeting with a moved instance, two alarms, X-NUM-GUESTS
// parameters), Exchange/Outlook (Windows zone names, X-MICROSOFT-CDO-*,
// X-ALT-DESC), Apple Calendar (all-day birthday, ATTACH binary, alarm
// extensions, a VTODO) and Thunderbird (DURATION, RELATED=END alarm,
// DELEGATED attendee, CATEGORIES twice, GEO).
func corpus(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("testdata/ics/*.ics")
	if err != nil || len(files) < 4 {
		t.Fatalf("corpus: %v %d files", err, len(files))
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// Parse → Encode → Parse is the identity on the model, and Encode is stable.
func TestRoundTripCorpus(t *testing.T) {
	for name, data := range corpus(t) {
		c1, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out1 := Encode(c1)
		c2, err := Parse(out1)
		if err != nil {
			t.Fatalf("%s: re-parse: %v", name, err)
		}
		if !reflect.DeepEqual(c1, c2) {
			t.Errorf("%s: model changed by a round trip", name)
		}
		if out2 := Encode(c2); !bytes.Equal(out1, out2) {
			t.Errorf("%s: encoding not stable", name)
		}
		// Every content line of the input survives (unfolded, in any order).
		want := map[string]int{}
		for _, l := range unfold(data) {
			if l != "" {
				want[normLine(t, l)]++
			}
		}
		for _, l := range unfold(out1) {
			if l != "" {
				want[normLine(t, l)]--
			}
		}
		for l, n := range want {
			if n != 0 {
				t.Errorf("%s: line %q count differs by %d", name, l, n)
			}
		}
		for _, l := range bytes.Split(out1, []byte("\r\n")) {
			if len(l) > 75 {
				t.Errorf("%s: line of %d octets", name, len(l))
			}
		}
	}
}

// normLine writes a line with its parameters sorted, as Encode does.
func normLine(t testing.TB, l string) string {
	p, err := parseContentLine(l)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	encodeProp(&b, p)
	return b.String()
}

func TestParseLenientAndStrict(t *testing.T) {
	good := []struct {
		name, in string
		check    func(*ical.Calendar) bool
	}{
		{"bare LF and lower case", "begin:vcalendar\nversion:2.0\nbegin:vevent\nuid:1\nsummary:Hi\nend:vevent\nend:vcalendar\n",
			func(c *ical.Calendar) bool { return c.Children[0].Props.Get("SUMMARY").Value == "Hi" }},
		{"BOM, blank lines, tab folding", "\xef\xbb\xbfBEGIN:VCALENDAR\r\n\r\nBEGIN:VEVENT\r\nSUMMARY:a\r\n\tb\r\nEND:VEVENT\r\nEND:VCALENDAR\r\ntrailing junk",
			func(c *ical.Calendar) bool { return c.Children[0].Props.Get("SUMMARY").Value == "ab" }},
		{"quoted parameter with ;:,", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nATTENDEE;CN=\"Doe, J; Jr: x\";X-A=1,2:mailto:j@x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			func(c *ical.Calendar) bool {
				p := c.Children[0].Props.Get("ATTENDEE")
				return p.Params.Get("CN") == "Doe, J; Jr: x" && len(p.Params["X-A"]) == 2
			}},
		{"empty value and invalid UTF-8", "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDESCRIPTION:\r\nSUMMARY:\xff\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
			func(c *ical.Calendar) bool { return c.Children[0].Props.Get("SUMMARY").Value == "\uFFFD" }},
	}
	for _, tc := range good {
		c, err := Parse([]byte(tc.in))
		if err != nil || !tc.check(c) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	bad := map[string]string{
		"empty":              "",
		"not a calendar":     "BEGIN:VCARD\r\nEND:VCARD\r\n",
		"missing END":        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
		"wrong END":          "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
		"no colon":           "BEGIN:VCALENDAR\r\nSUMMARY\r\nEND:VCALENDAR\r\n",
		"stray quote":        "BEGIN:VCALENDAR\r\nX;A=b\"c:d\r\nEND:VCALENDAR\r\n",
		"unterminated quote": "BEGIN:VCALENDAR\r\nX;A=\"bc:d\r\nEND:VCALENDAR\r\n",
		"bad param":          "BEGIN:VCALENDAR\r\nX;A:d\r\nEND:VCALENDAR\r\n",
		"nameless":           "BEGIN:VCALENDAR\r\n:x\r\nEND:VCALENDAR\r\n",
		"BEGIN without name": "BEGIN:VCALENDAR\r\nBEGIN:\r\nEND:VCALENDAR\r\n",
		"too deep":           "BEGIN:VCALENDAR\r\n" + strings.Repeat("BEGIN:X\r\n", 20) + strings.Repeat("END:X\r\n", 20) + "END:VCALENDAR\r\n",
		"too big":            "BEGIN:VCALENDAR\r\nX:" + strings.Repeat("a", MaxObjectSize) + "\r\nEND:VCALENDAR\r\n",
	}
	for name, in := range bad {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestEncodeFoldsUTF8AndEscapes(t *testing.T) {
	cal := ical.NewCalendar()
	ev := ical.NewComponent(ical.CompEvent)
	long := strings.Repeat("ü", 100) // 200 octets
	setText(ev, ical.PropSummary, long)
	setText(ev, ical.PropDescription, "line 1\nline 2; a, b \\ c")
	ev.Props.Set(&ical.Prop{Name: "X-Q", Params: ical.Params{"X-P": {`say "hi"`, "a:b"}}, Value: "raw\nvalue"})
	cal.Children = append(cal.Children, ev)
	out := Encode(cal)
	for _, l := range bytes.Split(out, []byte("\r\n")) {
		if len(l) > 75 {
			t.Errorf("line of %d octets", len(l))
		}
		if !bytes.Equal(bytes.ToValidUTF8(l, nil), l) {
			t.Errorf("folded inside a UTF-8 sequence: %q", l)
		}
	}
	c, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Children[0]
	if s, _ := propText(e, ical.PropSummary); s != long {
		t.Error("long summary changed")
	}
	if s, _ := propText(e, ical.PropDescription); s != "line 1\nline 2; a, b \\ c" {
		t.Errorf("description %q", s)
	}
	p := e.Props.Get("X-Q")
	if p.Value != `raw\nvalue` || p.Params["X-P"][0] != `say ^'hi^'` || p.Params["X-P"][1] != "a:b" {
		t.Errorf("X-Q %#v", p)
	}
	if got := splitText(`a\,b,c\;d,e\\`); !reflect.DeepEqual(got, []string{"a,b", "c;d", `e\`}) {
		t.Errorf("splitText %q", got)
	}
}
