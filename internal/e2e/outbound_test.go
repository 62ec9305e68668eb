package e2e

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/testutil"
	"github.com/gatehouse/gatehouse/smtp/queue"
)

// relay is a go-smtp server on loopback standing in for the configured smarthost.
type relay struct {
	mu   sync.Mutex
	msgs [][]byte
	rcpt []string
	got  chan struct{}
}

type relaySession struct{ r *relay }

func (s relaySession) Reset()                                 {}
func (s relaySession) Logout() error                          { return nil }
func (s relaySession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s relaySession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.r.mu.Lock()
	s.r.rcpt = append(s.r.rcpt, to)
	s.r.mu.Unlock()
	return nil
}
func (s relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, b)
	s.r.mu.Unlock()
	select {
	case s.r.got <- struct{}{}:
	default:
	}
	return nil
}

// TestSubmissionToRemoteGoesOutSignedThroughTheQueue: a message submitted for a remote
// domain is queued durably by the running server's SMTP front end, delivered by its
// outbound queue (here to the configured smarthost, a go-smtp server on loopback), and
// carries a DKIM signature that go-msgauth verifies against the key `domain dkim` would
// publish.
func TestSubmissionToRemoteGoesOutSignedThroughTheQueue(t *testing.T) {
	r := &relay{got: make(chan struct{}, 1)}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return relaySession{r}, nil }))
	srv.Domain = "relay.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	a := testutil.StartApp(t, func(c *config.Config) { c.Queue.Smarthost = ln.Addr().String() })
	ctx := context.Background()
	if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: "alice@example.org", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	sc, err := gosmtp.Dial(a.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", "alice@example.org", "pw")); err != nil {
		t.Fatal(err)
	}
	body := "From: alice@example.org\r\nTo: carol@far.example\r\nSubject: outbound\r\n\r\nHello from Gatehouse.\r\n"
	if err := sc.SendMail("alice@example.org", []string{"carol@far.example"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.got:
	case <-time.After(20 * time.Second):
		entries, _ := a.Store.QueueList(ctx)
		t.Fatalf("nothing reached the smarthost within 20s; queue: %+v", entries)
	}
	r.mu.Lock()
	msg, rcpt := r.msgs[0], r.rcpt
	r.mu.Unlock()
	if len(rcpt) != 1 || rcpt[0] != "carol@far.example" {
		t.Errorf("relay recipients %v", rcpt)
	}
	if !bytes.Contains(msg, []byte("Hello from Gatehouse.")) {
		t.Errorf("relayed message lost its body:\n%s", msg)
	}

	// Verify the signature with go-msgauth against the published key.
	key, err := queue.EnsureDKIMKey(ctx, a.Store, "example.org")
	if err != nil {
		t.Fatal(err)
	}
	name, value, err := queue.DKIMRecord(key)
	if err != nil {
		t.Fatal(err)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain == name {
				return []string{value}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: domain, IsNotFound: true}
		},
	})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "example.org" {
		t.Fatalf("DKIM verification: %v %+v", err, verifs)
	}
	// Delivered: the queue is empty again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, err := a.Store.QueueList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue still holds %+v after delivery", entries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
