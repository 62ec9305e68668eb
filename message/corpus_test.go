package message

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// shape renders a structure compactly: children in (), an encapsulated
// message in [].
func shape(p *Part) string {
	s := p.Type + "/" + p.Subtype
	if len(p.Children) > 0 {
		var cs []string
		for _, c := range p.Children {
			cs = append(cs, shape(c))
		}
		s += "(" + strings.Join(cs, ",") + ")"
	}
	if p.Message != nil {
		s += "[" + shape(p.Message.Structure) + "]"
	}
	return s
}

func addrs(list []Address) string {
	var s []string
	for _, a := range list {
		s = append(s, a.String())
	}
	return strings.Join(s, ", ")
}

// sectionSpec splits "1.2.MIME" into numbers and specifier.
func sectionSpec(t *testing.T, s string) ([]int, string) {
	t.Helper()
	var nums []string
	spec := ""
	for _, f := range strings.Split(s, ".") {
		if f == "" {
			continue
		}
		if f[0] >= '0' && f[0] <= '9' && spec == "" {
			nums = append(nums, f)
		} else {
			if spec != "" {
				spec += "."
			}
			spec += f
		}
	}
	sec, err := ParseSection(strings.Join(nums, "."))
	if err != nil {
		t.Fatal(err)
	}
	return sec, spec
}

// matchText compares got with want, where each "…" in want matches any
// text.
func matchText(got, want string) bool {
	segs := strings.Split(want, "…")
	if len(segs) == 1 {
		return got == want
	}
	if !strings.HasPrefix(got, segs[0]) {
		return false
	}
	rest := got[len(segs[0]):]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(rest, seg)
		if i < 0 {
			return false
		}
		rest = rest[i+len(seg):]
	}
	return strings.HasSuffix(rest, segs[len(segs)-1])
}

type corpusCase struct {
	file      string
	binary    bool // do not also test with the other line ending
	subject   string
	from, to  string
	cc        string
	date      string // RFC 3339; "" for none
	shape     string
	text      string // exact Text ("…" wildcard allowed)
	html      string // exact HTML ("…" wildcard allowed)
	preview   string
	threadKey string
	atts      []Attachment
	hasAtt    bool
	calendar  string
	// sections maps "1.2.MIME" etc. to the exact bytes of raw it must
	// select ("…" wildcard allowed), or "!" when it must not exist.
	sections map[string]string
	problems []string // substrings, one per expected problem, in order
}

