package e2e

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/testutil"
	"github.com/gatehouse/gatehouse/store"
)

// exists collects the EXISTS counts an IDLEing client is told about.
type exists struct {
	mu   sync.Mutex
	seen []uint32
	wake chan struct{}
}

func (e *exists) handler() *imapclient.UnilateralDataHandler {
	return &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages == nil {
				return
			}
			e.mu.Lock()
			e.seen = append(e.seen, *d.NumMessages)
			e.mu.Unlock()
			select {
			case e.wake <- struct{}{}:
			default:
			}
		},
	}
}

// TestSubmissionReachesIdlingIMAPClient: mail submitted over SMTP (go-smtp's client,
// AUTH PLAIN) lands in the recipient's Inbox through the store, and an IMAP client
// IDLEing on that Inbox (go-imap's imapclient) is told EXISTS through the change feed;
// the message it then fetches is the one that was sent.
func TestSubmissionReachesIdlingIMAPClient(t *testing.T) {
	a := testutil.StartApp(t)
	ctx := context.Background()
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: u, Password: "pw-" + u}); err != nil {
			t.Fatal(err)
		}
	}

	ex := &exists{wake: make(chan struct{}, 1)}
	ic, err := imapclient.DialInsecure(a.Addr("imap"), &imapclient.Options{UnilateralDataHandler: ex.handler()})
	if err != nil {
		t.Fatal(err)
	}
	defer ic.Close()
	if err := ic.Login("bob@example.org", "pw-bob@example.org").Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := ic.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages != 0 {
		t.Fatalf("fresh inbox has %d messages", sel.NumMessages)
	}
	idle, err := ic.Idle()
	if err != nil {
		t.Fatal(err)
	}

	sc, err := gosmtp.Dial(a.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", "alice@example.org", "pw-alice@example.org")); err != nil {
		t.Fatal(err)
	}
	body := "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: across the protocols\r\n" +
		"Message-ID: <cross-1@example.org>\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\nHello Bob, over SMTP.\r\n"
	sent := time.Now()
	if err := sc.SendMail("alice@example.org", []string{"bob@example.org"}, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}

	select {
	case <-ex.wake:
		t.Logf("EXISTS %v after %v", ex.seen, time.Since(sent).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("IDLEing client not told about the new message within 5s")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	ex.mu.Lock()
	last := ex.seen[len(ex.seen)-1]
	ex.mu.Unlock()
	if last != 1 {
		t.Fatalf("EXISTS %d, want 1", last)
	}

	msgs, err := ic.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{
		Envelope:    true,
		BodySection: []*goimap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v (%d messages)", err, len(msgs))
	}
	if msgs[0].Envelope == nil || msgs[0].Envelope.Subject != "across the protocols" {
		t.Errorf("envelope %+v", msgs[0].Envelope)
	}
	var raw []byte
	for _, b := range msgs[0].BodySection {
		raw = b.Bytes
	}
	if !strings.HasSuffix(string(raw), body) || !strings.Contains(string(raw), "Received: ") {
		t.Errorf("fetched message does not end with what was sent (plus trace headers):\n%s", raw)
	}

	// And back: \Flagged set over IMAP is what the store (every other front end) sees.
	if err := ic.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	bob, err := a.Store.AccountByEmail(ctx, "bob@example.org")
	if err != nil {
		t.Fatal(err)
	}
	p := store.Principal{AccountID: bob.ID}
	inbox, _ := a.Store.FolderByRole(ctx, p, store.RoleInbox)
	items, err := a.Store.ListItems(ctx, p, inbox.ID, store.UIDRange{First: 1})
	if err != nil || len(items) != 1 {
		t.Fatalf("store inbox: %v, %d items", err, len(items))
	}
	if items[0].Flags&store.FlagFlagged == 0 {
		t.Errorf("flag set over IMAP not in the store: %+v", items[0].Flags)
	}
}

// TestAutodiscoverOnTheRunningServer: a phone's Autodiscover request on the running
// server's HTTPS listener gets the ActiveSync URL for the account it authenticated as.
func TestAutodiscoverOnTheRunningServer(t *testing.T) {
	a := testutil.StartApp(t)
	if _, _, err := a.Dir.CreateUser(context.Background(), directory.NewUser{Email: "bob@example.org", Password: "pw-bob"}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req := `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>bob@example.org</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`
	hr, _ := http.NewRequest("POST", "https://"+a.Addr("https")+"/Autodiscover/Autodiscover.xml", strings.NewReader(req))
	hr.Header.Set("Content-Type", "text/xml")
	hr.SetBasicAuth("bob@example.org", "pw-bob")
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<Url>https://mail.example.org/Microsoft-Server-ActiveSync</Url>") {
		t.Errorf("autodiscover: %d\n%s", resp.StatusCode, body)
	}
	hr.SetBasicAuth("bob@example.org", "wrong")
	hr.Body = io.NopCloser(strings.NewReader(req))
	resp, err = client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
}
