package smtp

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	gosmtp "github.com/emersion/go-smtp"
)

// fakeDNS answers from maps; anything else is NXDOMAIN. No network in tests.
type fakeDNS struct {
	txt map[string][]string
	mx  map[string][]*net.MX
	ip  map[string][]net.IPAddr
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := f.txt[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if v, ok := f.mx[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	if v, ok := f.ip[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, notFound(addr)
}

func signed(t *testing.T, key ed25519.PrivateKey, domain, msg string) string {
	t.Helper()
	var b bytes.Buffer
	if err := dkim.Sign(&b, strings.NewReader(msg), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: key}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Inbound SPF, DKIM and DMARC land in Authentication-Results; forged results claiming
// our name are removed; p=reject is enforced only when configured.
func TestInboundAuthenticationResults(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dns := &fakeDNS{txt: map[string][]string{
		"remote.example":               {"v=spf1 ip4:127.0.0.1 -all"},
		"s1._domainkey.remote.example": {"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)},
		"_dmarc.remote.example":        {"v=DMARC1; p=reject"},
		"evil.example":                 {"v=spf1 -all"},
		"_dmarc.bank.example":          {"v=DMARC1; p=reject"},
	}}
	for _, reject := range []bool{false, true} {
		st, d := newStore(t)
		e := startServer(t, st, d, MX, func(o *Options, _ *Server) {
			o.Resolver, o.CheckAuth, o.RejectDMARC = dns, true, reject
		})
		good := signed(t, key, "remote.example", "From: a@remote.example\r\nTo: bob@example.org\r\nSubject: good\r\n\r\nbody\r\n")
		good = "Authentication-Results: mx.example.org; dmarc=pass header.from=bank.example\r\n" + good
		c, err := gosmtp.Dial(e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Hello("mail.remote.example")
		if err := c.SendMail("a@remote.example", []string{"bob@example.org"}, strings.NewReader(good)); err != nil {
			t.Fatal(err)
		}
		// Spoofed From of a p=reject domain, from a sender whose SPF fails.
		bad := "From: ceo@bank.example\r\nTo: bob@example.org\r\nSubject: bad\r\n\r\npay now\r\n"
		err = c.SendMail("x@evil.example", []string{"bob@example.org"}, strings.NewReader(bad))
		if reject && codeOf(err) != 550 {
			t.Errorf("DMARC reject on: %v, want 550", err)
		}
		if !reject && err != nil {
			t.Errorf("DMARC reject off: %v", err)
		}
		c.Quit()
		got := inbox(t, st, "bob@example.org")
		if len(got) < 1 {
			t.Fatal("nothing delivered")
		}
		ar := unfold(got[0])
		for _, want := range []string{"Authentication-Results: mx.example.org; spf=pass", "dkim=pass", "header.d=remote.example", "dmarc=pass header.from=remote.example"} {
			if !strings.Contains(ar, want) {
				t.Errorf("good message lacks %q:\n%s", want, got[0])
			}
		}
		if strings.Contains(ar, "bank.example") {
			t.Errorf("forged Authentication-Results kept:\n%s", got[0])
		}
		if reject {
			if len(got) != 1 {
				t.Errorf("%d messages, want 1", len(got))
			}
			continue
		}
		if len(got) != 2 {
			t.Fatalf("%d messages, want 2", len(got))
		}
		ar = unfold(got[1])
		for _, want := range []string{"spf=fail", "dkim=none", "dmarc=fail", "header.from=bank.example"} {
			if !strings.Contains(ar, want) {
				t.Errorf("spoofed message lacks %q:\n%s", want, got[1])
			}
		}
	}
}