var corpus = []corpusCase{
	{
		file:    "simple.eml",
		subject: "Lunch?", from: "alice@example.org", to: "bob@example.com",
		date:      "2025-06-02T12:00:00Z",
		shape:     "text/plain",
		text:      "Are we still on for lunch\nat noon?\n\n-- \nAlice\n",
		preview:   "Are we still on for lunch at noon? -- Alice",
		threadKey: "<simple-1@example.org>",
		sections: map[string]string{
			"1":      "Are we still on for lunch\nat noon?\n\n-- \nAlice\n",
			"TEXT":   "Are we still on for lunch\nat noon?\n\n-- \nAlice\n",
			"HEADER": "From: alice@example.org\n…Message-ID: <simple-1@example.org>\n\n",
			"1.MIME": "From: alice@example.org\n…Message-ID: <simple-1@example.org>\n\n",
			"":       "From: alice@example.org\n…Alice\n",
			"2":      "!", "1.1": "!", "1.HEADER": "!", "MIME": "!",
		},
	},
	{
		file:    "nested.eml",
		subject: "Quarterly report", from: "Alice Example <alice@example.org>",
		to: "Bob <bob@example.com>, carol@example.com", cc: `"Dave (Ops)" <dave@example.com>`,
		date:      "2025-06-03T10:59:59+02:00",
		shape:     "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/pdf)",
		text:      "Hi Bob,\n\nthe report is attached. Café at 10?",
		html:      `<html><body><p>Hi Bob,</p><p>the report is attached.</p><img src="cid:logo@example.org"></body></html>`,
		preview:   "Hi Bob, the report is attached. Café at 10?",
		threadKey: "<nested-1@example.org>",
		atts: []Attachment{
			{Part: "1.2.2", ContentType: "image/png", Size: 8, ContentID: "logo@example.org", Inline: true},
			{Part: "2", Name: "report.pdf", ContentType: "application/pdf", Size: 18},
		},
		hasAtt: true,
		sections: map[string]string{
			"1":        "--alt\nContent-Type: text/plain; charset=utf-8\n…\n--alt--",
			"1.MIME":   "Content-Type: multipart/alternative; boundary=\"alt\"\n\n",
			"1.1":      "Hi Bob,\n\nthe report is attached. Caf=C3=A9 at 10?",
			"1.1.MIME": "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n",
			"1.2":      "--rel\nContent-Type: text/html; charset=utf-8\n…iVBORw0KGgo=\n--rel--\n",
			"1.2.MIME": "Content-Type: multipart/related; boundary=\"rel\"; type=\"text/html\"\n\n",
			"1.2.1":    `<html><body><p>Hi Bob,</p><p>the report is attached.</p><img src="cid:logo@example.org"></body></html>`,
			"1.2.2":    "iVBORw0KGgo=",
			"2":        "JVBERi0xLjQK\nJVBERi0xLjQK",
			"2.MIME":   "Content-Type: application/pdf; name=\"report.pdf\"\nContent-Disposition: attachment; filename=\"report.pdf\"\nContent-Transfer-Encoding: base64\n\n",
			"HEADER":   "Return-Path: <alice@example.org>\n…boundary=\"outer\"\n\n",
			"TEXT":     "This is a multi-part message in MIME format.\n\n--outer\n…--outer--\nepilogue\n",
			"3":        "!", "1.3": "!", "2.1": "!", "2.HEADER": "!",
		},
	},
	{
		file:    "digest.eml",
		subject: "Example-L Digest, Vol 12, Issue 3", from: "list-request@lists.example.org", to: "subscriber@example.com",
		date:      "2025-06-04T06:00:00-04:00",
		shape:     "multipart/mixed(text/plain,multipart/digest(message/rfc822[text/plain],message/rfc822[text/plain]))",
		text:      "Today's Topics:\n  1. First post\n  2. Second post",
		preview:   "Today's Topics: 1. First post 2. Second post",
		threadKey: "<digest-12-3@lists.example.org>",
		atts: []Attachment{
			{Part: "2.1", Name: "First post.eml", ContentType: "message/rfc822", Size: 130},
			{Part: "2.2", Name: "Re_ First post.eml", ContentType: "message/rfc822", Size: 130},
		},
		hasAtt: true,
		sections: map[string]string{
			"2.1.MIME":   "\n",
			"2.1":        "From: Ann <ann@example.net>\n…\n\nHello list.",
			"2.1.1":      "Hello list.",
			"2.1.TEXT":   "Hello list.",
			"2.2.HEADER": "From: Ben <ben@example.net>\n…References: <post-1@example.net>\n\n",
			"2.2.1":      "Hello Ann.",
			"2.2.MIME":   "Content-Type: message/rfc822\n\n",
			"2.1.2":      "!",
		},
	},
	{
		file:    "rfc822-attached.eml",
		subject: "Fwd: Dinner", from: "Carol <carol@example.com>", to: "Bob <bob@example.com>",
		date:      "2025-06-05T08:15:00+01:00",
		shape:     "multipart/mixed(text/plain,message/rfc822[multipart/alternative(text/plain,text/html)])",
		text:      "See below.",
		preview:   "See below.",
		threadKey: "<fwd-1@example.com>",
		atts:      []Attachment{{Part: "2", Name: "Dinner.eml", ContentType: "message/rfc822", Size: 332, Inline: true}},
		hasAtt:    true,
		sections: map[string]string{
			"1":        "See below.",
			"2":        "From: Dan <dan@example.net>\n…<p>Dinner at <b>8</b>.</p>\n--inner--",
			"2.MIME":   "Content-Type: message/rfc822\nContent-Disposition: inline\n\n",
			"2.HEADER": "From: Dan <dan@example.net>\n…Content-Type: multipart/alternative; boundary=inner\n\n",
			"2.TEXT":   "--inner\nContent-Type: text/plain\n\nDinner at 8.\n--inner\n…--inner--",
			"2.1":      "Dinner at 8.",
			"2.1.MIME": "Content-Type: text/plain\n\n",
			"2.2":      "<p>Dinner at <b>8</b>.</p>",
			"3":        "!", "1.1": "!", "1.HEADER": "!", "2.3": "!", "2.1.1": "!",
		},
	},
	{
		file:    "utf8-headers.eml",
		subject: "Grüße aus Köln — 日本語", from: "Jürgen Müller <jürgen@bücher.example>", to: "张伟 <zhang@example.cn>",
		date:      "2025-06-06T14:00:00+02:00",
		shape:     "text/plain",
		text:      "Schöne Grüße!\n",
		preview:   "Schöne Grüße!",
		threadKey: "<utf8-1@bücher.example>",
	},
	{
		file:    "latin1-headers.eml",
		subject: "Réunion à la cafétéria", from: "René Dupré <rene@example.fr>", to: "bob@example.com",
		date:      "2025-06-06T15:00:00+02:00",
		shape:     "text/plain",
		text:      "Café crème € 2\n", // 8-bit body without charset: windows-1252
		preview:   "Café crème € 2",
		threadKey: "<latin1-1@example.fr>",
	},
	{
		file:      "encoded-words.eml",
		subject:   "Test 日本語のテスト",
		from:      "Иван Петров <ivan@example.ru>",
		to:        "王小明 <wang@example.cn>, 김철수 <kim@example.kr>, Łukasz Żółw <lukasz@example.pl>, José <jose@example.es>",
		cc:        "山田太郎 <yamada@example.jp>, 陳大文 <chan@example.hk>, Ольга <olga@example.ru>",
		date:      "2025-06-07T09:30:00+09:00",
		shape:     "text/plain",
		text:      "日本語のテスト\n",
		preview:   "日本語のテスト",
		threadKey: "<ew-1@example.jp>",
	},
	{
		file:    "missing-boundary.eml",
		subject: "No boundary", from: "bot@example.org", to: "bob@example.com",
		date:      "2025-06-08T10:00:00Z",
		shape:     "text/plain",
		text:      "Just some text\nin a multipart without boundary.\n",
		preview:   "Just some text in a multipart without boundary.",
		threadKey: "subject:d195dfc05fe8af74bfbc91ab",
		sections:  map[string]string{"1": "Just some text\nin a multipart without boundary.\n"},
		problems:  []string{"multipart/mixed without boundary at offset 0"},
	},
	{
		file:    "missing-close.eml",
		subject: "Truncated", from: "bot@example.org", to: "bob@example.com",
		date:      "2025-06-08T10:00:00Z",
		shape:     "multipart/mixed(multipart/alternative(text/plain,text/html),text/plain)",
		text:      "inner plain",
		html:      "<b>inner html</b>",
		preview:   "inner plain",
		threadKey: "subject:227b1c2e53cfd4a3dc1cc26c",
		atts:      []Attachment{{Part: "2", Name: "notes.txt", ContentType: "text/plain", Size: 26}},
		hasAtt:    true,
		sections: map[string]string{
			"1.1": "inner plain",
			"1.2": "<b>inner html</b>",
			"2":   "second part, never closed\n",
		},
		problems: []string{"has no closing boundary", "multipart at offset 0 has no closing boundary"},
	},
	{
		file:    "garbage-preamble.eml",
		subject: "Preamble junk", from: "bot@example.org", to: "bob@example.com",
		shape:     "multipart/mixed(text/plain)",
		text:      "body one",
		preview:   "body one",
		threadKey: "subject:792ddf8209e750b6c5e97fee",
		sections:  map[string]string{"1": "body one", "1.MIME": "Content-Type: text/plain\n\n", "2": "!"},
	},
	{
		file:    "winmail.eml",
		subject: "RE: Contract", from: `"Smith, Jane" <jane.smith@corp.example>`, to: "Bob <bob@example.com>",
		date:      "2025-06-09T16:20:11Z",
		shape:     "multipart/mixed(text/plain,application/ms-tnef)",
		text:      "Please see the attached contract. \r\n\r\nJane",
		preview:   "Please see the attached contract. Jane",
		threadKey: "<contract-0@example.com>",
		atts:      []Attachment{{Part: "2", Name: "winmail.dat", ContentType: "application/ms-tnef", Size: 113}},
		hasAtt:    true,
		sections: map[string]string{
			"1":      "Please see the attached contract.=20\r\n\r\nJane",
			"2":      "eJ8+IhAAAQaQCAAEAAAAAAABAAEAAQeQBgAIAAAA5AQAAAAAAADoAAEIgAcAGAAAAElQTS5NaWNy\r\n…AAEAKQE=",
			"2.MIME": "Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n",
		},
	},
	{
		file:    "long-line.eml",
		subject: strings.TrimSpace(strings.Repeat("long ", 2000)), from: "bot@example.org", to: "bob@example.com",
		shape:     "text/plain",
		text:      "yyyyyyyyyy…y\nend\n",
		preview:   strings.Repeat("y", PreviewRunes),
		threadKey: "subject:247caa932d78126642f08814",
	},
	{
		file:    "apple-mail.eml",
		subject: "Photos from the trip", from: "Erin <erin@example.org>", to: "Bob <bob@example.com>",
		date:  "2025-06-10T21:05:42+02:00",
		shape: "multipart/alternative(text/plain,multipart/mixed(text/html,image/jpeg,text/html))",
		text:  "Here is the first one:\n\n\nAnd the second.",
		html: `<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"></head><body style="word-wrap: break-word;">Here is the first one:<div><br></div></body></html>` +
			"\n" + `<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"></head><body style="word-wrap: break-word;"><div>And the second.</div></body></html>`,
		preview:   "Here is the first one: And the second.",
		threadKey: "<F1E2D3C4-1111-2222-3333-444455556666@example.org>",
		atts:      []Attachment{{Part: "2.2", Name: "IMG_0001.jpeg", ContentType: "image/jpeg", Size: 24, Inline: true}},
		hasAtt:    true,
		sections: map[string]string{
			"2.2":      "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBD",
			"2.2.MIME": "Content-Disposition: inline;\n\tfilename=IMG_0001.jpeg\n…Content-Transfer-Encoding: base64\n\n",
			"1":        "Here is the first one:\n\n\nAnd the second.",
		},
	},
	{
		file:    "outlook.eml",
		subject: "Angebot für nächste Woche", from: `"O'Neil, Frank" <frank@corp.example>`, to: `"bob@example.com" <bob@example.com>`,
		date:      "2025-06-11T09:00:00Z",
		shape:     "multipart/mixed(multipart/alternative(text/plain,text/html),application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,image/png)",
		text:      "Dear Bob,\r\n\r\nthe price is 100 € – “final”.\r\n\r\nRegards\r\nFrank\r\n",
		html:      "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Windows-1252\">\r\n…<body><p>Dear Bob,</p><p>the price is 100 € – “final”.</p></body>\r\n</html>\r\n",
		preview:   "Dear Bob, the price is 100 € – “final”. Regards Frank",
		threadKey: "<AM0PR01MB5555FFFF@AM0PR01MB5555.eurprd01.prod.outlook.com>",
		atts: []Attachment{
			{Part: "2", Name: "Preisübersicht 2025.xlsx", ContentType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Size: 14},
			{Part: "3", Name: "image001.png", ContentType: "image/png", Size: 4, ContentID: "image001.png@01DBDA99.12345670", Inline: true},
		},
		hasAtt: true,
		sections: map[string]string{
			"2": "UEsDBBQABgAIAAAAIQA=\r\n",
			"3": "iVBORw==\r\n",
		},
	},
	{
		file:    "calendar.eml",
		subject: "Invitation: Planning @ Thu 12 Jun 2025 10:00 - 11:00", from: "Grace <grace@example.org>", to: "Bob <bob@example.com>",
		date:      "2025-06-12T07:00:00Z",
		shape:     "multipart/mixed(multipart/alternative(text/plain,text/html,text/calendar),application/ics)",
		text:      "You have been invited to Planning.",
		html:      "<p>You have been invited to <b>Planning</b>.</p>",
		preview:   "You have been invited to Planning.",
		threadKey: "<invite-1@example.org>",
		atts:      []Attachment{{Part: "2", Name: "invite.ics", ContentType: "application/ics", Size: 32}},
		hasAtt:    true,
		calendar:  "1.3",
		sections: map[string]string{
			"1.3": "BEGIN:VCALENDAR\nPRODID:-//Example//Calendar//EN\n…END:VEVENT\nEND:VCALENDAR",
		},
	},
	{
		file:    "rfc2231.eml",
		subject: "RFC 2231 names", from: "bot@example.org", to: "bob@example.com",
		date:      "2025-06-13T10:00:00Z",
		shape:     "multipart/mixed(text/plain,application/octet-stream,application/octet-stream,application/octet-stream,application/zip)",
		text:      "Three files.",
		preview:   "Three files.",
		threadKey: "subject:c9842132dc8af97822d5d43a",
		atts: []Attachment{
			{Part: "2", Name: "日本語の文書.pdf", ContentType: "application/octet-stream", Size: 4},
			{Part: "3", Name: "übersicht + Pläne.txt", ContentType: "application/octet-stream", Size: 4},
			{Part: "4", Name: "very long name.doc", ContentType: "application/octet-stream", Size: 4},
			{Part: "5", Name: "unquoted name with spaces.zip", ContentType: "application/zip", Size: 4},
		},
		hasAtt: true,
	},
	{
		file:    "header-only.eml",
		subject: "Header only", from: "bot@example.org", to: "bob@example.com",
		date:      "2025-06-13T11:00:00Z",
		shape:     "text/plain",
		threadKey: "subject:58b3fd3d053d2b8a8043db3f",
		sections: map[string]string{
			"HEADER": "From: bot@example.org\n…Date: Fri, 13 Jun 2025 11:00:00 +0000",
			"TEXT":   "",
			"1":      "",
		},
	},
	{
		file:      "empty.eml",
		shape:     "text/plain",
		threadKey: "message:e3b0c44298fc1c149afbf4c8",
		sections:  map[string]string{"": "", "HEADER": "", "1": "", "2": "!"},
	},
	{
		file:      "junk.bin",
		binary:    true,
		shape:     "text/plain",
		text:      "¥MÊ\x18%0»…",
		preview:   "¥MÊ %0» m ,ÞÖ#{.Ù ?r Ë q D”ÖI<…",
		threadKey: "message:e3b0c44298fc1c149afbf4c8",
		problems:  []string{"message has no header"},
	},
	{
		file:    "html-only.eml",
		subject: "🎉 Summer sale", from: "Newsletter <news@shop.example>", to: "bob@example.com",
		date:      "2025-06-14T06:00:00-07:00",
		shape:     "text/html",
		html:      "<!DOCTYPE html>…<title>Ignore me</title>…&mdash; this&nbsp;week only.</p>…<p>   Lots     of    space   </p></body></html>…", // base64: LF in either form
		preview:   "Summer sale Everything & more at 50% off — this week only. Lots of space",
		threadKey: "<news-2025-06@shop.example>",
	},
	{
		file:    "signed.eml",
		subject: "Signed message", from: "Heidi <heidi@example.org>", to: "bob@example.com",
		date:      "2025-06-15T10:00:00Z",
		shape:     "multipart/signed(text/plain,application/pgp-signature)",
		text:      "Signed text.",
		preview:   "Signed text.",
		threadKey: "<signed-1@example.org>",
		atts:      []Attachment{{Part: "2", Name: "signature.asc", ContentType: "application/pgp-signature", Size: 74}},
		hasAtt:    true,
		sections:  map[string]string{"1": "Signed text."},
	},
	{
		file:    "no-header-parts.eml",
		subject: "Parts without headers", from: "bot@example.org", to: "bob@example.com",
		shape:     "multipart/mixed(text/plain,text/plain,text/plain)",
		text:      "part one has an empty header\npart two: has no blank line\nand goes on",
		preview:   "part one has an empty header part two: has no blank line and goes on",
		threadKey: "subject:2dcd38a9294f5ea875aa59c5",
		sections: map[string]string{
			"1": "part one has an empty header", "1.MIME": "\n",
			"2": "part two: has no blank line\nand goes on", "2.MIME": "",
			"3": "", "3.MIME": "",
		},
	},
	{
		file:    "mbox-from.eml",
		subject: "mbox", from: "alice@example.org", to: "bob@example.com",
		date:      "2025-06-16T10:00:00Z",
		shape:     "text/plain",
		text:      "Body after mbox line.\n",
		preview:   "Body after mbox line.",
		threadKey: "subject:c5ded4d003d5de748a95cbde",
		problems:  []string{"mbox From_ line"},
	},
	{
		file:    "unknown-charset.eml",
		subject: "Unknown charset", from: "bot@example.org", to: "bob@example.com",
		shape:     "text/plain",
		text:      "valid é and invalid \uFFFD bytes\n",
		preview:   "valid é and invalid \uFFFD bytes",
		threadKey: "subject:f12890a444c20cd8c89fb068",
		problems:  []string{`unknown charset "x-no-such-charset"`},
	},
	{
		file:    "references.eml",
		subject: "Re: [dev] Re: AW: Build broken", from: "Ivan <ivan@example.org>", to: "list@example.org",
		date:      "2025-06-17T10:00:00Z",
		shape:     "text/plain",
		text:      "Fixed now.\n",
		preview:   "Fixed now.",
		threadKey: "<root-1@example.org>",
	},
	{
		file:    "encoded-message.eml",
		subject: "Encoded rfc822", from: "bot@example.org", to: "bob@example.com",
		shape:     "multipart/mixed(application/octet-stream,message/global[text/plain])",
		threadKey: "subject:4c8a16b7174e54e6eb5c81d4",
		atts: []Attachment{
			{Part: "1", ContentType: "message/rfc822", Size: 36},
			{Part: "2", Name: "Grüße.eml", ContentType: "message/global", Size: 54},
		},
		hasAtt:   true,
		sections: map[string]string{"2.1": "Hallo", "2.HEADER": "From: Jörg <jörg@example.de>\nSubject: Grüße\n\n", "1.1": "!"},
		problems: []string{"has encoding BASE64: kept opaque"},
	},
	{
		file:    "report.eml",
		subject: "Undelivered Mail Returned to Sender", from: "Mail Delivery System <MAILER-DAEMON>", to: "alice@example.org",
		date:      "2025-06-18T10:00:00Z",
		shape:     "multipart/report(text/plain,message/delivery-status,text/rfc822-headers)",
		text:      "Your message could not be delivered.",
		preview:   "Your message could not be delivered.",
		threadKey: "subject:673832810eb5cd88e7ae16b1",
		atts: []Attachment{
			{Part: "2", ContentType: "message/delivery-status", Size: 107},
			{Part: "3", ContentType: "text/rfc822-headers", Size: 38},
		},
		hasAtt: true,
	},
	{
		file:    "mac-cr.eml",
		binary:  true,
		subject: "bare CR inside", from: "a@example.org",
		shape:     "multipart/mixed(text/plain)",
		text:      "x\ry",
		preview:   "x y",
		threadKey: "subject:e6fd79abf5747ab34e9989ed",
		sections:  map[string]string{"1": "x\ry", "1.MIME": "\r\n"},
	},
	{
		file:    "koi8r-raw-headers.eml",
		subject: "Привет из Москвы", from: "Иван Петров <ivan@example.ru>", to: "Ольга <olga@example.ru>",
		date:      "2025-06-19T12:00:00+03:00",
		shape:     "multipart/alternative(text/plain,text/html)",
		text:      "Добрый день!",
		html:      "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\"></head><body>Добрый день!</body></html>",
		preview:   "Добрый день!",
		threadKey: "<koi8@example.ru>",
	},
	{
		file:    "iso2022jp-raw.eml",
		subject: "会議の件", from: "山田 <yamada@example.jp>", to: "suzuki@example.jp",
		date:      "2025-06-20T09:00:00+09:00",
		shape:     "text/plain",
		text:      "明日は休みです。\n",
		preview:   "明日は休みです。",
		threadKey: "<jis@example.jp>",
	},
	{
		file:    "bom-html-fallback.eml",
		subject: "Whitespace text part", from: "a@example.org", to: "b@example.org",
		shape:     "multipart/alternative(text/plain,text/html)",
		text:      "  \t ", // BOM removed
		html:      "<p>Real content</p>",
		preview:   "Real content",
		threadKey: "<bom@example.org>",
	},
}

