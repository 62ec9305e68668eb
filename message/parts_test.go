package message

import (
	"bytes"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in   string
		want []Address
	}{
		{"alice@example.org", []Address{{Mailbox: "alice", Host: "example.org"}}},
		{"Alice <alice@example.org>", []Address{{Name: "Alice", Mailbox: "alice", Host: "example.org"}}},
		{`"Doe, John" <jdoe@x.org>, b@y.org`, []Address{{Name: "Doe, John", Mailbox: "jdoe", Host: "x.org"}, {Mailbox: "b", Host: "y.org"}}},
		// Unquoted comma in a display name, as broken clients write it.
		{`Doe, John <jdoe@x.org>`, []Address{{Name: "Doe, John", Mailbox: "jdoe", Host: "x.org"}}},
		// RFC 5322 3.4 group; IMAP markers around the members.
		{"Team: a@x.org, B <b@x.org>;, c@y.org", []Address{
			{Group: true, Mailbox: "Team"}, {Mailbox: "a", Host: "x.org"}, {Name: "B", Mailbox: "b", Host: "x.org"}, {Group: true},
			{Mailbox: "c", Host: "y.org"},
		}},
		{"undisclosed-recipients:;", []Address{{Group: true, Mailbox: "undisclosed-recipients"}, {Group: true}}},
		{"Unterminated: a@x.org", []Address{{Group: true, Mailbox: "Unterminated"}, {Mailbox: "a", Host: "x.org"}, {Group: true}}},
		// Name in a trailing comment (RFC 5322 3.2.2 legacy form).
		{"jdoe@x.org (John Doe)", []Address{{Name: "John Doe", Mailbox: "jdoe", Host: "x.org"}}},
		{"<jdoe@x.org> (John Doe)", []Address{{Name: "John Doe", Mailbox: "jdoe", Host: "x.org"}}},
		{`"john doe"@x.org`, []Address{{Mailbox: "john doe", Host: "x.org"}}},
		{"John Doe jdoe@x.org", []Address{{Name: "John Doe", Mailbox: "jdoe", Host: "x.org"}}},
		{"MAILER-DAEMON", []Address{{Mailbox: "MAILER-DAEMON"}}},
		{"<@relay.example:user@x.org>", []Address{{Mailbox: "user", Host: "x.org"}}}, // RFC 5322 4.4 obs-route
		{"user@[192.0.2.1]", []Address{{Mailbox: "user", Host: "[192.0.2.1]"}}},
		{"<>", nil},
		{"", nil},
		{",,, ,", nil},
		{"=?utf-8?Q?J=C3=BCrgen?= <j@x.de>", []Address{{Name: "Jürgen", Mailbox: "j", Host: "x.de"}}},
		// Encoded word inside quotes (RFC 2047 5 forbids it, clients write it).
		{`"=?iso-8859-1?Q?Jos=E9?=" <jose@x.es>`, []Address{{Name: "José", Mailbox: "jose", Host: "x.es"}}},
		{"jdoe@x.org <jdoe@x.org>", []Address{{Name: "jdoe@x.org", Mailbox: "jdoe", Host: "x.org"}}},
		{"Bad <unterminated@x.org", []Address{{Name: "Bad", Mailbox: "unterminated", Host: "x.org"}}},
		{"A <a@x.org> junk, b@x.org", []Address{{Name: "A", Mailbox: "a", Host: "x.org"}, {Mailbox: "b", Host: "x.org"}}},
		{"Jürgen <jürgen@bücher.example>", []Address{{Name: "Jürgen", Mailbox: "jürgen", Host: "bücher.example"}}},
		{`"a \"quoted\" name" <q@x.org>`, []Address{{Name: `a "quoted" name`, Mailbox: "q", Host: "x.org"}}},
	}
	for _, tt := range tests {
		got := parseAddressList(tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseAddressList(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
		}
	}
}

