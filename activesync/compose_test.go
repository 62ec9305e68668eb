package activesync

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/message"
)

func TestParseComposeRequest(t *testing.T) {
	mime := "From: a@example.org\r\n\r\nx"
	cases := []struct {
		cmd, xml string
		ok       bool
		check    func(composeRequest) bool
	}{
		{"SendMail", `<SendMail xmlns="ComposeMail"><ClientId>1</ClientId><SaveInSentItems/><Mime>` + mime + `</Mime></SendMail>`, true,
			func(c composeRequest) bool {
				return c.SaveInSent && c.ClientID == "1" && string(c.Mime) == strings.ReplaceAll(mime, "\r", "")
			}},
		{"SendMail", `<SendMail xmlns="ComposeMail"><ClientId>1</ClientId><Mime opaque="base64">` + b64(mime) + `</Mime></SendMail>`, true,
			func(c composeRequest) bool { return !c.SaveInSent && string(c.Mime) == mime }},
		{"SendMail", `<SendMail xmlns="ComposeMail"><ClientId>1</ClientId></SendMail>`, false, nil},
		{"SendMail", `<SmartReply xmlns="ComposeMail"><ClientId>1</ClientId><Mime>x</Mime></SmartReply>`, false, nil},
		{"SendMail", `<SendMail xmlns="ComposeMail"><ClientId>` + strings.Repeat("9", 41) + `</ClientId><Mime>x</Mime></SendMail>`, false, nil},
		{"SmartReply", `<SmartReply xmlns="ComposeMail"><ClientId>1</ClientId><Source><FolderId>5</FolderId><ItemId>5:7</ItemId><InstanceId>x</InstanceId></Source><ReplaceMime/><Mime>x</Mime></SmartReply>`, true,
			func(c composeRequest) bool {
				return c.ReplaceMime && c.Source == composeSource{FolderID: "5", ItemID: "5:7", InstanceID: "x"}
			}},
		{"SmartForward", `<SmartForward xmlns="ComposeMail"><ClientId>1</ClientId><Source><LongId>5:7</LongId></Source><Mime>x</Mime></SmartForward>`, true,
			func(c composeRequest) bool { return c.Source.LongID == "5:7" }},
		// [MS-ASCMD] 2.2.3.173: LongId excludes FolderId and ItemId; Source is required.
		{"SmartForward", `<SmartForward xmlns="ComposeMail"><ClientId>1</ClientId><Source><LongId>5:7</LongId><ItemId>5:7</ItemId></Source><Mime>x</Mime></SmartForward>`, false, nil},
		{"SmartForward", `<SmartForward xmlns="ComposeMail"><ClientId>1</ClientId><Mime>x</Mime></SmartForward>`, false, nil},
		{"SmartReply", `<SmartReply xmlns="ComposeMail"><ClientId>1</ClientId><Source><FolderId>5</FolderId></Source><Mime>x</Mime></SmartReply>`, false, nil},
	}
	for i, c := range cases {
		n, err := wbxml.ParseXML([]byte(c.xml))
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseComposeRequest(c.cmd, n, nil, query{})
		if (err == nil) != c.ok {
			t.Errorf("case %d: err %v, want ok %v", i, err, c.ok)
			continue
		}
		if c.ok && !c.check(got) {
			t.Errorf("case %d: parsed %+v", i, got)
		}
	}
	// 12.1: the raw body and the query.
	got, err := parseComposeRequest("SmartReply", nil, []byte(mime), query{SaveInSent: true, ItemID: "5:7", CollectionID: "5"})
	if err != nil || !got.SaveInSent || got.Source.ItemID != "5:7" || string(got.Mime) != mime {
		t.Errorf("raw form: %+v %v", got, err)
	}
	if _, err := parseComposeRequest("SendMail", nil, nil, query{}); err == nil {
		t.Error("an empty body was accepted")
	}
}

const mergeOriginalHTML = "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: Styled\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/related; boundary=r\r\n\r\n--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
	"<html><head><style>p{color:red}</style></head><body><p>Look &amp; see</p><img src=\"cid:logo@x\"></body></html>\r\n" +
	"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--r--\r\n"

func TestMergeOriginalTextReplyToHTMLOriginal(t *testing.T) {
	newMsg := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: Styled\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6n\r\n"
	out := mergeOriginal(composeReply, []byte(newMsg), []byte(mergeOriginalHTML))
	p := message.Parse(out)
	if p.Structure.Type != "text" || p.Structure.Subtype != "plain" {
		t.Fatalf("a plain reply became %s/%s", p.Structure.Type, p.Structure.Subtype)
	}
	for _, want := range []string{"Schön", "> Look & see", "Subject: Styled"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("reply text lacks %q:\n%s", want, p.Text)
		}
	}
	if strings.Contains(p.Text, "color:red") || strings.Contains(p.Text, "<p>") {
		t.Errorf("HTML leaked into the text:\n%s", p.Text)
	}
	if len(p.Attachments) != 0 {
		t.Errorf("a reply carries the original's attachments: %+v", p.Attachments)
	}
	if strings.Contains(string(out), "iso-8859-1") {
		t.Error("the new message's MIME fields were kept")
	}
}

