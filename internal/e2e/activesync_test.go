package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/internal/app"
	"github.com/gatehouse/gatehouse/internal/testutil"
)

var phoneHTML = "From: Bob <bob@example.org>\r\nTo: alice@example.org\r\nSubject: pushed to the phone\r\n" +
	"Message-ID: <push-1@example.org>\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>" + strings.Repeat("A long HTML body. ", 40) + "</p></body></html>\r\n"

// phoneServer starts Gatehouse with two users and the heartbeat bounds a test can wait for.
func phoneServer(t *testing.T) *app.App {
	a := testutil.StartApp(t)
	ctx := context.Background()
	for _, u := range []string{"alice@example.org", "bob@example.org"} {
		if _, _, err := a.Dir.CreateUser(ctx, directory.NewUser{Email: u, Password: "pw-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// TestIOSPhoneFlow replays iOS Mail at 16.1 (../shared/eas-clients.md): Autodiscover,
// OPTIONS, Settings before provisioning, Provision with DeviceInformation, FolderSync,
// Sync, a parked Ping woken by mail submitted over SMTP, the message synced with its
// HTML body truncated as asked, Read=1 seen as \Seen over IMAP, and a SmartReply that
// lands in Sent (seen over IMAP) and in the sender's Inbox.
func TestIOSPhoneFlow(t *testing.T) {
	a := phoneServer(t)
	base := "https://" + a.Addr("https")
	ph := newPhone(t, base, "alice@example.org", "pw-alice@example.org", "ApplF17XYZ", "iPhone", "Apple-iPhone15C2/2101.42", "16.1")

	// Autodiscover in the mobilesync schema.
	req, _ := http.NewRequest(http.MethodPost, base+"/autodiscover/autodiscover.xml", strings.NewReader(
		`<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">`+
			`<Request><EMailAddress>alice@example.org</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`))
	req.SetBasicAuth("alice@example.org", "pw-alice@example.org")
	req.Header.Set("Content-Type", "text/xml")
	resp, err := ph.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Autodiscover: %v %v", resp, err)
	}
	resp.Body.Close()

	// OPTIONS with X-MS-PolicyKey: 0.
	ph.policyKey = "0"
	if r := ph.send("", ""); r.status != 200 || !strings.Contains(r.header.Get("MS-ASProtocolVersions"), "16.1") {
		t.Fatalf("OPTIONS: %d %v", r.status, r.header)
	}
	// Settings: UserInformation Get and DeviceInformation Set, before any Provision.
	b := ph.must("Settings", `<Settings xmlns="Settings"><UserInformation><Get/></UserInformation><DeviceInformation><Set>`+
		`<Model>iPhone15C2</Model><OS>iOS 17.1 21B74</OS><OSLanguage>en</OSLanguage><FriendlyName>Alice's iPhone</FriendlyName>`+
		`<UserAgent>Apple-iPhone15C2/2101.42</UserAgent></Set></DeviceInformation></Settings>`, "1")
	if !strings.Contains(b.XML(), "alice@example.org") {
		t.Fatalf("Settings UserInformation lacks the address:\n%s", b.XML())
	}
	// Not provisioned yet: FolderSync is answered Status 142.
	ph.must("FolderSync", `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`, "142")
	ph.provision(`<settings:DeviceInformation><settings:Set><settings:Model>iPhone15C2</settings:Model></settings:Set></settings:DeviceInformation>`)
	folders := ph.folders()
	inbox, sent := folders["2"], folders["5"]
	if inbox == "" || sent == "" {
		t.Fatalf("FolderSync folders by type: %v", folders)
	}
	key := ph.primeSync(inbox)
	b = ph.must("Sync", `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+inbox+
		`</CollectionId><GetChanges/><WindowSize>25</WindowSize></Collection></Collections></Sync>`, "")
	key = b.Path("Collections", "Collection").ChildText("SyncKey")

	// Park a Ping on the Inbox, then send mail to alice over SMTP submission.
	pinged := make(chan phoneReply, 1)
	go func() {
		pinged <- ph.send("Ping", `<Ping xmlns="Ping"><HeartbeatInterval>300</HeartbeatInterval><Folders><Folder><Id>`+inbox+
			`</Id><Class>Email</Class></Folder></Folders></Ping>`)
	}()
	time.Sleep(300 * time.Millisecond)
	sc, err := gosmtp.Dial(a.Addr("submission"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Auth(sasl.NewPlainClient("", "bob@example.org", "pw-bob@example.org")); err != nil {
		t.Fatal(err)
	}
	sentAt := time.Now()
	if err := sc.SendMail("bob@example.org", []string{"alice@example.org"}, strings.NewReader(phoneHTML)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-pinged:
		if r.body.ChildText("Status") != "2" || r.body.Path("Folders").ChildText("Folder") != inbox {
			t.Fatalf("Ping: %s", r.body.XML())
		}
		t.Logf("push: Ping answered %v after SMTP accepted the message", time.Since(sentAt).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("parked Ping not woken by the delivery")
	}

	// Sync brings it, HTML truncated to 200 bytes as asked.
	b = ph.must("Sync", `<Sync xmlns="AirSync" xmlns:airsyncbase="AirSyncBase"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+inbox+
		`</CollectionId><GetChanges/><WindowSize>25</WindowSize><Options><airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type>`+
		`<airsyncbase:TruncationSize>200</airsyncbase:TruncationSize></airsyncbase:BodyPreference></Options></Collection></Collections></Sync>`, "")
	col := b.Path("Collections", "Collection")
	key = col.ChildText("SyncKey")
	adds := col.Path("Commands").All("Add")
	if len(adds) != 1 {
		t.Fatalf("Sync after push: %s", b.XML())
	}
	sid := adds[0].ChildText("ServerId")
	body := adds[0].Path("ApplicationData", "Body")
	if body.ChildText("Type") != "2" || body.ChildText("Truncated") != "1" || len(body.ChildText("Data")) > 200 ||
		!strings.Contains(body.ChildText("Data"), "A long HTML body") {
		t.Fatalf("HTML body not truncated as asked: %s", body.XML())
	}
	if got := adds[0].Path("ApplicationData", "Subject"); got == nil || got.Text != "pushed to the phone" {
		t.Fatalf("Subject: %v", got)
	}

	// Marking it read on the phone is \Seen over IMAP.
	b = ph.must("Sync", `<Sync xmlns="AirSync" xmlns:email="Email"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+inbox+
		`</CollectionId><Commands><Change><ServerId>`+sid+`</ServerId><ApplicationData><email:Read>1</email:Read></ApplicationData></Change>`+
		`</Commands></Collection></Collections></Sync>`, "")
	if s := b.Path("Collections", "Collection").ChildText("Status"); s != "1" {
		t.Fatalf("Sync Change: %s", b.XML())
	}
	ic := imapLogin(t, a, "alice@example.org")
	if _, err := ic.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := ic.Fetch(goimap.SeqSetNum(1), &goimap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 || !hasFlag(msgs[0].Flags, goimap.FlagSeen) {
		t.Fatalf("IMAP flags after Read=1 on the phone: %v %v", msgs, err)
	}

	// SmartReply: the reply reaches bob and a copy is in alice's Sent, seen over IMAP.
	reply := "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Re: pushed to the phone\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nThanks Bob, from my phone.\r\n"
	r := ph.send("SmartReply", `<SmartReply xmlns="ComposeMail"><ClientId>reply-1</ClientId><Source><FolderId>`+inbox+`</FolderId><ItemId>`+sid+
		`</ItemId></Source><SaveInSentItems/><Mime opaque="base64">`+base64.StdEncoding.EncodeToString([]byte(reply))+`</Mime></SmartReply>`)
	if r.status != 200 || len(r.raw) != 0 {
		t.Fatalf("SmartReply: %d %v", r.status, r.body)
	}
	sel, err := ic.Select("Sent", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("IMAP Sent after SmartReply: %v %v", sel, err)
	}
	got := fetchBody(t, ic, 1)
	if !strings.Contains(got, "Thanks Bob, from my phone.") || !strings.Contains(got, "In-Reply-To: <push-1@example.org>") {
		t.Errorf("reply in Sent:\n%s", got)
	}
	ib := imapLogin(t, a, "bob@example.org")
	if sel, err := ib.Select("INBOX", nil).Wait(); err != nil || sel.NumMessages != 1 {
		t.Fatalf("bob's Inbox after the reply: %v %v", sel, err)
	}
}

// TestAndroidPhoneFlow replays the Android Exchange client at 14.1: Autodiscover with no
// body, OPTIONS, FolderSync answered 142, Provision, FolderSync, Sync, Ping without a
// policy key woken by a delivery.
func TestAndroidPhoneFlow(t *testing.T) {
	a := phoneServer(t)
	base := "https://" + a.Addr("https")
	ph := newPhone(t, base, "alice@example.org", "pw-alice@example.org", "androidc1234567890", "SAMSUNGSMG991B", "Android-SAMSUNG-SM-G991B/101.10-EAS-2.0", "14.1")
	req, _ := http.NewRequest(http.MethodPost, base+"/autodiscover/autodiscover.xml", nil)
	req.SetBasicAuth("alice@example.org", "pw-alice@example.org")
	resp, err := ph.client.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("Autodiscover without a body: %v %v", resp, err)
	}
	resp.Body.Close()
	if r := ph.send("", ""); r.status != 200 {
		t.Fatalf("OPTIONS: %d", r.status)
	}
	ph.must("FolderSync", `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`, "142")
	ph.provision("")
	inbox := ph.folders()["2"]
	key := ph.primeSync(inbox)
	ph.must("Sync", `<Sync xmlns="AirSync"><Collections><Collection><SyncKey>`+key+`</SyncKey><CollectionId>`+inbox+
		`</CollectionId><GetChanges/></Collection></Collections></Sync>`, "")
	// The Android client's Ping carries no X-MS-PolicyKey.
	ph.policyKey = ""
	pinged := make(chan phoneReply, 1)
	go func() {
		pinged <- ph.send("Ping", `<Ping xmlns="Ping"><HeartbeatInterval>480</HeartbeatInterval><Folders><Folder><Id>`+inbox+
			`</Id><Class>Email</Class></Folder></Folders></Ping>`)
	}()
	time.Sleep(300 * time.Millisecond)
	sc, err := gosmtp.Dial(a.Addr("smtp"))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.SendMail("someone@example.net", []string{"alice@example.org"}, strings.NewReader(phoneHTML)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-pinged:
		if r.body.ChildText("Status") != "2" {
			t.Fatalf("Ping: %s", r.body.XML())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parked Ping not woken by mail received over SMTP")
	}
}

func imapLogin(t *testing.T, a *app.App, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(a.Addr("imaps"), &imapclient.Options{TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(user, "pw-"+user).Wait(); err != nil {
		t.Fatal(err)
	}
	return c
}

func hasFlag(flags []goimap.Flag, f goimap.Flag) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}

func fetchBody(t *testing.T, c *imapclient.Client, seq uint32) string {
	t.Helper()
	msgs, err := c.Fetch(goimap.SeqSetNum(seq), &goimap.FetchOptions{BodySection: []*goimap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch %d: %v", seq, err)
	}
	for _, b := range msgs[0].BodySection {
		return string(b.Bytes)
	}
	return ""
}
