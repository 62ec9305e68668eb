package queue_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/smtp"
	"github.com/gatehouse/gatehouse/smtp/queue"
	"github.com/gatehouse/gatehouse/store"
	"github.com/gatehouse/gatehouse/store/storetest"
)

const password = "correct horse battery staple"

func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ---- a test MX: go-smtp's server on 127.0.0.1, recording what it receives ----

type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

type testMX struct {
	addr string
	port int
	mu   sync.Mutex
	msgs []received
	// reject maps a recipient to the reply it gets at RCPT.
	reject map[string]*gosmtp.SMTPError
	// tempFails: the first n DATA commands get 451.
	tempFails int
}

func startMX(t *testing.T, tlsCfg *tls.Config) *testMX {
	t.Helper()
	mx := &testMX{reject: map[string]*gosmtp.SMTPError{}}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		_, isTLS := c.TLSConnectionState()
		return &mxSession{mx: mx, r: received{tls: isTLS}}, nil
	}))
	s.Domain = "mx.remote.example"
	s.TLSConfig = tlsCfg
	s.AllowInsecureAuth = true
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mx.addr = ln.Addr().String()
	mx.port = ln.Addr().(*net.TCPAddr).Port
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return mx
}

func (mx *testMX) received() []received {
	mx.mu.Lock()
	defer mx.mu.Unlock()
	return append([]received(nil), mx.msgs...)
}

type mxSession struct {
	mx *testMX
	r  received
}

func (s *mxSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mxSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if pass != "relaypass" {
			return errors.New("bad password")
		}
		s.r.user = user
		return nil
	}), nil
}
func (s *mxSession) Reset()        { s.r.from, s.r.to, s.r.data = "", nil, nil }
func (s *mxSession) Logout() error { return nil }
func (s *mxSession) Mail(from string, _ *gosmtp.MailOptions) error {
	s.r.from = from
	return nil
}
func (s *mxSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.mx.mu.Lock()
	defer s.mx.mu.Unlock()
	if e := s.mx.reject[to]; e != nil {
		return e
	}
	s.r.to = append(s.r.to, to)
	return nil
}
func (s *mxSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mx.mu.Lock()
	defer s.mx.mu.Unlock()
	if s.mx.tempFails > 0 {
		s.mx.tempFails--
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	r2 := s.r
	r2.data = b
	s.mx.msgs = append(s.mx.msgs, r2)
	return nil
}

// ---- DNS without network ----

type fakeDNS struct {
	mx map[string][]*net.MX
	ip map[string][]net.IPAddr
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	if v, ok := f.mx[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	if v, ok := f.ip[name]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func loopbackDNS() *fakeDNS {
	lo := []net.IPAddr{{IP: net.ParseIP("127.0.0.1")}}
	return &fakeDNS{
		mx: map[string][]*net.MX{
			"remote.example": {{Host: "mx2.remote.example.", Pref: 20}, {Host: "mx1.remote.example.", Pref: 10}},
			"nomail.example": {{Host: ".", Pref: 0}},
		},
		ip: map[string][]net.IPAddr{"mx1.remote.example": lo, "mx2.remote.example": lo, "implicit.example": lo},
	}
}

// ---- the Gatehouse side ----

type env struct {
	st    *store.Store
	q     *queue.Queue
	sub   string // submission address
	mx    *testMX
	alice int64
}

type tweak func(*queue.Options)

func setup(t *testing.T, mxTLS *tls.Config, tw ...tweak) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := directory.New(st, directory.Options{DefaultDomain: "example.org"})
	a, _, err := d.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: st, mx: startMX(t, mxTLS), alice: a.ID}
	opts := queue.Options{Store: st, Logger: logger(t), Hostname: "mail.example.org", Resolver: loopbackDNS(),
		Port: e.mx.port, RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond, DialTimeout: 5 * time.Second,
		SessionTimeout: 20 * time.Second}
	for _, f := range tw {
		f(&opts)
	}
	e.q = queue.New(opts)
	qctx, cancel := context.WithCancel(ctx)
	qdone := make(chan error, 1)
	go func() { qdone <- e.q.Run(qctx) }()

	srv := smtp.New(smtp.Options{Store: st, Directory: d, Logger: logger(t), Hostname: "mail.example.org",
		Mode: smtp.Submission, Queue: e.q})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.sub = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-qdone
	})
	return e
}