func TestMergeOriginalHTMLForwardKeepsInlineImages(t *testing.T) {
	newMsg := "From: alice@example.org\r\nTo: carol@example.org\r\nSubject: Fw: Styled\r\nContent-Type: text/html\r\n\r\n<div>see below</div>\r\n"
	out := mergeOriginal(composeForward, []byte(newMsg), []byte(mergeOriginalHTML))
	p := message.Parse(out)
	if len(p.Problems) != 0 {
		t.Errorf("merged message has problems %v:\n%s", p.Problems, out)
	}
	if !strings.Contains(p.HTML, "see below") || !strings.Contains(p.HTML, "Look &amp; see") || strings.Contains(p.HTML, "<blockquote") {
		t.Errorf("forward HTML:\n%s", p.HTML)
	}
	if len(p.Attachments) != 1 || p.Attachments[0].ContentID != "logo@x" {
		t.Fatalf("attachments %+v:\n%s", p.Attachments, out)
	}
	if p.Text != "" {
		t.Errorf("an HTML-only forward got a text part: %q", p.Text)
	}
}

func TestCompleteHeader(t *testing.T) {
	from := mail.Address{Name: "Zoë", Address: "zoe@example.org"}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	orig := message.Parse([]byte("Message-ID: <b@x>\r\nReferences: <a@x>\r\n\r\n"))
	out := string(completeHeader([]byte("To: bob@example.org\r\n\r\nhi\r\n"), from, "mail.example.org", now, orig))
	for _, want := range []string{"From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\n", "Date: Sun, 01 Mar 2026 12:00:00 +0000\r\n", "@mail.example.org>\r\n",
		"In-Reply-To: <b@x>\r\n", "References: <a@x> <b@x>\r\n", "To: bob@example.org\r\n\r\nhi\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %q:\n%s", want, out)
		}
	}
	kept := "From: a@example.org\r\nDate: x\r\nMessage-ID: <m@x>\r\nIn-Reply-To: <q@x>\r\nReferences: <q@x>\r\n\r\n"
	if got := string(completeHeader([]byte(kept), from, "h", now, orig)); got != kept {
		t.Errorf("changed a complete header:\n%s", got)
	}
}

func TestQuotedHTMLAsText(t *testing.T) {
	cases := map[string]string{
		"<p>a</p><p>b</p>": "a\n\nb",
		"x<br>y&lt;z":      "x\ny<z",
		"<style>.a{}</style><script>alert(1)</script>ok": "ok",
		"unterminated <b": "unterminated",
		"<h1>T</h1>body":  "T\nbody",
	}
	for in, want := range cases {
		if got := quotedHTMLAsText(in); got != want {
			t.Errorf("quotedHTMLAsText(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseComposeRequest runs the request parser over arbitrary WBXML: it must not
// panic, and what it accepts has a message.
func FuzzParseComposeRequest(f *testing.F) {
	for _, x := range []string{
		`<SendMail xmlns="ComposeMail"><ClientId>1</ClientId><SaveInSentItems/><Mime>From: a@b.c` + "\n\nx" + `</Mime></SendMail>`,
		`<SmartReply xmlns="ComposeMail"><ClientId>1</ClientId><Source><FolderId>5</FolderId><ItemId>5:7</ItemId></Source><ReplaceMime/><Mime opaque="base64">` + b64("x") + `</Mime></SmartReply>`,
		`<SmartForward xmlns="ComposeMail"><ClientId>1</ClientId><Source><LongId>5:7</LongId><InstanceId>2026-01-01T00:00:00.000Z</InstanceId></Source><Mime>x</Mime></SmartForward>`,
	} {
		b := wbxmlOf(f, x)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := wbxml.Decode(data)
		if err != nil {
			return
		}
		for _, cmd := range []string{"SendMail", "SmartReply", "SmartForward"} {
			cr, err := parseComposeRequest(cmd, n, nil, query{})
			if err == nil && len(cr.Mime) == 0 {
				t.Fatalf("%s accepted without a message", cmd)
			}
			if err == nil && cmd != "SendMail" && cr.Source.ItemID == "" && cr.Source.LongID == "" {
				t.Fatalf("%s accepted without a source", cmd)
			}
		}
	})
}

// FuzzMergeOriginal runs the reply/forward merge and the header completion over
// arbitrary messages: no panic, a MIME message out, and the completed header has From,
// Date and Message-ID.
func FuzzMergeOriginal(f *testing.F) {
	f.Add([]byte("From: a@example.org\r\nSubject: Re\r\n\r\nnew\r\n"), []byte(originalFromBob), false)
	f.Add([]byte("Subject: Fw\r\nContent-Type: text/html\r\n\r\n<p>x</p>"), []byte(forwardOriginal), true)
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nt\r\n--b\r\nContent-Type: text/html\r\n\r\n<b>h</b>\r\n--b--"), []byte(mergeOriginalHTML), true)
	f.Add([]byte("garbage without header"), []byte(""), false)
	f.Fuzz(func(t *testing.T, newRaw, origRaw []byte, forward bool) {
		kind := composeReply
		if forward {
			kind = composeForward
		}
		out := mergeOriginal(kind, newRaw, origRaw)
		if !strings.Contains(string(out), "MIME-Version: 1.0\r\n") {
			t.Fatalf("no MIME-Version:\n%q", out)
		}
		done := completeHeader(out, mail.Address{Address: "a@example.org"}, "h.example.org", time.Unix(0, 0), message.Parse(origRaw))
		fs, _ := splitComposeHeader(done)
		for _, name := range []string{"From", "Date", "Message-ID"} {
			if !hasComposeField(fs, name) {
				t.Fatalf("no %s after completeHeader:\n%q", name, done)
			}
		}
	})
}
