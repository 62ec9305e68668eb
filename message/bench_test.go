package message

import (
	"encoding/base64"
	"strings"
	"testing"
)

// message4K is a typical 4 KB message: trace fields, an Outlook-like
// header, and a multipart/alternative with quoted-printable text and HTML.
func message4K() []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <alice@example.org>\r\n")
	for i := 0; i < 4; i++ {
		b.WriteString("Received: from mx" + itoa(i) + ".example.org (mx" + itoa(i) + ".example.org [192.0.2." + itoa(i) + "])\r\n\tby mail.example.com with ESMTPS id 4Y1abc2xyz\r\n\tfor <bob@example.com>; Tue, 3 Jun 2025 09:00:0" + itoa(i) + " +0000\r\n")
	}
	b.WriteString("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel;\r\n\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBqdXN0IGZpbGxlciB0ZXh0IGZvciB0aGUgYmVuY2htYXJr\r\n")
	b.WriteString("From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.com>, Carol <carol@example.com>\r\nCc: \"Doe, Dave\" <dave@example.com>\r\n")
	b.WriteString("Subject: =?utf-8?Q?Re:_Quarterly_report_=E2=80=93_numbers?=\r\nDate: Tue, 03 Jun 2025 10:59:59 +0200\r\n")
	b.WriteString("Message-ID: <bench-1@example.org>\r\nIn-Reply-To: <bench-0@example.com>\r\nReferences: <root@example.com> <bench-0@example.com>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"=_alt_0123456789\"\r\n\r\n")
	b.WriteString("--=_alt_0123456789\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	para := "The numbers for the quarter are in. Revenue is up 4 % and costs are flat; caf=C3=A9 budget=\r\n exhausted. Details follow in the attached sheet, see you on Thursday.\r\n\r\n"
	for i := 0; i < 7; i++ {
		b.WriteString(para)
	}
	b.WriteString("--=_alt_0123456789\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><head><style>p{margin:0}</style></head><body>\r\n")
	for b.Len() < 4000 {
		b.WriteString("<p>The numbers for the quarter are in. Revenue is up 4 % and costs are flat.</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--=_alt_0123456789--\r\n")
	return []byte(b.String())
}

// message1M is a short text with a 1 MB base64 attachment.
func message1M() []byte {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("From: alice@example.org\r\nTo: bob@example.com\r\nSubject: big file\r\nDate: Tue, 03 Jun 2025 10:59:59 +0200\r\nMessage-ID: <big@example.org>\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n")
	b.WriteString("--m\r\nContent-Type: application/octet-stream; name=data.bin\r\nContent-Disposition: attachment; filename=data.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--m--\r\n")
	return []byte(b.String())
}

func TestBenchMessages(t *testing.T) {
	m := message4K()
	if len(m) < 4000 || len(m) > 4400 {
		t.Errorf("4K message is %d bytes", len(m))
	}
	p := parse(m)
	checkInvariants(t, m, p)
	if len(p.Problems) != 0 || p.HTML == "" || !strings.Contains(p.Text, "café budget exhausted") {
		t.Errorf("4K message: problems %q, text %q", p.Problems, clipTest(p.Text))
	}
	m = message1M()
	p = parse(m)
	checkInvariants(t, m, p)
	if len(p.Attachments) != 1 || p.Attachments[0].Size != 1<<20 {
		t.Errorf("1M message attachments: %+v", p.Attachments)
	}
}

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		name string
		raw  []byte
	}{
		{"4KB", message4K()},
		{"1MB-attachment", message1M()},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.raw)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(bm.raw)
			}
		})
	}
}