// otherEndings converts LF to CRLF or CRLF to LF.
func otherEndings(s string, toCRLF bool) string {
	if toCRLF {
		return strings.ReplaceAll(s, "\n", "\r\n")
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

func TestCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range corpus {
		seen[tc.file] = true
		raw, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(tc.file, func(t *testing.T) { runCorpusCase(t, tc, raw, nil) })
		if tc.binary {
			continue
		}
		toCRLF := !bytes.Contains(raw, []byte("\r\n"))
		conv := func(s string) string { return otherEndings(s, toCRLF) }
		name := tc.file + "/crlf"
		if !toCRLF {
			name = tc.file + "/lf"
		}
		t.Run(name, func(t *testing.T) { runCorpusCase(t, tc, []byte(conv(string(raw))), conv) })
	}
	files, _ := filepath.Glob("testdata/*")
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.IsDir() {
			continue // testdata/fuzz: the fuzzing engine's corpus
		}
		if !seen[filepath.Base(f)] {
			t.Errorf("%s has no expectations in the corpus table", f)
		}
	}
}

func runCorpusCase(t *testing.T, tc corpusCase, raw []byte, conv func(string) string) {
	if conv == nil {
		conv = func(s string) string { return s }
	}
	p := parse(raw)
	checkInvariants(t, raw, p)
	e := p.Envelope
	if e.Subject != tc.subject {
		t.Errorf("Subject = %q, want %q", e.Subject, tc.subject)
	}
	for _, c := range []struct {
		name      string
		got, want string
	}{
		{"From", addrs(e.From), tc.from},
		{"To", addrs(e.To), tc.to},
		{"Cc", addrs(e.Cc), tc.cc},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	gotDate := ""
	if !e.Date.IsZero() {
		gotDate = e.Date.Format(time.RFC3339)
	}
	if gotDate != tc.date {
		t.Errorf("Date = %q, want %q", gotDate, tc.date)
	}
	if s := shape(p.Structure); s != tc.shape {
		t.Errorf("shape = %s\nwant    %s", s, tc.shape)
	}
	if !matchText(p.Text, conv(tc.text)) {
		t.Errorf("Text = %q, want %q", clipTest(p.Text), conv(tc.text))
	}
	if !matchText(p.HTML, conv(tc.html)) {
		t.Errorf("HTML = %q, want %q", clipTest(p.HTML), conv(tc.html))
	}
	if !matchText(p.Preview, tc.preview) {
		t.Errorf("Preview = %q, want %q", p.Preview, tc.preview)
	}
	if p.ThreadKey != tc.threadKey {
		t.Errorf("ThreadKey = %q, want %q", p.ThreadKey, tc.threadKey)
	}
	if p.HasAttachments != tc.hasAtt {
		t.Errorf("HasAttachments = %v", p.HasAttachments)
	}
	if p.CalendarPart != tc.calendar {
		t.Errorf("CalendarPart = %q, want %q", p.CalendarPart, tc.calendar)
	}
	if len(p.Attachments) != len(tc.atts) {
		t.Errorf("Attachments = %+v\nwant %+v", p.Attachments, tc.atts)
	} else {
		for i, a := range p.Attachments {
			want := tc.atts[i]
			part := p.Structure.Find(mustSection(t, a.Part))
			if part != nil && part.Encoding != "BASE64" {
				want.Size = a.Size // identity sizes differ with the line ending; checked below
				if a.Size != part.Size {
					t.Errorf("attachment %s Size = %d, part size %d", a.Part, a.Size, part.Size)
				}
				if conv("\n") == "\n" && a.Size != tc.atts[i].Size {
					t.Errorf("attachment %s Size = %d, want %d", a.Part, a.Size, tc.atts[i].Size)
				}
			}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("attachment %d = %+v\nwant %+v", i, a, want)
			}
		}
	}
	for spec, want := range tc.sections {
		sec, s := sectionSpec(t, spec)
		start, end, ok := p.Structure.SectionRange(sec, s)
		if want == "!" {
			if ok {
				t.Errorf("section %q = %q, want none", spec, raw[start:end])
			}
			continue
		}
		if !ok {
			t.Errorf("section %q not found", spec)
			continue
		}
		if got := string(raw[start:end]); !matchText(got, conv(want)) {
			t.Errorf("section %q = %q\nwant %q", spec, clipTest(got), conv(want))
		}
	}
	if len(p.Problems) != len(tc.problems) {
		t.Errorf("Problems = %q, want %q", p.Problems, tc.problems)
	} else {
		for i, want := range tc.problems {
			if !strings.Contains(p.Problems[i], want) {
				t.Errorf("problem %d = %q, want it to contain %q", i, p.Problems[i], want)
			}
		}
	}
}

func mustSection(t *testing.T, s string) []int {
	t.Helper()
	sec, err := ParseSection(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func clipTest(s string) string {
	if len(s) > 400 {
		return s[:200] + "…" + s[len(s)-200:]
	}
	return s
}