func TestAddressString(t *testing.T) {
	tests := []struct {
		a          Address
		addr, full string
	}{
		{Address{Mailbox: "a", Host: "x.org"}, "a@x.org", "a@x.org"},
		{Address{Name: "Alice", Mailbox: "a", Host: "x.org"}, "a@x.org", "Alice <a@x.org>"},
		{Address{Name: "Doe, John", Mailbox: "j", Host: "x.org"}, "j@x.org", `"Doe, John" <j@x.org>`},
		{Address{Name: `say "hi"`, Mailbox: "j", Host: "x.org"}, "j@x.org", `"say \"hi\"" <j@x.org>`},
		{Address{Name: "Jürgen", Mailbox: "jürgen", Host: "bücher.example"}, "jürgen@bücher.example", "Jürgen <jürgen@bücher.example>"},
		{Address{Mailbox: "john doe", Host: "x.org"}, `"john doe"@x.org`, `"john doe"@x.org`},
		{Address{Mailbox: "MAILER-DAEMON"}, "MAILER-DAEMON", "MAILER-DAEMON"},
		{Address{Group: true, Mailbox: "Team"}, "", "Team:"},
		{Address{Group: true}, "", ";"},
	}
	for _, tt := range tests {
		if got := tt.a.Addr(); got != tt.addr {
			t.Errorf("%+v.Addr() = %q, want %q", tt.a, got, tt.addr)
		}
		if got := tt.a.String(); got != tt.full {
			t.Errorf("%+v.String() = %q, want %q", tt.a, got, tt.full)
		}
	}
	list := parseAddressList("Team: a@x.org;, b@y.org")
	if got := Mailboxes(list); len(got) != 2 || got[0].Mailbox != "a" || got[1].Mailbox != "b" {
		t.Errorf("Mailboxes = %+v", got)
	}
	// Formatting and parsing again gives the same address.
	for _, tt := range tests[:7] {
		if got := parseAddressList(tt.a.String()); len(got) != 1 || got[0] != tt.a {
			t.Errorf("round trip of %+v = %+v", tt.a, got)
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Tue, 1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"Tue, 01 Jul 2003 10:52 -0700", "2003-07-01T10:52:00-07:00"},
		{"Tue, 1 Jul 03 10:52:37 GMT", "2003-07-01T10:52:37Z"},      // RFC 5322 4.3 two-digit year
		{"Tue, 1 Jul 99 10:52:37 EST", "1999-07-01T10:52:37-05:00"}, // obsolete zone
		{"Tue, 1 Jul 2003 10:52:37 +0200 (CEST)", "2003-07-01T10:52:37+02:00"},
		{"Tue, 1 Jul 2003 10:52:37 +0200 CEST", "2003-07-01T10:52:37+02:00"},
		{"Tue,  1 Jul 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"Tue, 1 JUL 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"Tue, 1 July 2003 10:52:37 +0200", "2003-07-01T10:52:37+02:00"},
		{"Tue, 1 Jul 2003 10:52:37 GMT+0100", "2003-07-01T10:52:37+01:00"},
		{"Tue, 1 Jul 2003 10:52:37 +01:00", "2003-07-01T10:52:37+01:00"},
		{"Tue, 1 Jul 2003 10:52:37", "2003-07-01T10:52:37Z"},
		{"Tue, 1 Jul 2003 10:52:37 XYZ", "2003-07-01T10:52:37Z"},
		{"Tue, 1 Jul 2003 10:52:37.123 +0000", "2003-07-01T10:52:37Z"},
		{"2003-07-01T10:52:37+02:00", "2003-07-01T10:52:37+02:00"},
		{"Tue Jul  1 10:52:37 2003", "2003-07-01T10:52:37Z"}, // ctime
		{"not a date", ""},
		{"", ""},
		{"Tue, 32 Jul 2003 10:52:37 +0200", ""},
		{"Tue, 1 Jul 2003 25:52:37 +0200", ""},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		s := ""
		if ok {
			s = got.Format(time.RFC3339)
		}
		if s != tt.want {
			t.Errorf("parseDate(%q) = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestDecodeWords(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"=?utf-8?Q?caf=C3=A9?=", "café"},
		{"=?UTF-8?B?Y2Fmw6k=?=", "café"},
		{"=?utf-8?B?Y2Fmw6k?=", "café"}, // missing padding
		{"=?iso-8859-1?q?a_b?=", "a b"},
		// RFC 2047 6.2: space between adjacent encoded words is dropped,
		// other text is kept.
		{"=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab"},
		{"=?utf-8?Q?a?=\r\n =?utf-8?Q?b?=", "ab"},
		{"=?utf-8?Q?a?= x =?utf-8?Q?b?=", "a x b"},
		{"x =?utf-8?Q?a?=", "x a"},
		// A UTF-8 character split across two words.
		{"=?utf-8?B?R3LD?= =?utf-8?B?vMOfZQ==?=", "Grüße"},
		{"=?iso-2022-jp?B?GyRCRnxLXDhsGyhC?=", "日本語"},
		{"=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?= =?ISO-2022-JP?B?GyRCOGwbKEI=?=", "日本語"},
		{"=?koi8-r?B?6dfBzg==?=", "Иван"},
		{"=?windows-1251?Q?=CE=EB=FC=E3=E0?=", "Ольга"},
		{"=?gb2312?B?zfXQocP3?=", "王小明"},
		{"=?big5?B?s6+kaqTl?=", "陳大文"},
		{"=?shift_jis?B?jlKTY5G+mFk=?=", "山田太郎"},
		{"=?euc-kr?Q?=B1=E8=C3=B6=BC=F6?=", "김철수"},
		{"=?iso-8859-2?Q?=A3ukasz?=", "Łukasz"},
		{"=?iso-8859-15?Q?=A4?=", "€"},
		{"=?utf-8*en?Q?hi?=", "hi"}, // RFC 2231 5 language
		// Unknown charset or malformed words stay as written.
		{"=?x-no-such?Q?abc?=", "=?x-no-such?Q?abc?="},
		{"a =?x-no-such?Q?abc?= =?utf-8?Q?b?=", "a =?x-no-such?Q?abc?= b"},
		{"=?utf-8?X?abc?=", "=?utf-8?X?abc?="},
		{"=?utf-8?Q?abc", "=?utf-8?Q?abc"},
		{"=??Q?abc?=", "=??Q?abc?="},
		{"=?utf-8?Q?bad=ZZ?=", "bad=ZZ"},
		{"price =? 5", "price =? 5"},
		{"=?utf-8?B?/w==?=", "\uFFFD"}, // invalid UTF-8 is replaced
	}
	for _, tt := range tests {
		if got := decodeWords(tt.in); got != tt.want {
			t.Errorf("decodeWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		in     string
		value  string
		params map[string]string
	}{
		{"text/plain", "text/plain", nil},
		{`text/plain; charset="utf-8"`, "text/plain", map[string]string{"charset": "utf-8"}},
		{"text/plain; CHARSET=utf-8;", "text/plain", map[string]string{"charset": "utf-8"}},
		{`text/plain (comment); charset=us-ascii (another)`, "text/plain", map[string]string{"charset": "us-ascii"}},
		{`multipart/mixed; boundary="(not a comment)"`, "multipart/mixed", map[string]string{"boundary": "(not a comment)"}},
		{`attachment; filename="a\"b.txt"`, "attachment", map[string]string{"filename": `a"b.txt`}},
		{"attachment; filename=my file.pdf; size=3", "attachment", map[string]string{"filename": "my file.pdf", "size": "3"}},
		{"attachment; filename=a.txt; filename=b.txt", "attachment", map[string]string{"filename": "a.txt"}},
		{"attachment;; junk; =x; filename=a.txt", "attachment", map[string]string{"filename": "a.txt"}},
		{`attachment; filename="unterminated`, "attachment", map[string]string{"filename": "unterminated"}},
		// RFC 2231 3, 4: continuations, charsets, and precedence over the
		// plain parameter.
		{"attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf", "attachment", map[string]string{"filename": "€ rates.pdf"}},
		{"attachment; filename*=iso-8859-1'fr'caf%E9.txt", "attachment", map[string]string{"filename": "café.txt"}},
		{`attachment; filename*1="b.txt"; filename*0="a "`, "attachment", map[string]string{"filename": "a b.txt"}},
		{"attachment; filename*0*=utf-8''%C3; filename*1*=%A9.txt", "attachment", map[string]string{"filename": "é.txt"}},
		{`attachment; filename="plain.txt"; filename*=utf-8''fancy.txt`, "attachment", map[string]string{"filename": "fancy.txt"}},
		{"attachment; filename*=x-unknown''abc%FF", "attachment", map[string]string{"filename": "abcÿ"}},
		// RFC 2047 words in name and filename; never in other parameters.
		{`application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="`, "application/pdf", map[string]string{"name": "résumé.pdf"}},
		{`multipart/mixed; boundary="=?utf-8?Q?x?="`, "multipart/mixed", map[string]string{"boundary": "=?utf-8?Q?x?="}},
	}
	for _, tt := range tests {
		v, params := parseParams(tt.in)
		if v != tt.value || !reflect.DeepEqual(params, tt.params) {
			t.Errorf("parseParams(%q) = %q %v, want %q %v", tt.in, v, params, tt.value, tt.params)
		}
	}
	for _, tt := range []struct {
		in       string
		typ, sub string
		ok       bool
	}{
		{"Text/HTML; charset=x", "text", "html", true},
		{"text", "", "", false},
		{"text/", "", "", false},
		{"/plain", "", "", false},
		{"text/pl ain", "", "", false},
		{"", "", "", false},
	} {
		typ, sub, _, ok := parseContentType(tt.in)
		if typ != tt.typ || sub != tt.sub || ok != tt.ok {
			t.Errorf("parseContentType(%q) = %q %q %v", tt.in, typ, sub, ok)
		}
	}
}

func TestBaseSubject(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", "hello"},
		{"Re: Hello", "hello"},
		{"RE: re: Fwd: Hello", "hello"},
		{"Re[2]: Hello", "hello"},
		{"AW: WG: Hello", "hello"},
		{"SV: Hello", "hello"},
		{"[list] Re: [list] Hello", "hello"},
		{"Hello (fwd)", "hello"},
		{"  Hello    World  ", "hello world"},
		{"回复：你好", "你好"},
		{"Re: [PATCH]", "[patch]"},
		{"Rebase tips", "rebase tips"},
		{"Re:", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := BaseSubject(tt.in); got != tt.want {
			t.Errorf("BaseSubject(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Replies thread together by subject when there are no ids.
	a := parse([]byte("Subject: Budget\n\nx"))
	b := parse([]byte("Subject: RE: budget\n\ny"))
	if a.ThreadKey != b.ThreadKey || !strings.HasPrefix(a.ThreadKey, "subject:") {
		t.Errorf("thread keys %q, %q", a.ThreadKey, b.ThreadKey)
	}
}

func TestMsgIDs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"<a@x>", []string{"<a@x>"}},
		{"<a@x> <b@y>\r\n <c@z>", []string{"<a@x>", "<b@y>", "<c@z>"}},
		{"<a@x> (comment <not@id>) <b@y>", []string{"<a@x>", "<b@y>"}},
		{"Your message of ... <a@x>", []string{"<a@x>"}},
		{"<a @ x>", []string{"<a@x>"}},
		{"a@x b@y", []string{"<a@x>", "<b@y>"}},
		{"no ids here", nil},
		{"<>", nil},
	}
	for _, tt := range tests {
		if got := msgIDs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("msgIDs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// ThreadKey prefers References, then In-Reply-To, then Message-ID.
	for _, tt := range []struct{ hdr, want string }{
		{"Message-ID: <m@x>\nIn-Reply-To: <i@x>\nReferences: <r1@x> <r2@x>\n", "<r1@x>"},
		{"Message-ID: <m@x>\nIn-Reply-To: <i@x>\n", "<i@x>"},
		{"Message-ID: <m@x>\n", "<m@x>"},
		{"Message-ID: m@x\n", "<m@x>"},
	} {
		if got := parse([]byte(tt.hdr + "\nbody")).ThreadKey; got != tt.want {
			t.Errorf("ThreadKey of %q = %q, want %q", tt.hdr, got, tt.want)
		}
	}
}

func TestDecodeTransfer(t *testing.T) {
	tests := []struct{ enc, in, want string }{
		{"QUOTED-PRINTABLE", "caf=C3=A9", "café"},
		{"QUOTED-PRINTABLE", "caf=c3=a9", "café"}, // lower-case hex, tolerated
		{"QUOTED-PRINTABLE", "soft=\r\nbreak", "softbreak"},
		{"QUOTED-PRINTABLE", "soft=  \nbreak", "softbreak"},
		{"QUOTED-PRINTABLE", "trailing   \r\nspace", "trailing\r\nspace"},
		{"QUOTED-PRINTABLE", "inner  space", "inner  space"},
		{"QUOTED-PRINTABLE", "bad =ZZ and =", "bad =ZZ and "},
		{"QUOTED-PRINTABLE", "a = b", "a = b"},
		{"QUOTED-PRINTABLE", "one\r\ntwo=\r\n three=\r\n", "one\r\ntwo three"},
		{"QUOTED-PRINTABLE", "=41=\n=42\n\n", "AB\n\n"},
		{"QUOTED-PRINTABLE", "x=4", "x=4"},
		{"BASE64", "SGVsbG8s\r\nIHdvcmxk\r\n", "Hello, world"},
		{"BASE64", "SGVsbG8", "Hello"},        // missing padding
		{"BASE64", "SGV sbG8=\n!*!", "Hello"}, // junk skipped
		{"BASE64", "SGk=\nSGk=", "HiHi"},      // concatenated blocks
		{"7BIT", "as is=20", "as is=20"},
		{"X-UUENCODE", "as is", "as is"},
	}
	for _, tt := range tests {
		if got := string(decodeTransfer([]byte(tt.in), tt.enc)); got != tt.want {
			t.Errorf("decodeTransfer(%q, %s) = %q, want %q", tt.in, tt.enc, got, tt.want)
		}
	}
}

func TestConvertCharset(t *testing.T) {
	tests := []struct {
		cs, in, want string
		ok           bool
	}{
		{"utf-8", "café", "café", true},
		{"UTF-8", "bad \xff", "bad \uFFFD", true},
		{"us-ascii", "caf\xe9", "café", true}, // mislabelled 8-bit: windows-1252
		{"", "caf\xe9", "café", true},
		{"iso-8859-1", "\x80 caf\xe9", "€ café", true}, // WHATWG: windows-1252
		{"\"ISO-8859-1\"", "caf\xe9", "café", true},
		{"koi8-r", "\xe9\xd7\xc1\xce", "Иван", true},
		{"x-no-such", "abc", "", false},
	}
	for _, tt := range tests {
		got, ok := convertCharset(tt.cs, []byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("convertCharset(%q, %q) = %q %v, want %q %v", tt.cs, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPreview(t *testing.T) {
	long := strings.Repeat("ä", 300)
	tests := []struct {
		html bool
		in   string
		want string
	}{
		{false, "  Hello\r\n\r\n  world\t! ", "Hello world !"},
		{false, long, strings.Repeat("ä", PreviewRunes)},
		{false, strings.Repeat("a ", 200), strings.TrimSpace(strings.Repeat("a ", 128))},
		{true, "<html><head><title>T</title><style>p{}</style></head><body><p>Hi&nbsp;&amp;&lt;b&gt;</p><p>there</p></body></html>", "Hi &<b> there"},
		{true, "<script>alert('<p>x</p>')</script>text", "text"},
		{true, "a<!-- <p>hidden</p> -->b", "ab"},
		{true, "a<br>b<BR/>c<div>d</div>", "a b c d"},
		{true, "<STYLE>x</STYLE>shown", "shown"},
		{true, "unclosed <b", "unclosed"},
		{true, "<p>a</p><!-- unterminated", "a"},
	}
	for _, tt := range tests {
		var got string
		if tt.html {
			got = htmlPreview(tt.in, PreviewRunes)
		} else {
			got = textPreview(tt.in, PreviewRunes)
		}
		if got != tt.want {
			t.Errorf("preview(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSectionNumbers(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"", nil, true},
		{"1", []int{1}, true},
		{"1.2.3", []int{1, 2, 3}, true},
		{"0", nil, false},
		{"1..2", nil, false},
		{"1.x", nil, false},
		{"-1", nil, false},
		{"+1", nil, false},
	} {
		got, err := ParseSection(tt.in)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSection(%q) = %v, %v", tt.in, got, err)
		}
	}
	p := parse([]byte("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n"))
	for _, sec := range [][]int{{0}, {2}, {1, 1}, {-1}} {
		if got := p.Structure.Find(sec); got != nil {
			t.Errorf("Find(%v) = %+v, want nil", sec, got)
		}
	}
	if got := p.Structure.Find(nil); got != p.Structure {
		t.Error("Find(nil) is not the root")
	}
	if _, _, ok := p.Structure.SectionRange([]int{1}, "BOGUS"); ok {
		t.Error("unknown specifier accepted")
	}
	var nilPart *Part
	if nilPart.Find([]int{1}) != nil {
		t.Error("nil Find")
	}
}

func TestFilterHeader(t *testing.T) {
	hdr := []byte("From: a@x\r\nSubject: long\r\n folded\r\nTo: b@y\r\nX-Other: 1\r\n\r\n")
	tests := []struct {
		fields []string
		not    bool
		want   string
	}{
		{[]string{"subject", "TO"}, false, "Subject: long\r\n folded\r\nTo: b@y\r\n\r\n"},
		{[]string{"subject", "to"}, true, "From: a@x\r\nX-Other: 1\r\n\r\n"},
		{[]string{"nothing"}, false, "\r\n"},
	}
	for _, tt := range tests {
		if got := string(FilterHeader(hdr, tt.fields, tt.not)); got != tt.want {
			t.Errorf("FilterHeader(%v, %v) = %q, want %q", tt.fields, tt.not, got, tt.want)
		}
	}
	// LF header without an empty line; the last field has no line break.
	if got := string(FilterHeader([]byte("A: 1\nB: 2"), []string{"b"}, false)); got != "B: 2\r\n\r\n" {
		t.Errorf("FilterHeader LF = %q", got)
	}
	if got := string(FilterHeader([]byte("A: 1\nB: 2\n\n"), []string{"a"}, false)); got != "A: 1\n\n" {
		t.Errorf("FilterHeader LF = %q", got)
	}
}

func TestDecodedBody(t *testing.T) {
	raw := readTestdata(t, "nested.eml")
	p := parse(raw)
	pdf := p.Structure.Find([]int{2})
	if got := string(pdf.DecodedBody(raw)); got != "%PDF-1.4\n%PDF-1.4\n" {
		t.Errorf("DecodedBody = %q", got)
	}
	plain := p.Structure.Find([]int{1, 1})
	if got := plain.DecodedText(raw); got != "Hi Bob,\n\nthe report is attached. Café at 10?" {
		t.Errorf("DecodedText = %q", got)
	}
	if got := pdf.DecodedBody(raw[:10]); got != nil {
		t.Errorf("DecodedBody of short raw = %q, want nil", got)
	}
	raw = readTestdata(t, "outlook.eml")
	p = parse(raw)
	if got := p.Structure.Find([]int{1, 1}).DecodedText(raw); !strings.Contains(got, "100 € – “final”") {
		t.Errorf("windows-1252 DecodedText = %q", got)
	}
}

// TestHugeLine: a 1 MB line in the header and in the body.
func TestHugeLine(t *testing.T) {
	line := bytes.Repeat([]byte("x"), 1<<20)
	var b bytes.Buffer
	b.WriteString("From: a@example.org\r\nX-Huge: ")
	b.Write(line)
	b.WriteString("\r\nSubject: after the huge field\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\n")
	b.Write(line)
	b.WriteString("\r\n--z\r\nContent-Type: application/octet-stream\r\n\r\n")
	b.Write(line)
	b.WriteString("\r\n--z--\r\n")
	raw := b.Bytes()
	p := parse(raw)
	checkInvariants(t, raw, p)
	if p.Envelope.Subject != "after the huge field" {
		t.Errorf("Subject = %q", p.Envelope.Subject)
	}
	if len(p.Text) != 1<<20 || len(p.Preview) != PreviewRunes {
		t.Errorf("Text %d bytes, Preview %d", len(p.Text), len(p.Preview))
	}
	if len(p.Attachments) != 1 || p.Attachments[0].Size != 1<<20 {
		t.Errorf("Attachments = %+v", p.Attachments)
	}
	if len(p.Problems) != 0 {
		t.Errorf("Problems = %q", p.Problems)
	}
}

// TestDeepNesting: nesting beyond MaxDepth becomes an opaque leaf.
func TestDeepNesting(t *testing.T) {
	for _, kind := range []string{"multipart", "message"} {
		var b strings.Builder
		b.WriteString("Subject: deep\n")
		const n = 200
		for i := 0; i < n; i++ {
			if kind == "multipart" {
				b.WriteString("Content-Type: multipart/mixed; boundary=b" + itoa(i) + "\n\n--b" + itoa(i) + "\n")
			} else {
				b.WriteString("Content-Type: message/rfc822\n\nSubject: level " + itoa(i) + "\n")
			}
		}
		b.WriteString("Content-Type: text/plain\n\ncore\n")
		if kind == "multipart" {
			for i := n - 1; i >= 0; i-- {
				b.WriteString("--b" + itoa(i) + "--\n")
			}
		}
		raw := []byte(b.String())
		p := parse(raw)
		checkInvariants(t, raw, p)
		depth := 0
		for part := p.Structure; part != nil; depth++ {
			switch {
			case len(part.Children) > 0:
				part = part.Children[0]
			case part.Message != nil:
				part = part.Message.Structure
			default:
				part = nil
			}
		}
		if depth != MaxDepth {
			t.Errorf("%s: depth %d, want %d", kind, depth, MaxDepth)
		}
		if !strings.Contains(strings.Join(p.Problems, "\n"), "nested deeper than 64") {
			t.Errorf("%s: Problems = %q", kind, p.Problems)
		}
	}
}

// TestManyParts: a multipart with more than MaxParts parts is cut off.
func TestManyParts(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=p\n\n")
	for i := 0; i < MaxParts+100; i++ {
		b.WriteString("--p\n\nx\n")
	}
	b.WriteString("--p--\n")
	raw := []byte(b.String())
	p := parse(raw)
	checkInvariants(t, raw, p)
	if n := len(p.Structure.Children); n != MaxParts {
		t.Errorf("%d children, want %d", n, MaxParts)
	}
	if !strings.Contains(strings.Join(p.Problems, "\n"), "more than 5000 parts") {
		t.Errorf("Problems = %q", p.Problems)
	}
}

func TestParseNeverFails(t *testing.T) {
	for _, raw := range [][]byte{
		nil,
		[]byte("\n"),
		[]byte("\r\n\r\n"),
		[]byte("Subject: x"),
		[]byte(" leading continuation\nSubject: x\n\nbody"),
		[]byte("Content-Type: multipart/mixed; boundary=b\n\n--b"),
		[]byte("Content-Type: multipart/mixed; boundary=b\n\n--b--"),
		[]byte("Content-Type: message/rfc822\n\n"),
		[]byte("Content-Type: multipart/digest; boundary=d\n\n--d\n--d--"),
		[]byte("Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n//5oAGkA"),
		[]byte("Content-Type: ;;;\nContent-Disposition: ;\nContent-Transfer-Encoding:\n\n"),
	} {
		p := Parse(raw)
		checkInvariants(t, raw, p)
	}
	p := Parse([]byte("Content-Type: text/plain; charset=utf-16\nContent-Transfer-Encoding: base64\n\n//5oAGkA"))
	if p.Text != "hi" {
		t.Errorf("UTF-16 text = %q", p.Text)
	}
	// A leading continuation line is not a header.
	p = Parse([]byte(" indented first line\nSubject: x\n\nbody"))
	if p.Envelope.Subject != "" || p.Structure.BodyStart != 0 {
		t.Errorf("leading continuation: subject %q, body at %d", p.Envelope.Subject, p.Structure.BodyStart)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func itoa(i int) string { return strconv.Itoa(i) }
