package activesync

import (
	"bytes"
	"context"
	"html"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// addContact puts a vCard into an account's Contacts folder.
func (g *galEnv) addContact(acct store.Account, uid, fn, email string) {
	g.t.Helper()
	ctx := context.Background()
	p := store.Principal{AccountID: acct.ID}
	f, err := g.st.FolderByRole(ctx, p, store.RoleContacts)
	if err != nil {
		g.t.Fatal(err)
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nEMAIL;TYPE=INTERNET:" + email + "\r\nEND:VCARD\r\n"
	if _, err := g.st.AppendPIM(ctx, p, f.ID, store.PIMItem{Content: card, ICalUID: uid}); err != nil {
		g.t.Fatal(err)
	}
}

// resolve sends one ResolveRecipients request and returns the Responses, failing unless
// the command's status is 1 and the response validates.
func (g *galEnv) resolve(t *testing.T, version, body string) []*wbxml.Node {
	t.Helper()
	r := g.do(call{cmd: "ResolveRecipients", version: version, xml: `<ResolveRecipients xmlns="ResolveRecipients">` + body + `</ResolveRecipients>`})
	validate(t, r.body, "ResolveRecipientsResponse.xsd")
	if r.body.ChildText("Status") != "1" {
		t.Fatalf("status %s:\n%s", r.body.ChildText("Status"), r.body.XML())
	}
	libwbxmlDecodes(t, r.raw, "<Status>1</Status>")
	return r.body.All("Response")
}

// recipients lists a Response's recipients as "type:name:address".
func recipients(resp *wbxml.Node) []string {
	var out []string
	for _, r := range resp.All("Recipient") {
		out = append(out, r.ChildText("Type")+":"+r.ChildText("DisplayName")+":"+r.ChildText("EmailAddress"))
	}
	return out
}

func TestResolveRecipients(t *testing.T) {
	e := newGALEnv(t)
	e.addContact(e.acct, "c1", "Bob Marley", "bob.marley@music.example")
	e.addContact(e.acct, "c2", "Dora Explorer", "dora@outside.example")
	e.addContact(e.acct, "c4", "Dan Brown", "dan@books.example")
	e.addContact(e.acct, "c5", "Dan Browning", "danb@books.example")
	// Bob's own contact is his alone: Alice resolving it finds nothing.
	e.addContact(e.bob, "c3", "Eve Secret", "eve@secret.example")

	for _, tc := range []struct {
		to, status, count string
		want              []string
	}{
		{"bob@example.org", "1", "1", []string{"1:Bob Builder:bob@example.org"}},
		{"BOB@Example.ORG", "1", "1", []string{"1:Bob Builder:bob@example.org"}},
		{"Bobby <bobby.tables@example.org>", "1", "1", []string{"1:Bobby Tables:bobby.tables@example.org"}},
		{"dora@outside.example", "1", "1", []string{"2:Dora Explorer:dora@outside.example"}},
		{"dora", "1", "1", []string{"2:Dora Explorer:dora@outside.example"}},
		{"Carol Danvers", "1", "1", []string{"1:Carol Danvers:carol@example.org"}},
		{"bob", "2", "3", []string{"1:Bob Builder:bob@example.org", "1:Bobby Tables:bobby.tables@example.org", "2:Bob Marley:bob.marley@music.example"}},
		// A name that is a whole display name wins over the names it begins.
		{"Dan Brown", "1", "1", []string{"2:Dan Brown:dan@books.example"}},
		{"dan brow", "2", "2", []string{"2:Dan Brown:dan@books.example", "2:Dan Browning:danb@books.example"}},
		{"zebedee", "4", "0", nil},
		{"nobody@elsewhere.example", "4", "0", nil},
		{"eve", "4", "0", nil},
		{"eve@secret.example", "4", "0", nil},
	} {
		resps := e.resolve(t, "", "<To>"+html.EscapeString(tc.to)+"</To>")
		if len(resps) != 1 {
			t.Fatalf("%q: %d responses", tc.to, len(resps))
		}
		r := resps[0]
		if r.ChildText("To") != tc.to || r.ChildText("Status") != tc.status || r.ChildText("RecipientCount") != tc.count {
			t.Errorf("%q: To %q Status %s RecipientCount %s, want status %s count %s", tc.to, r.ChildText("To"),
				r.ChildText("Status"), r.ChildText("RecipientCount"), tc.status, tc.count)
		}
		if got := recipients(r); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%q: recipients %q, want %q", tc.to, got, tc.want)
		}
	}

	// Several To in one request, answered in order.
	resps := e.resolve(t, "", "<To>carol@example.org</To><To>zebedee</To><To>bob@example.org</To>")
	var statuses []string
	for _, r := range resps {
		statuses = append(statuses, r.ChildText("To")+"="+r.ChildText("Status"))
	}
	if got := strings.Join(statuses, " "); got != "carol@example.org=1 zebedee=4 bob@example.org=1" {
		t.Errorf("several To: %s", got)
	}

	// MaxAmbiguousRecipients cuts the suggestions: a partial list (3) of 3.
	resps = e.resolve(t, "", "<To>bob</To><Options><MaxAmbiguousRecipients>1</MaxAmbiguousRecipients></Options>")
	if r := resps[0]; r.ChildText("Status") != "3" || r.ChildText("RecipientCount") != "3" || len(r.All("Recipient")) != 1 {
		t.Errorf("MaxAmbiguousRecipients 1:\n%s", r.XML())
	}
}

func TestResolveRecipientsOptions(t *testing.T) {
	e := newGALEnv(t)
	opts := `<Options><CertificateRetrieval>2</CertificateRetrieval><MaxCertificates>5</MaxCertificates>` +
		`<Availability><StartTime>2026-11-26T08:00:00.000Z</StartTime><EndTime>2026-11-26T18:00:00.000Z</EndTime></Availability>` +
		`<Picture><MaxSize>100000</MaxSize><MaxPictures>3</MaxPictures></Picture></Options>`
	resps := e.resolve(t, "14.1", "<To>bob@example.org</To><To>bob</To>"+opts)
	bob := resps[0].Child("Recipient")
	// No account has a certificate: Status 7, none sent ([MS-ASCMD] 2.2.3.177.12).
	if c := bob.Child("Certificates"); c.ChildText("Status") != "7" || c.ChildText("CertificateCount") != "0" || c.Has("Certificate") {
		t.Errorf("Certificates:\n%s", bob.XML())
	}
	// An empty calendar: free for the whole window, 20 half hours.
	if a := bob.Child("Availability"); a.ChildText("Status") != "1" || a.ChildText("MergedFreeBusy") != strings.Repeat("0", 20) {
		t.Errorf("Availability:\n%s", bob.XML())
	}
	if p := bob.Child("Picture"); p.ChildText("Status") != "1" || !bytes.Equal(p.Child("Data").Opaque, e.photo) {
		t.Errorf("Picture:\n%s", bob.XML())
	}
	// Suggestions for an ambiguous name carry no certificates nor availability.
	for _, r := range resps[1].All("Recipient") {
		if r.Has("Certificates") || r.Has("Availability") {
			t.Errorf("suggestion with certificates or availability:\n%s", r.XML())
		}
	}
	// Before 14.1 no pictures.
	resps = e.resolve(t, "14.0", "<To>bob@example.org</To>"+opts)
	if resps[0].Child("Recipient").Has("Picture") {
		t.Error("a Picture at 14.0")
	}

	for name, body := range map[string]string{
		"no To":                  `<Options><CertificateRetrieval>1</CertificateRetrieval></Options>`,
		"bad retrieval":          `<To>bob</To><Options><CertificateRetrieval>9</CertificateRetrieval></Options>`,
		"window backwards":       `<To>bob</To><Options><Availability><StartTime>2026-11-26T18:00:00.000Z</StartTime><EndTime>2026-11-26T08:00:00.000Z</EndTime></Availability></Options>`,
		"no end":                 `<To>bob</To><Options><Availability><StartTime>2026-11-26T18:00:00.000Z</StartTime></Availability></Options>`,
		"under 30 minutes":       `<To>bob</To><Options><Availability><StartTime>2026-11-26T08:00:00.000Z</StartTime><EndTime>2026-11-26T08:29:59.000Z</EndTime></Availability></Options>`,
		"over 42 days":           `<To>bob</To><Options><Availability><StartTime>2026-11-01T00:00:00.000Z</StartTime><EndTime>2026-12-13T00:00:01.000Z</EndTime></Availability></Options>`,
		"too many suggestions":   `<To>bob</To><Options><MaxAmbiguousRecipients>10000</MaxAmbiguousRecipients></Options>`,
		"To over 256 characters": `<To>` + strings.Repeat("x", 257) + `</To>`,
	} {
		r := e.do(call{cmd: "ResolveRecipients", xml: `<ResolveRecipients xmlns="ResolveRecipients">` + body + `</ResolveRecipients>`})
		validate(t, r.body, "ResolveRecipientsResponse.xsd")
		if got := r.body.ChildText("Status"); got != "5" || r.body.Has("Response") {
			t.Errorf("%s: status %s, want 5 (protocol error)", name, got)
		}
	}
}

// Without a GAL the handler still answers: nobody resolves.
func TestResolveRecipientsWithoutGAL(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	r := e.do(call{cmd: "ResolveRecipients", xml: `<ResolveRecipients xmlns="ResolveRecipients"><To>alice@example.org</To></ResolveRecipients>`})
	validate(t, r.body, "ResolveRecipientsResponse.xsd")
	if got := r.body.Path("Response", "Status").Text; got != "4" {
		t.Errorf("status %s", got)
	}
}

// A distribution group is one GAL recipient; its availability is its members' merged,
// refused beyond 20 members; a GAL search finds it like a person.
func TestResolveRecipientsGroup(t *testing.T) {
	e := newGALEnv(t)
	ctx := context.Background()
	var members []string
	for i := range 21 {
		members = append(members, "m"+strconv.Itoa(i)+"@elsewhere.example")
	}
	if _, err := e.st.CreateGroup(ctx, store.NewGroup{Email: "team@example.org", DisplayName: "The Team", Members: []string{"bob@example.org"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateGroup(ctx, store.NewGroup{Email: "crowd@example.org", DisplayName: "The Crowd", Members: members}); err != nil {
		t.Fatal(err)
	}
	e.waitGAL(func(s *directory.GALSnapshot) bool {
		_, ok1 := s.ByEmail("team@example.org")
		_, ok2 := s.ByEmail("crowd@example.org")
		return ok1 && ok2
	})
	avail := `<Options><Availability><StartTime>2026-11-26T08:00:00.000Z</StartTime><EndTime>2026-11-26T18:00:00.000Z</EndTime></Availability></Options>`
	resps := e.resolve(t, "", "<To>team@example.org</To><To>The Crowd</To>"+avail)
	if got := recipients(resps[0]); resps[0].ChildText("Status") != "1" || strings.Join(got, ",") != "1:The Team:team@example.org" {
		t.Errorf("team: status %s, %q", resps[0].ChildText("Status"), got)
	}
	if a := resps[0].Path("Recipient", "Availability"); a.ChildText("Status") != "1" || a.ChildText("MergedFreeBusy") != strings.Repeat("0", 20) {
		t.Errorf("small group's availability:\n%s", a.XML())
	}
	if got := resps[1].Path("Recipient", "Availability", "Status").Text; got != "161" {
		t.Errorf("group of 21: availability status %s, want 161", got)
	}
	st := searchStore(t, e.do(call{cmd: "Search", xml: galSearchXML("team", "")}))
	if got := strings.Join(resultNames(st), ","); got != "The Team" {
		t.Errorf("GAL search for a group: %q", got)
	}
}

// addEvent puts an iCalendar event into an account's default calendar, with the
// store's index fields as a calendar front end sets them.
func (g *galEnv) addEvent(acct store.Account, uid string, start, end time.Time, extra string) {
	g.t.Helper()
	ctx := context.Background()
	p := store.Principal{AccountID: acct.ID}
	f, err := g.st.FolderByRole(ctx, p, store.RoleCalendar)
	if err != nil {
		g.t.Fatal(err)
	}
	const layout = "20060102T150405Z"
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Gatehouse test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20261101T000000Z\r\nDTSTART:" + start.UTC().Format(layout) + "\r\nDTEND:" + end.UTC().Format(layout) +
		"\r\nSUMMARY:Private matter\r\n" + extra + "END:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := g.st.AppendPIM(ctx, p, f.ID, store.PIMItem{Content: ics, ICalUID: uid, Start: start, End: end}); err != nil {
		g.t.Fatal(err)
	}
}

// Availability is Bob's calendar, merged per half hour; a group's is its members'; a
// contact has none.
func TestResolveRecipientsAvailability(t *testing.T) {
	e := newGALEnv(t)
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	e.addEvent(e.bob, "busy", day.Add(10*time.Hour), day.Add(11*time.Hour), "")
	e.addEvent(e.bob, "maybe", day.Add(14*time.Hour), day.Add(14*time.Hour+30*time.Minute), "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\r\n")
	e.addEvent(e.bob, "free", day.Add(16*time.Hour), day.Add(17*time.Hour), "TRANSP:TRANSPARENT\r\n")
	e.addEvent(e.bob, "elsewhen", day.Add(-72*time.Hour), day.Add(-71*time.Hour), "")
	e.addEvent(e.carol, "ooo", day.Add(8*time.Hour), day.Add(9*time.Hour), "X-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n")
	e.addContact(e.acct, "c1", "Dora Explorer", "dora@outside.example")
	if _, err := e.st.CreateGroup(context.Background(), store.NewGroup{Email: "pair@example.org", DisplayName: "Pair",
		Members: []string{"bob@example.org", "carol@example.org", "someone@elsewhere.example"}}); err != nil {
		t.Fatal(err)
	}
	e.waitGAL(func(s *directory.GALSnapshot) bool { _, ok := s.ByEmail("pair@example.org"); return ok })

	// 08:00 to 18:00: 20 half hours.
	avail := `<Options><Availability><StartTime>2026-11-26T08:00:00.000Z</StartTime><EndTime>2026-11-26T18:00:00.000Z</EndTime></Availability></Options>`
	resps := e.resolve(t, "14.0", "<To>bob@example.org</To><To>pair@example.org</To><To>dora@outside.example</To>"+avail)
	//                 08  09  10  11  12  13  14  15  16  17
	wantBob := "0000" + "2200" + "0000" + "1000" + "0000"
	wantPair := "3300" + "2200" + "0000" + "1000" + "0000"
	for i, want := range []string{wantBob, wantPair} {
		a := resps[i].Path("Recipient", "Availability")
		if a.ChildText("Status") != "1" || a.ChildText("MergedFreeBusy") != want {
			t.Errorf("%s: status %s MergedFreeBusy %q, want %q", resps[i].ChildText("To"), a.ChildText("Status"), a.ChildText("MergedFreeBusy"), want)
		}
	}
	if a := resps[2].Path("Recipient", "Availability"); a.ChildText("Status") != "163" || a.Has("MergedFreeBusy") {
		t.Errorf("a contact's availability:\n%s", a.XML())
	}
	if strings.Contains(resps[0].XML(), "Private") {
		t.Error("an event's summary leaked")
	}
}
