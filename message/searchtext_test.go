package message

import (
	"bytes"
	"strings"
	"testing"
)

func TestSearchText(t *testing.T) {
	raw := []byte(strings.ReplaceAll(`Subject: Fwd
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe
--b
Content-Type: message/rfc822

Subject: inner
Content-Type: multipart/alternative; boundary=i

--i
Content-Type: text/plain

plain inner
--i
Content-Type: text/html

<style>p{}</style><p>html <b>in</b>ner</p>
--i--
--b
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--b
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
--b
Content-Type: text/csv; name=a.csv
Content-Disposition: attachment; filename=a.csv

x,y
--b--
`, "\n", "\r\n"))
	p := Parse(raw)
	got := SearchText(bytes.NewReader(raw), p.Structure, 0)
	for _, want := range []string{"Grüße", "plain inner", "html inner", "x,y", "Reporting-MTA: dns"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q missing from %q", want, got)
		}
	}
	for _, not := range []string{"p{}", "<b>", "iVBOR", "Subject"} {
		if strings.Contains(got, not) {
			t.Errorf("%q in %q", not, got)
		}
	}
	// A limit stops before the later parts.
	if cut := SearchText(bytes.NewReader(raw), p.Structure, 3); strings.Contains(cut, "inner") || !strings.HasPrefix(cut, "Grü") {
		t.Errorf("limit 3: %q", cut)
	}
}