func (e *env) submit(t *testing.T, from string, to []string, body string) {
	t.Helper()
	c, err := gosmtp.Dial(e.sub)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "alice@example.org", password)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(from, to, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) queueLen(t *testing.T) int {
	q, err := e.st.QueueList(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(q)
}

func (e *env) inbox(t *testing.T) []string {
	t.Helper()
	_, raws := storetest.FolderMessages(t, e.st, store.Principal{AccountID: e.alice}, store.RoleInbox)
	return raws
}

const body = "From: Alice <alice@example.org>\r\nTo: x@remote.example\r\nSubject: outbound\r\n\r\nHello remote world.\r\n"

// Submission to a remote domain reaches the (lowest-preference) MX with a DKIM
// signature that verifies against the published record; the queue is then empty.
func TestDeliveryWithDKIM(t *testing.T) {
	e := setup(t, testTLS(t))
	e.submit(t, "alice@example.org", []string{"x@remote.example", "y@remote.example"}, body)
	waitFor(t, "delivery", func() bool { return len(e.mx.received()) == 1 && e.queueLen(t) == 0 })
	got := e.mx.received()[0]
	if got.from != "alice@example.org" || strings.Join(got.to, ",") != "x@remote.example,y@remote.example" {
		t.Errorf("envelope %q -> %q", got.from, got.to)
	}
	if !got.tls {
		t.Error("STARTTLS offered by the MX but not used")
	}
	k, err := e.st.DKIMKeyFor(context.Background(), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	name, value, err := queue.DKIMRecord(k)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(got.data), &dkim.VerifyOptions{LookupTXT: func(d string) ([]string, error) {
		if d == name {
			return []string{value}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: d, IsNotFound: true}
	}})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.org" {
		t.Fatalf("DKIM verification: %v %+v\n%s", err, vs, got.data)
	}
	// Tampering breaks it (so the check above can fail).
	bad := bytes.Replace(got.data, []byte("Hello remote"), []byte("Hello evil"), 1)
	vs, _ = dkim.VerifyWithOptions(bytes.NewReader(bad), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) { return []string{value}, nil }})
	if len(vs) != 1 || vs[0].Err == nil {
		t.Error("tampered message still verifies")
	}
}

// A remote MX refusing a recipient: a DSN lands in the sender's Inbox, the accepted
// recipient is delivered, and nothing stays queued.
func TestPermanentFailureBounces(t *testing.T) {
	e := setup(t, nil)
	e.mx.reject["nobody@remote.example"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	e.submit(t, "alice@example.org", []string{"x@remote.example", "nobody@remote.example"}, body)
	waitFor(t, "bounce", func() bool { return len(e.inbox(t)) == 1 && e.queueLen(t) == 0 })
	dsn := e.inbox(t)[0]
	for _, want := range []string{"Content-Type: multipart/report; report-type=delivery-status", "Content-Type: message/delivery-status",
		"Final-Recipient: rfc822; nobody@remote.example", "Action: failed", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1 no such user",
		"Subject: outbound", "Auto-Submitted: auto-replied", "Return-Path: <>"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
	if strings.Contains(dsn, "Final-Recipient: rfc822; x@remote.example") {
		t.Error("delivered recipient reported as failed")
	}
	// The DSN's MIME structure, read by a parser nobody here wrote (RFC 6522 3).
	ent, err := gomessage.Read(strings.NewReader(dsn))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, _ := ent.Header.ContentType()
	if mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Errorf("Content-Type %s %v", mt, params)
	}
	mr := ent.MultipartReader()
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := p.Header.ContentType()
		types = append(types, ct)
	}
	if strings.Join(types, ",") != "text/plain,message/delivery-status,text/rfc822-headers" {
		t.Errorf("DSN parts %v", types)
	}
	if got := e.mx.received(); len(got) != 1 || strings.Join(got[0].to, ",") != "x@remote.example" {
		t.Errorf("MX received %+v", got)
	}
}

// 4xx: retried with backoff until it succeeds; no bounce.
func TestTemporaryFailureIsRetried(t *testing.T) {
	e := setup(t, nil)
	e.mx.mu.Lock()
	e.mx.tempFails = 2
	e.mx.mu.Unlock()
	e.submit(t, "alice@example.org", []string{"x@remote.example"}, body)
	waitFor(t, "delivery after retries", func() bool { return len(e.mx.received()) == 1 && e.queueLen(t) == 0 })
	if n := len(e.inbox(t)); n != 0 {
		t.Errorf("%d bounces for a delivered message", n)
	}
}

// Still failing after Expire: bounced with a delay status.
func TestExpiryBounces(t *testing.T) {
	e := setup(t, nil, func(o *queue.Options) { o.Expire = time.Nanosecond })
	e.mx.mu.Lock()
	e.mx.tempFails = 1000
	e.mx.mu.Unlock()
	e.submit(t, "alice@example.org", []string{"x@remote.example"}, body)
	waitFor(t, "expiry bounce", func() bool { return len(e.inbox(t)) == 1 && e.queueLen(t) == 0 })
	if dsn := e.inbox(t)[0]; !strings.Contains(dsn, "Status: 4.3.0") && !strings.Contains(dsn, "Status: 4.") {
		t.Errorf("DSN:\n%s", dsn)
	}
}

