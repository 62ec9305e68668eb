package smtp

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseMailbox: whatever the bytes, an accepted address is a plain local@domain
// whose parts contain nothing a relay trick needs, and judging it again gives the same.
func FuzzParseMailbox(f *testing.F) {
	for _, s := range []string{"alice@example.org", "user%other@example.org", "a!b@example.org", "user@other@example.org",
		"user@example.org.", "user@[127.0.0.1]", "ALICE@EXAMPLE.ORG", "\"a@b\"@example.org", "x@localhost",
		"é@exämple.org", "a..b@example.org", ".a@example.org", "a@-x.org", "a@x..org", "a@x.org.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		local, domain, err := parseMailbox(addr)
		if err != nil {
			return
		}
		if strings.ContainsAny(local, "@\"()<>[]\\,;: \t\r\n") || local == "" {
			t.Fatalf("%q: local part %q", addr, local)
		}
		if strings.ContainsAny(domain, "@[]%!\"\\ \t\r\n:") || !strings.Contains(domain, ".") ||
			strings.HasSuffix(domain, ".") || domain != strings.ToLower(domain) {
			t.Fatalf("%q: domain %q", addr, domain)
		}
		l2, d2, err := parseMailbox(local + "@" + domain)
		if err != nil || l2 != local || d2 != domain {
			t.Fatalf("%q: not stable: %q %q %v", addr, l2, d2, err)
		}
	})
}

// FuzzHeader: splitting a header into fields and joining them gives back every byte,
// and the header end is within the message.
func FuzzHeader(f *testing.F) {
	f.Add([]byte("Subject: a\r\n\tb\r\nFrom: x@y.z\r\n\r\nbody"))
	f.Add([]byte(" leading continuation\nno colon here\nA-R: x\n\n"))
	f.Add([]byte("Authentication-Results: mx.example.org; dkim=pass\r\n\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, raw []byte) {
		he := headerEnd(raw)
		if he < 0 || he > len(raw) {
			t.Fatalf("headerEnd %d of %d", he, len(raw))
		}
		var b bytes.Buffer
		fs := fields(raw[:he])
		for _, fl := range fs {
			b.Write(fl.raw)
			if fl.name != "" {
				_ = fl.value()
			}
		}
		if !bytes.Equal(b.Bytes(), raw[:he]) {
			t.Fatalf("fields lost bytes")
		}
		kept, _ := withoutForgedAuthResults(fs, "mx.example.org")
		for _, fl := range kept {
			if strings.EqualFold(fl.name, "Authentication-Results") && authServID(fl.value()) == "mx.example.org" {
				t.Fatal("forged field kept")
			}
		}
	})
}

func TestParseMailbox(t *testing.T) {
	for _, c := range []struct {
		in, local, domain string
	}{
		{"Alice@Example.ORG.", "Alice", "example.org"},
		{"a.b+tag@sub.example.org", "a.b+tag", "sub.example.org"},
		{"user%other@example.org", "user%other", "example.org"},
		{"user@other@example.org", "", ""},
		{"user@[127.0.0.1]", "", ""},
		{"user@localhost", "", ""},
		{"a..b@example.org", "", ""},
		{"user@example.org..", "", ""},
		{"a\"b@example.org", "", ""},
		{strings.Repeat("a", 65) + "@example.org", "", ""},
	} {
		l, d, err := parseMailbox(c.in)
		if (err == nil) != (c.local != "") || l != c.local || d != c.domain {
			t.Errorf("parseMailbox(%q) = %q %q %v", c.in, l, d, err)
		}
	}
}
