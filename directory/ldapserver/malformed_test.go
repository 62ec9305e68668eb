package ldapserver

import (
	"bytes"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// berLen encodes a definite length.
func berLen(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for v := n; v > 0; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

func tlv(tag byte, content []byte) []byte {
	return append(append([]byte{tag}, berLen(len(content))...), content...)
}

// searchMessage builds a SearchRequest message around an encoded filter.
func searchMessage(id byte, filter []byte) []byte {
	var op []byte
	op = append(op, tlv(0x04, []byte(base))...)
	op = append(op, 0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00)
	op = append(op, filter...)
	op = append(op, tlv(0x30, nil)...)
	return tlv(0x30, append([]byte{0x02, 0x01, id}, tlv(0x63, op)...))
}

// deepFilter is (!(!(!…(objectClass=*)…))) nested n deep.
func deepFilter(n int) []byte {
	f := tlv(0x87, []byte("objectClass"))
	for range n {
		f = tlv(0xa2, f)
	}
	return f
}

// expectDisconnect reads until the server closes, and wants a Notice of Disconnection
// with protocolError first.
func expectDisconnect(t *testing.T, nc net.Conn, what string) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := ber.ReadPacket(nc)
	if err != nil {
		t.Errorf("%s: no notice: %v", what, err)
		return
	}
	if len(p.Children) < 2 || p.Children[1].Tag != ldap.ApplicationExtendedResponse || len(p.Children[1].Children) < 4 {
		t.Errorf("%s: unexpected answer %v", what, p)
		return
	}
	code, _ := ber.ParseInt64(p.Children[1].Children[0].Data.Bytes())
	if code != ldap.LDAPResultProtocolError || p.Children[1].Children[3].Data.String() != oidNoticeOfDisc {
		t.Errorf("%s: code %d", what, code)
	}
	var buf [1]byte
	if _, err := nc.Read(buf[:]); err == nil {
		t.Errorf("%s: connection still open", what)
	}
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	good := e.bound(t)
	cases := map[string][]byte{
		"garbage":          []byte("\x01\x02\x03 hello\r\n"),
		"absurd length":    {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01},
		"indefinite":       {0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00},
		"inner overrun":    {0x30, 0x06, 0x02, 0x01, 0x01, 0x63, 0x7f, 0x00},
		"deep filter":      searchMessage(2, deepFilter(10000)),
		"unknown op":       tlv(0x30, []byte{0x02, 0x01, 0x01, 0x7f, 0x00}),
		"not a message id": tlv(0x30, []byte{0x04, 0x01, 0x01, 0x42, 0x00}),
	}
	for what, b := range cases {
		nc, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(b)
		expectDisconnect(t, nc, what)
		nc.Close()
	}
	// A filter nested just within the bound is served.
	nc, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(searchMessage(3, deepFilter(20)))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	p, err := ber.ReadPacket(nc)
	if err != nil || p.Children[1].Tag != ldap.ApplicationSearchResultDone {
		t.Errorf("20-deep filter: %v %v", err, p)
	}
	// Meanwhile the other connection keeps working.
	if got := search(t, good, base, "(uid=bob)"); len(got) != 1 {
		t.Errorf("good connection after attacks: %v", dns(got))
	}
}

func TestCheckShapeIsIterative(t *testing.T) {
	t.Parallel()
	// A million nested constructed headers are refused at maxDepth without recursion.
	b := bytes.Repeat([]byte{0x30, 0x80}, 1<<20)
	if err := checkShape(b); err == nil {
		t.Fatal("accepted")
	}
	if _, err := DecodeRequest(searchMessage(1, deepFilter(maxDepth+1))); err == nil {
		t.Fatal("deep filter accepted")
	}
}
