package activesync

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
)

func TestTruncateUTF8(t *testing.T) {
	s := "aé€😀b"
	for n := 0; n <= len(s)+1; n++ {
		got := truncateUTF8(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) {
			t.Errorf("truncateUTF8(%q, %d) = %q", s, n, got)
		}
	}
	if got := truncateRunes("héllo", 2); got != "hé" {
		t.Errorf("truncateRunes = %q", got)
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<html><head><title>T</title><style>p{color:red}</style></head><body><p>Hello&nbsp;<b>World</b> &amp; co</p>` +
		`<script>alert(1)</script><div>line<br>two</div><!-- hidden --><table><tr><td>a</td><td>b</td></tr></table></body></html>`
	got := htmlToText(in)
	for _, want := range []string{"Hello\u00a0World & co", "line\r\ntwo", "a\tb"} {
		if !strings.Contains(got, want) {
			t.Errorf("htmlToText lacks %q:\n%q", want, got)
		}
	}
	for _, bad := range []string{"color", "alert", "hidden", "<", "T\r\n"} {
		if strings.Contains(got, bad) {
			t.Errorf("htmlToText kept %q:\n%q", bad, got)
		}
	}
	if h := textToHTML("a < b\r\nc"); !strings.Contains(h, "a &lt; b<br>") || !strings.Contains(h, "c</body>") {
		t.Errorf("textToHTML = %q", h)
	}
}

func TestParseBodyOptions(t *testing.T) {
	n, err := wbxml.ParseXML([]byte(`<Options xmlns="AirSync" xmlns:airsyncbase="AirSyncBase"><MIMESupport>1</MIMESupport><MIMETruncation>3</MIMETruncation>` +
		`<airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>4096</airsyncbase:TruncationSize>` +
		`<airsyncbase:AllOrNone>1</airsyncbase:AllOrNone><airsyncbase:Preview>9999</airsyncbase:Preview></airsyncbase:BodyPreference>` +
		`<airsyncbase:BodyPreference><airsyncbase:Type>9</airsyncbase:Type></airsyncbase:BodyPreference></Options>`))
	if err != nil {
		t.Fatal(err)
	}
	bo := parseBodyOptions(n)
	if bo.MIMESupport != 1 || bo.MIMETruncation != 3 || len(bo.Prefs) != 1 {
		t.Fatalf("parseBodyOptions = %+v", bo)
	}
	if p := bo.Prefs[0]; p.Type != 2 || p.TruncationSize != 4096 || !p.AllOrNone || p.Preview != maxPreview {
		t.Errorf("preference %+v", p)
	}
	if bo := parseBodyOptions(nil); bo.MIMETruncation != -1 || len(bo.Prefs) != 0 {
		t.Errorf("no options: %+v", bo)
	}
}

func TestChooseBodyType(t *testing.T) {
	both := bodyOptions{Prefs: []bodyPreference{{Type: 1}, {Type: 2}}, MIMETruncation: -1}
	for _, tc := range []struct {
		name        string
		bo          bodyOptions
		html, smime bool
		want        int
	}{
		{"native HTML taken", both, true, false, 2},
		{"native text taken", both, false, false, 1},
		{"only HTML asked", bodyOptions{Prefs: []bodyPreference{{Type: 2}}}, false, false, 2},
		{"nothing asked", bodyOptions{MIMETruncation: -1}, true, false, 1},
		{"MIME always", bodyOptions{Prefs: []bodyPreference{{Type: 2}}, MIMESupport: 2, MIMETruncation: -1}, true, false, 4},
		{"MIME for S/MIME, plain message", bodyOptions{Prefs: []bodyPreference{{Type: 2}}, MIMESupport: 1, MIMETruncation: -1}, true, false, 2},
		{"MIME for S/MIME", bodyOptions{Prefs: []bodyPreference{{Type: 2}}, MIMESupport: 1, MIMETruncation: -1}, true, true, 4},
	} {
		if got := chooseBodyType(tc.bo, tc.html, tc.smime); got.Type != tc.want {
			t.Errorf("%s: type %d, want %d", tc.name, got.Type, tc.want)
		}
	}
	p := chooseBodyType(bodyOptions{MIMESupport: 2, MIMETruncation: 0}, false, false)
	if p.limit() != 0 {
		t.Errorf("MIMETruncation 0: limit %d", p.limit())
	}
	p = chooseBodyType(bodyOptions{MIMESupport: 2, MIMETruncation: 1}, false, false)
	if p.limit() != 4096 {
		t.Errorf("MIMETruncation 1: limit %d", p.limit())
	}
}

func TestSelectBodyParts(t *testing.T) {
	raw := "Content-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n" +
		"--a\r\nContent-Type: text/plain\r\n\r\nplain\r\n--a\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--a--\r\n" +
		"--m\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nattached\r\n--m--\r\n"
	p := message.Parse([]byte(raw))
	bp := selectBodyParts(p.Structure)
	if len(bp.text) != 1 || len(bp.html) != 1 {
		t.Fatalf("text %d html %d parts", len(bp.text), len(bp.html))
	}
	if got := bp.text[0].DecodedText([]byte(raw)); got != "plain" {
		t.Errorf("text part %q", got)
	}
	if got := bp.html[0].DecodedText([]byte(raw)); got != "<p>html</p>" {
		t.Errorf("html part %q", got)
	}
}
