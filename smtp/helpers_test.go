package smtp

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

// testLogger logs through t.Log (not internal/testutil, which imports internal/app,
// which will import this package).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// env is a store with hosted users and one SMTP server on 127.0.0.1:0.
type env struct {
	st   *store.Store
	dir  *directory.Directory
	srv  *Server
	addr string
	tls  *tls.Config
}

const testPassword = "correct horse battery staple"

// newStore opens a store with two users: alice@example.org (alias al@example.org)
// and bob@example.org, plus the hosted domain example.net without users.
func newStore(t testing.TB) (*store.Store, *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir(), MaxMessageSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if _, _, err := d.CreateUser(ctx, directory.NewUser{Email: u, Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := st.AccountByEmail(ctx, "alice@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddAlias(ctx, a.ID, "al@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddDomain(ctx, "example.net"); err != nil {
		t.Fatal(err)
	}
	return st, d
}

func startServer(t testing.TB, st *store.Store, d *directory.Directory, mode Mode, tweak func(*Options, *Server)) *env {
	t.Helper()
	e := &env{st: st, dir: d, tls: testTLS(t)}
	opts := Options{Store: st, Directory: d, TLS: e.tls, Logger: testLogger(t), Hostname: "mx.example.org",
		MaxMessageSize: 64 << 10, Mode: mode}
	var post func(*Server)
	if tweak != nil {
		post = func(s *Server) { tweak(&s.opts, s) }
		tweak(&opts, nil)
	}
	e.srv = New(opts)
	if post != nil {
		post(e.srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.srv.Shutdown(ctx)
		e.srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return e
}

func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.example.org"},
		DNSNames: []string{"mx.example.org"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// inbox returns the raw messages in an account's Inbox, in uid order.
func inbox(t testing.TB, st *store.Store, email string) []string {
	t.Helper()
	return storetest.InboxMessages(t, st, email)
}

// raw is a hand-driven SMTP connection, for byte-exact commands no client library sends.
type raw struct {
	t  testing.TB
	c  net.Conn
	tp *textproto.Conn
}

func dialRaw(t testing.TB, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := &raw{t: t, c: c, tp: textproto.NewConn(c)}
	t.Cleanup(func() { c.Close() })
	if code, msg := r.read(); code != 220 {
		t.Fatalf("greeting %d %s", code, msg)
	}
	return r
}

// dialEHLO is dialRaw followed by a successful EHLO x.test.
func dialEHLO(t testing.TB, addr string) *raw {
	t.Helper()
	r := dialRaw(t, addr)
	r.expect("EHLO x.test", 250)
	return r
}

func (r *raw) read() (int, string) {
	r.t.Helper()
	code, msg, err := r.tp.ReadResponse(0)
	if err != nil && code == 0 {
		r.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

// cmd sends one line and returns the reply.
func (r *raw) cmd(line string) (int, string) {
	r.t.Helper()
	if err := r.tp.PrintfLine("%s", line); err != nil {
		r.t.Fatal(err)
	}
	return r.read()
}

// expect sends a line and fails the test unless the reply code matches.
func (r *raw) expect(line string, code int) string {
	r.t.Helper()
	got, msg := r.cmd(line)
	if got != code {
		r.t.Fatalf("%q: got %d %s, want %d", line, got, msg, code)
	}
	return msg
}

// data sends a DATA body (CRLF line ends, dot-stuffed by the caller) and returns the reply.
func (r *raw) data(body string) (int, string) {
	r.t.Helper()
	if code, msg := r.cmd("DATA"); code != 354 {
		return code, msg
	}
	w := bufio.NewWriter(r.c)
	w.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		r.t.Fatal(err)
	}
	return r.read()
}

func deadline(sec int) time.Time { return time.Now().Add(time.Duration(sec) * time.Second) }
