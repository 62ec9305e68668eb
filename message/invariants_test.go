package message

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// checkInvariants verifies what doc.go promises about any Parse result.
func checkInvariants(t testing.TB, raw []byte, p *Parsed) {
	t.Helper()
	if p == nil || p.Structure == nil {
		t.Fatal("nil result or structure")
	}
	root := p.Structure
	if root.HeaderStart != 0 || root.End != int64(len(raw)) {
		t.Errorf("root spans [%d,%d), want [0,%d)", root.HeaderStart, root.End, len(raw))
	}
	nparts := 0
	var walk func(part *Part, lo, hi int64, depth int)
	walk = func(part *Part, lo, hi int64, depth int) {
		nparts++
		if depth > MaxDepth+1 {
			t.Errorf("depth %d exceeds MaxDepth", depth)
			return
		}
		if !(lo <= part.HeaderStart && part.HeaderStart <= part.BodyStart && part.BodyStart <= part.End && part.End <= hi) {
			t.Errorf("part offsets %d/%d/%d outside [%d,%d]", part.HeaderStart, part.BodyStart, part.End, lo, hi)
			return
		}
		if part.Size != part.End-part.BodyStart {
			t.Errorf("part at %d: Size %d != End-BodyStart %d", part.HeaderStart, part.Size, part.End-part.BodyStart)
		}
		if part.Type == "" || part.Subtype == "" || part.Encoding == "" {
			t.Errorf("part at %d: empty type %q/%q or encoding %q", part.HeaderStart, part.Type, part.Subtype, part.Encoding)
		}
		if part.Type == "multipart" && len(part.Children) == 0 {
			t.Errorf("multipart at %d without children", part.HeaderStart)
		}
		if part.Type != "multipart" && len(part.Children) > 0 {
			t.Errorf("%s/%s at %d has children", part.Type, part.Subtype, part.HeaderStart)
		}
		isMsg := part.Type == "message" && (part.Subtype == "rfc822" || part.Subtype == "global")
		if isMsg != (part.Message != nil) {
			t.Errorf("%s/%s at %d: Message set = %v", part.Type, part.Subtype, part.HeaderStart, part.Message != nil)
		}
		if (part.Type == "text" || isMsg) && part.Lines != countLines(raw[part.BodyStart:part.End]) {
			t.Errorf("part at %d: Lines %d", part.HeaderStart, part.Lines)
		}
		prev := part.BodyStart
		for _, c := range part.Children {
			if c.HeaderStart < prev {
				t.Errorf("child at %d overlaps previous sibling ending at %d", c.HeaderStart, prev)
			}
			walk(c, part.BodyStart, part.End, depth+1)
			prev = c.End
		}
		if part.Message != nil {
			s := part.Message.Structure
			if s == nil {
				t.Fatalf("message part at %d without structure", part.HeaderStart)
			}
			if s.HeaderStart != part.BodyStart || s.End != part.End {
				t.Errorf("encapsulated message [%d,%d) != body [%d,%d)", s.HeaderStart, s.End, part.BodyStart, part.End)
			}
			walk(s, part.BodyStart, part.End, depth+1)
		}
	}
	walk(root, 0, int64(len(raw)), 0)
	if nparts > 2*MaxParts+2 {
		t.Errorf("%d parts, more than the limit", nparts)
	}

	for _, a := range p.Attachments {
		sec, err := ParseSection(a.Part)
		if err != nil {
			t.Errorf("attachment part %q: %v", a.Part, err)
			continue
		}
		part := root.Find(sec)
		if part == nil {
			t.Errorf("attachment part %q not found", a.Part)
			continue
		}
		if part.Type == "multipart" {
			t.Errorf("attachment %q is a multipart", a.Part)
		}
		start, end, ok := root.SectionRange(sec, "")
		if !ok || start != part.BodyStart || end != part.End {
			t.Errorf("SectionRange(%q) = %d,%d,%v; part body [%d,%d)", a.Part, start, end, ok, part.BodyStart, part.End)
		}
		if _, _, ok := root.SectionRange(sec, "MIME"); !ok {
			t.Errorf("SectionRange(%q.MIME) not ok", a.Part)
		}
	}
	if p.CalendarPart != "" {
		sec, _ := ParseSection(p.CalendarPart)
		if c := root.Find(sec); c == nil || c.Type != "text" || c.Subtype != "calendar" {
			t.Errorf("CalendarPart %q does not name a text/calendar part", p.CalendarPart)
		}
	}

	for name, s := range map[string]string{"Text": p.Text, "HTML": p.HTML, "Preview": p.Preview, "Subject": p.Envelope.Subject} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", name, s)
		}
	}
	if n := utf8.RuneCountInString(p.Preview); n > PreviewRunes {
		t.Errorf("Preview has %d runes", n)
	}
	if p.ThreadKey == "" {
		t.Error("empty ThreadKey")
	}
	if len(p.Problems) > maxProblems+1 {
		t.Errorf("%d problems", len(p.Problems))
	}

	// The store saves the JSON form; it must round-trip exactly.
	b1, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var back Parsed
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatalf("json.Unmarshal: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b1, b2) {
		t.Errorf("JSON does not round-trip:\n%s\n%s", b1, b2)
	}
	if !back.Envelope.Date.Equal(p.Envelope.Date) {
		t.Errorf("date round-trips as %v, want %v", back.Envelope.Date, p.Envelope.Date)
	}
}
