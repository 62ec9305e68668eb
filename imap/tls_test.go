package imap

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mail.example.org"},
		DNSNames:     []string{"mail.example.org"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// STARTTLS on a connection that may not send a password in the clear, and implicit TLS
// (imaps) through a tls.NewListener.
func TestTLS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	if _, _, err := dir.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	srv := New(Options{Store: st, Directory: dir, TLS: cfg})
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(plain)
	go srv.Serve(tls.NewListener(raw, cfg))
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		srv.Close()
	}()
	clientTLS := &tls.Config{InsecureSkipVerify: true}

	// STARTTLS on the strict path: LOGINDISABLED before, login after.
	srvSide, cliSide := net.Pipe()
	go srv.strictLn.push(srvSide)
	c, err := imapclient.NewStartTLS(cliSide, &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if c.Caps().Has(goimap.CapLoginDisabled) {
		t.Error("LOGINDISABLED still advertised after STARTTLS")
	}
	if err := c.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatalf("login after STARTTLS: %v", err)
	}

	// STARTTLS is offered on the plain listener.
	c2, err := imapclient.DialStartTLS(plain.Addr().String(), &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("DialStartTLS: %v", err)
	}
	defer c2.Close()
	if err := c2.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}

	// imaps
	c3, err := imapclient.DialTLS(raw.Addr().String(), &imapclient.Options{TLSConfig: clientTLS})
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	defer c3.Close()
	if c3.Caps().Has(goimap.CapStartTLS) {
		t.Error("STARTTLS offered inside TLS")
	}
	if err := c3.Login("alice@example.org", testPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c3.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	// FETCH answered from the mailbox view (written around the library's writer) goes
	// through TLS on both kinds of connection.
	acct, err := st.AccountByEmail(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: acct.ID}
	for i := range 5 {
		raw := fmt.Sprintf("From: Bob <bob@example.net>\r\nSubject: secret %d\r\n\r\nbody\r\n", i)
		if _, err := st.Deliver(ctx, p, 0, []byte(raw), store.DeliverOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*imapclient.Client{"STARTTLS": c2, "imaps": c3} {
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		for range 2 { // misses, then from the cache
			msgs, err := c.Fetch(goimap.SeqSet{goimap.SeqRange{Start: 1, Stop: 0}}, &goimap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
			if err != nil || len(msgs) != 5 {
				t.Fatalf("%s: FETCH: %d messages, %v", name, len(msgs), err)
			}
			for i, m := range msgs {
				if m.Envelope == nil || m.Envelope.Subject != fmt.Sprintf("secret %d", i) {
					t.Errorf("%s: message %d: %+v", name, i+1, m.Envelope)
				}
			}
		}
	}
}