// A message from the null sender that fails is dropped, never bounced; a null MX
// fails permanently; a domain without MX is delivered to its address record.
func TestNullSenderNullMXImplicitMX(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	raw := []byte("From: MAILER-DAEMON@mail.example.org\r\nSubject: a bounce\r\n\r\nx\r\n")
	if _, _, err := e.st.Accept(ctx, raw, nil, &store.Outbound{From: "", Recipients: []string{"a@nomail.example", "b@implicit.example"}}); err != nil {
		t.Fatal(err)
	}
	e.q.Kick()
	waitFor(t, "queue drained", func() bool { return e.queueLen(t) == 0 })
	got := e.mx.received()
	if len(got) != 1 || got[0].from != "" || strings.Join(got[0].to, ",") != "b@implicit.example" {
		t.Errorf("MX received %+v", got)
	}
	if n := len(e.inbox(t)); n != 0 {
		t.Errorf("bounce to a bounce: %d messages", n)
	}
}

// A smarthost with AUTH receives everything, whatever the domain, over STARTTLS.
func TestSmarthostAuth(t *testing.T) {
	mx := startMX(t, testTLS(t))
	e := setup(t, nil, func(o *queue.Options) {
		o.Resolver = &fakeDNS{}
		o.Smarthost = mx.addr
		o.SmarthostUser, o.SmarthostPassword = "gatehouse", "relaypass"
	})
	e.submit(t, "alice@example.org", []string{"x@remote.example", "z@elsewhere.example"}, body)
	waitFor(t, "smarthost delivery", func() bool { return len(mx.received()) == 1 && e.queueLen(t) == 0 })
	got := mx.received()[0]
	if got.user != "gatehouse" || len(got.to) != 2 || !got.tls {
		t.Errorf("smarthost got %+v", got)
	}
}

// queue list, flush and delete as the CLI will use them.
func TestFlushAndDelete(t *testing.T) {
	e := setup(t, nil, func(o *queue.Options) { o.RetryBase, o.RetryMax = time.Hour, time.Hour })
	e.mx.mu.Lock()
	e.mx.tempFails = 1
	e.mx.mu.Unlock()
	e.submit(t, "alice@example.org", []string{"x@remote.example"}, body)
	ctx := context.Background()
	waitFor(t, "first attempt", func() bool {
		l, _ := e.st.QueueList(ctx)
		return len(l) == 1 && l[0].Attempts == 1
	})
	if _, err := e.q.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after flush", func() bool { return len(e.mx.received()) == 1 && e.queueLen(t) == 0 })

	e.mx.mu.Lock()
	e.mx.tempFails = 1
	e.mx.mu.Unlock()
	e.submit(t, "alice@example.org", []string{"x@remote.example"}, body)
	var l []store.QueueEntry
	waitFor(t, "deferred", func() bool {
		l, _ = e.st.QueueList(ctx)
		return len(l) == 1 && l[0].Attempts == 1
	})
	if err := e.st.QueueDelete(ctx, l[0].MsgID); err != nil {
		t.Fatal(err)
	}
	if n := e.queueLen(t); n != 0 {
		t.Fatalf("%d left after delete", n)
	}
	if err := e.st.QueueDelete(ctx, l[0].MsgID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.remote.example"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// A remote sender's failed message: the DSN is queued with the null sender and
// delivered to the sender's MX.
func TestBounceToRemoteSender(t *testing.T) {
	e := setup(t, nil)
	e.mx.reject["nobody@remote.example"] = &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	raw := []byte("From: someone@remote.example\r\nSubject: forwarded\r\n\r\nx\r\n")
	if _, _, err := e.st.Accept(context.Background(), raw, nil, &store.Outbound{From: "someone@remote.example", Recipients: []string{"nobody@remote.example"}}); err != nil {
		t.Fatal(err)
	}
	e.q.Kick()
	waitFor(t, "remote DSN", func() bool { return len(e.mx.received()) == 1 && e.queueLen(t) == 0 })
	got := e.mx.received()[0]
	if got.from != "" || strings.Join(got.to, ",") != "someone@remote.example" ||
		!strings.Contains(string(got.data), "Final-Recipient: rfc822; nobody@remote.example") {
		t.Errorf("DSN envelope %q -> %q:\n%s", got.from, got.to, got.data)
	}
}
