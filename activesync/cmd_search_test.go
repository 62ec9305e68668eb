package activesync

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/directory"
	"github.com/gatehouse/gatehouse/store"
)

// galEnv is a testEnv whose handler has a running GAL, with a provisioned device and
// four people in the address book: Alice Liddell (the test account), Bob Builder,
// Bobby Tables and Carol Danvers.
type galEnv struct {
	*testEnv
	gal        *directory.GAL
	bob, bobby store.Account
	carol      store.Account
	photo      []byte
}

func newGALEnv(t *testing.T) *galEnv {
	t.Helper()
	var gal *directory.GAL
	e := newTestEnv(t, func(o *Options) {
		gal = directory.NewGAL(o.Store, nil)
		o.GAL = gal
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { gal.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-gal.Ready()
	g := &galEnv{testEnv: e, gal: gal, photo: []byte("\xff\xd8\xff\xe0 not really a JPEG")}
	g.bob = e.addUser("bob@example.org", "Bob Builder")
	g.bobby = e.addUser("bobby.tables@example.org", "Bobby Tables")
	g.carol = e.addUser("carol@example.org", "Carol Danvers")
	if err := e.st.SetAttributes(context.Background(), g.bob.ID, store.Attributes{
		DisplayName: "Bob Builder", GivenName: "Bob", Surname: "Builder", Title: "Builder",
		Company: "Fixit", Phone: "+1 555 0100", Mobile: "+1 555 0101", Office: "Yard", Photo: g.photo,
	}); err != nil {
		t.Fatal(err)
	}
	g.waitGAL(func(s *directory.GALSnapshot) bool {
		b, ok := s.ByEmail("bob@example.org")
		return len(s.Entries) == 4 && ok && len(b.Photo) > 0
	})
	e.provisioned("TESTDEVICE")
	return g
}

// waitGAL waits until the GAL's snapshot satisfies ok.
func (g *galEnv) waitGAL(ok func(*directory.GALSnapshot) bool) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := g.gal.Await(ctx, ok); err != nil {
		g.t.Fatalf("GAL never reached the expected state; %d entries", len(g.gal.Snapshot().Entries))
	}
}

// galSearchXML is a GAL Search request.
func galSearchXML(query, options string) string {
	return `<Search xmlns="Search"><Store><Name>GAL</Name><Query>` + query + `</Query>` +
		`<Options>` + options + `</Options></Store></Search>`
}

// searchStore returns the Response/Store of a Search response, failing unless the
// Search status is 1.
func searchStore(t *testing.T, r reply) *wbxml.Node {
	t.Helper()
	if r.status != 200 || r.body == nil {
		t.Fatalf("HTTP %d, body %v", r.status, r.raw)
	}
	if s := r.body.ChildText("Status"); s != "1" {
		t.Fatalf("Search Status %s:\n%s", s, r.body.XML())
	}
	st := r.body.Path("Response", "Store")
	if st == nil {
		t.Fatalf("no Response/Store:\n%s", r.body.XML())
	}
	return st
}

// resultNames are the gal:DisplayName of each Result.
func resultNames(st *wbxml.Node) []string {
	var names []string
	for _, res := range st.All("Result") {
		names = append(names, res.Child("Properties").ChildText("GAL:DisplayName"))
	}
	return names
}

// libwbxmlDecodes checks that libwbxml, a decoder nobody here wrote, reads a response
// and finds want in it.
func libwbxmlDecodes(t *testing.T, raw []byte, want ...string) {
	t.Helper()
	if _, err := exec.LookPath("wbxml2xml"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("wbxml2xml not installed (libwbxml2-utils)")
		}
		t.Skip("wbxml2xml not installed")
	}
	in := filepath.Join(t.TempDir(), "in.wbxml")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("wbxml2xml", "-l", "ACTIVESYNC", "-m", "0", "-o", "-", in)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("wbxml2xml: %v: %s", err, stderr.String())
	}
	for _, w := range want {
		if !strings.Contains(stdout.String(), w) {
			t.Errorf("libwbxml's decoding lacks %q:\n%s", w, stdout.String())
		}
	}
}

func TestSearchGALByNamePrefix(t *testing.T) {
	e := newGALEnv(t)
	r := e.do(call{cmd: "Search", xml: galSearchXML("bob", "<Range>0-9</Range>")})
	validate(t, r.body, "SearchResponse.xsd")
	st := searchStore(t, r)
	if got := st.ChildText("Status"); got != "1" {
		t.Fatalf("Store Status %s", got)
	}
	if got := strings.Join(resultNames(st), ","); got != "Bob Builder,Bobby Tables" {
		t.Errorf("results %q, want Bob Builder,Bobby Tables (sorted by name)", got)
	}
	if st.ChildText("Total") != "2" || st.ChildText("Range") != "0-1" {
		t.Errorf("Total %q Range %q, want 2 and 0-1", st.ChildText("Total"), st.ChildText("Range"))
	}
	props := st.Child("Result").Child("Properties")
	for tag, want := range map[string]string{"EmailAddress": "bob@example.org", "FirstName": "Bob", "LastName": "Builder",
		"Title": "Builder", "Company": "Fixit", "Phone": "+1 555 0100", "MobilePhone": "+1 555 0101", "Office": "Yard", "Alias": "bob"} {
		if got := props.ChildText("GAL:" + tag); got != want {
			t.Errorf("gal:%s = %q, want %q", tag, got, want)
		}
	}
	if props.Has("GAL:Picture") {
		t.Error("a Picture nobody asked for")
	}
	libwbxmlDecodes(t, r.raw, "Bob Builder", "bobby.tables@example.org")

	// A word of the display name other than the first, and two words in either order.
	for query, want := range map[string]string{"tab": "Bobby Tables", "danv car": "Carol Danvers", "ALI": "Alice Liddell", "bobby.t": "Bobby Tables"} {
		st := searchStore(t, e.do(call{cmd: "Search", xml: galSearchXML(query, "")}))
		if got := strings.Join(resultNames(st), ","); got != want {
			t.Errorf("query %q found %q, want %q", query, got, want)
		}
	}
	// A word's middle is not a name match.
	st = searchStore(t, e.do(call{cmd: "Search", xml: galSearchXML("uild", "")}))
	if st.Has("Result") || st.ChildText("Total") != "0" || st.Has("Range") {
		t.Errorf("a substring of a name matched:\n%s", st.XML())
	}
}

func TestSearchGALByEmailFragmentWithRange(t *testing.T) {
	e := newGALEnv(t)
	st := searchStore(t, e.do(call{cmd: "Search", xml: galSearchXML("tables@exa", "")}))
	if got := strings.Join(resultNames(st), ","); got != "Bobby Tables" {
		t.Errorf("found %q", got)
	}
	// Every address has the domain: four in all, the second page of two.
	r := e.do(call{cmd: "Search", xml: galSearchXML("example.org", "<Range>2-3</Range>")})
	validate(t, r.body, "SearchResponse.xsd")
	st = searchStore(t, r)
	if got := strings.Join(resultNames(st), ","); got != "Bobby Tables,Carol Danvers" {
		t.Errorf("page 2-3 = %q", got)
	}
	if st.ChildText("Total") != "4" || st.ChildText("Range") != "2-3" {
		t.Errorf("Total %q Range %q, want 4 and 2-3", st.ChildText("Total"), st.ChildText("Range"))
	}
	// A range beyond the results: none, and no Range.
	st = searchStore(t, e.do(call{cmd: "Search", xml: galSearchXML("example.org", "<Range>10-19</Range>")}))
	if st.Has("Result") || st.Has("Range") || st.ChildText("Total") != "4" {
		t.Errorf("beyond the end:\n%s", st.XML())
	}
}

func TestSearchGALPicture(t *testing.T) {
	e := newGALEnv(t)
	pictureSearch := galSearchXML("bob", "<Range>0-9</Range><Picture><MaxSize>100000</MaxSize><MaxPictures>5</MaxPictures></Picture>")

	// 14.0 has no contact photos ([MS-ASCMD] 2.2.3.135.3).
	st := searchStore(t, e.do(call{cmd: "Search", version: "14.0", xml: pictureSearch}))
	if strings.Contains(st.XML(), "Picture") {
		t.Errorf("a Picture at 14.0:\n%s", st.XML())
	}

	r := e.do(call{cmd: "Search", version: "14.1", xml: pictureSearch})
	validate(t, r.body, "SearchResponse.xsd")
	st = searchStore(t, r)
	res := st.All("Result")
	if len(res) != 2 {
		t.Fatalf("%d results", len(res))
	}
	bob := res[0].Path("Properties", "Picture")
	if bob.ChildText("Status") != "1" || !bytes.Equal(bob.Child("Data").Opaque, e.photo) {
		t.Errorf("Bob's picture:\n%s", bob.XML())
	}
	if bobby := res[1].Path("Properties", "Picture"); bobby.ChildText("Status") != "173" || bobby.Has("Data") {
		t.Errorf("Bobby has no photo, got:\n%s", bobby.XML())
	}
	libwbxmlDecodes(t, r.raw, base64.StdEncoding.EncodeToString(e.photo))

	// Too large for MaxSize, and beyond MaxPictures.
	st = searchStore(t, e.do(call{cmd: "Search", version: "14.1", xml: galSearchXML("bob", "<Picture><MaxSize>4</MaxSize></Picture>")}))
	if got := st.Child("Result").Path("Properties", "Picture").ChildText("Status"); got != "174" {
		t.Errorf("photo over MaxSize: status %s", got)
	}
	st = searchStore(t, e.do(call{cmd: "Search", version: "16.1", xml: galSearchXML("bob", "<Picture><MaxPictures>0</MaxPictures></Picture>")}))
	if got := st.Child("Result").Path("Properties", "Picture").ChildText("Status"); got != "1" {
		t.Errorf("MaxPictures 0 (no limit): status %s", got)
	}
}

func TestSearchInvalidRequests(t *testing.T) {
	e := newGALEnv(t)
	for name, tc := range map[string]struct{ xml, status string }{
		"reversed range":    {galSearchXML("bob", "<Range>5-1</Range>"), "2"},
		"range over 100":    {galSearchXML("bob", "<Range>0-100</Range>"), "12"},
		"range past 99":     {galSearchXML("bob", "<Range>100-109</Range>"), "12"},
		"garbage range":     {galSearchXML("bob", "<Range>a-b</Range>"), "2"},
		"empty query":       {galSearchXML("", ""), "2"},
		"document library":  {`<Search xmlns="Search"><Store><Name>DocumentLibrary</Name><Query>x</Query></Store></Search>`, "2"},
		"no store":          {`<Search xmlns="Search"/>`, "2"},
		"or":                {`<Search xmlns="Search"><Store><Name>Mailbox</Name><Query><Or><FreeText>x</FreeText></Or></Query></Store></Search>`, "8"},
		"bare FreeText":     {`<Search xmlns="Search"><Store><Name>Mailbox</Name><Query><FreeText>x</FreeText></Query></Store></Search>`, "8"},
		"bad date":          {`<Search xmlns="Search" xmlns:email="Email"><Store><Name>Mailbox</Name><Query><And><FreeText>x</FreeText><GreaterThan><email:DateReceived/><Value>yesterday</Value></GreaterThan></And></Query></Store></Search>`, "2"},
		"conversation only": {`<Search xmlns="Search"><Store><Name>Mailbox</Name><Query><And><ConversationId>abc</ConversationId></And></Query></Store></Search>`, "8"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(call{cmd: "Search", xml: tc.xml})
			validate(t, r.body, "SearchResponse.xsd")
			st := searchStore(t, r)
			if got := st.ChildText("Status"); got != tc.status {
				t.Errorf("Store Status %s, want %s", got, tc.status)
			}
		})
	}
}

// Another account's folder is not searchable: its CollectionId finds nothing, exactly
// as an id that does not exist.
func TestSearchMailboxOtherAccountsFolder(t *testing.T) {
	e := newGALEnv(t)
	bobInbox, err := e.st.FolderByRole(context.Background(), store.Principal{AccountID: e.bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{folderServerID(bobInbox.ID), "999999"} {
		r := e.do(call{cmd: "Search", xml: `<Search xmlns="Search" xmlns:airsync="AirSync"><Store><Name>Mailbox</Name><Query><And>` +
			`<airsync:Class>Email</airsync:Class><airsync:CollectionId>` + id + `</airsync:CollectionId><FreeText>hello</FreeText>` +
			`</And></Query><Options><Range>0-9</Range></Options></Store></Search>`})
		validate(t, r.body, "SearchResponse.xsd")
		st := searchStore(t, r)
		if st.ChildText("Status") != "1" || st.Has("Result") || st.ChildText("Total") != "0" {
			t.Errorf("collection %s:\n%s", id, st.XML())
		}
	}
}

func TestParseSearchRange(t *testing.T) {
	for in, want := range map[string]searchRange{"0-9": {0, 9}, " 5-5 ": {5, 5}, "0-999": {0, 999}, "10-500": {10, 500}} {
		if got, ok := parseSearchRange(in); !ok || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "5", "9-0", "-1-3", "a-b", "1-2-3", "0-1234567890", "+1-2"} {
		if _, ok := parseSearchRange(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

// FuzzSearchRequest feeds arbitrary WBXML to the Search and Find parsers: they may
// refuse it, never panic, and what they accept is within bounds.
func FuzzSearchRequest(f *testing.F) {
	for _, x := range []string{
		galSearchXML("bob", "<Range>0-9</Range><Picture><MaxSize>100</MaxSize><MaxPictures>2</MaxPictures></Picture>"),
		`<Search xmlns="Search" xmlns:airsync="AirSync" xmlns:email="Email" xmlns:airsyncbase="AirSyncBase"><Store><Name>Mailbox</Name><Query><And>` +
			`<airsync:Class>Email</airsync:Class><airsync:CollectionId>5</airsync:CollectionId><FreeText>hello world</FreeText>` +
			`<GreaterThan><email:DateReceived/><Value>2026-01-01T00:00:00.000Z</Value></GreaterThan>` +
			`<LessThan><email:DateReceived/><Value>2027-01-01T00:00:00.000Z</Value></LessThan>` +
			`</And></Query><Options><Range>0-4</Range><DeepTraversal/><RebuildResults/>` +
			`<airsyncbase:BodyPreference><airsyncbase:Type>2</airsyncbase:Type><airsyncbase:TruncationSize>512</airsyncbase:TruncationSize></airsyncbase:BodyPreference>` +
			`</Options></Store></Search>`,
		`<Search xmlns="Search"><Store><Name>Mailbox</Name><Query><And><And><And><FreeText>x</FreeText></And></And></And></Query></Store></Search>`,
		`<Find xmlns="Find" xmlns:airsync="AirSync"><SearchId>1</SearchId><ExecuteSearch><MailBoxSearchCriterion><Query>` +
			`<airsync:Class>Email</airsync:Class><FreeText>hello</FreeText><airsync:CollectionId>5</airsync:CollectionId></Query>` +
			`<Options><Range>0-99</Range><DeepTraversal/></Options></MailBoxSearchCriterion></ExecuteSearch></Find>`,
		`<Find xmlns="Find"><SearchId>2</SearchId><ExecuteSearch><GalSearchCriterion><Query>bob</Query>` +
			`<Options><Range>0-9</Range><Picture><MaxSize>1</MaxSize><MaxPictures>1</MaxPictures></Picture></Options></GalSearchCriterion></ExecuteSearch></Find>`,
	} {
		b := wbxmlOf(f, x)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		root, err := wbxml.Decode(data)
		if err != nil {
			return
		}
		sr, status := parseSearchRequest(root)
		if status == searchSuccess {
			if sr.store != "GAL" && sr.store != "Mailbox" {
				t.Fatalf("accepted store %q", sr.store)
			}
			if sr.rng.first < 0 || sr.rng.last < sr.rng.first || sr.rng.last >= searchMaxResults {
				t.Fatalf("range %v", sr.rng)
			}
			if len(sr.text) > searchMaxQuery || len(sr.collections) > searchMaxFolders {
				t.Fatalf("unbounded query: %d bytes, %d folders", len(sr.text), len(sr.collections))
			}
			if sr.store == "GAL" {
				galSearch(directory.NewGAL(nil, nil).Snapshot(), sr.text)
			}
		}
		fr, status := parseFindRequest(root)
		if status == findSuccess && (fr.text == "" || fr.rng.last-fr.rng.first >= searchMaxResults || fr.rng.last > findMaxRange) {
			t.Fatalf("find accepted %+v", fr)
		}
		if root.Is("ResolveRecipients:ResolveRecipients") {
			if o, ok := parseRROptions(root.Child("ResolveRecipients:Options")); ok && o.availability && !o.end.After(o.start) {
				t.Fatalf("availability window %v..%v", o.start, o.end)
			}
			for _, to := range root.All("ResolveRecipients:To") {
				resolveCandidates(to.Text, directory.NewGAL(nil, nil).Snapshot(), []directory.PersonalContact{{FullName: "X", Emails: []string{"x@y"}}})
			}
		}
	})
}

// mailboxFixture delivers, through the store, messages to search: three about the
// quarterly report (two in the Inbox, one in a subfolder of it), one about lunch, and
// one about the quarterly report in Bob's Inbox, which Alice must never find.
type mailboxFixture struct {
	inbox, sub store.Folder
	base       time.Time // internal date of the oldest; each next one an hour later
}

func (g *galEnv) mailboxFixture() mailboxFixture {
	g.t.Helper()
	ctx := context.Background()
	fx := mailboxFixture{inbox: g.folderByRole(store.RoleInbox), base: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var err error
	if fx.sub, err = g.st.CreateFolder(ctx, g.principal(), fx.inbox.ID, "Projects", store.ClassMail); err != nil {
		g.t.Fatal(err)
	}
	msg := func(subject, body string) []byte {
		return []byte("From: Carol Danvers <carol@example.org>\r\nTo: Alice Liddell <alice@example.org>\r\n" +
			"Cc: Bob Builder <bob@example.org>\r\nSubject: " + subject + "\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n" +
			"Date: Sun, 1 Mar 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n")
	}
	deliver := func(p store.Principal, folder int64, i int, subject, body string) {
		if _, err := g.st.Deliver(ctx, p, folder, msg(subject, body), store.DeliverOptions{InternalDate: fx.base.Add(time.Duration(i) * time.Hour)}); err != nil {
			g.t.Fatal(err)
		}
	}
	deliver(g.principal(), fx.inbox.ID, 0, "Quarterly report draft", "The numbers for the quarterly report are attached below, with a long explanation.")
	deliver(g.principal(), fx.inbox.ID, 1, "Lunch", "Shall we have lunch on Friday?")
	deliver(g.principal(), fx.sub.ID, 2, "Quarterly figures", "Figures for the quarterly report.")
	deliver(g.principal(), fx.inbox.ID, 3, "Re: Quarterly report draft", "Looks good; quarterly report approved.")
	bob := store.Principal{AccountID: g.bob.ID}
	bobInbox, err := g.st.FolderByRole(ctx, bob, store.RoleInbox)
	if err != nil {
		g.t.Fatal(err)
	}
	deliver(bob, bobInbox.ID, 4, "Quarterly secrets", "Bob's quarterly report, for Bob only.")
	return fx
}

// mailboxSearchXML is a mailbox Search request.
func mailboxSearchXML(conditions, options string) string {
	return `<Search xmlns="Search" xmlns:airsync="AirSync" xmlns:airsyncbase="AirSyncBase" xmlns:email="Email"><Store><Name>Mailbox</Name>` +
		`<Query><And><airsync:Class>Email</airsync:Class>` + conditions + `</And></Query><Options>` + options + `</Options></Store></Search>`
}

// resultSubjects are the email:Subject of each Result's Properties.
func resultSubjects(st *wbxml.Node) []string {
	var out []string
	for _, res := range st.All("Result") {
		out = append(out, res.Child("Properties").ChildText("Email:Subject"))
	}
	return out
}

func TestSearchMailbox(t *testing.T) {
	e := newGALEnv(t)
	fx := e.mailboxFixture()
	inbox := "<airsync:CollectionId>" + folderServerID(fx.inbox.ID) + "</airsync:CollectionId>"

	// The Inbox alone, newest first, with a plain-text body cut to 20 bytes.
	r := e.do(call{cmd: "Search", version: "14.1", xml: mailboxSearchXML(inbox+"<FreeText>quarterly</FreeText>",
		"<Range>0-9</Range><airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type><airsyncbase:TruncationSize>20</airsyncbase:TruncationSize></airsyncbase:BodyPreference>")})
	validate(t, r.body, "SearchResponse.xsd")
	st := searchStore(t, r)
	if got := strings.Join(resultSubjects(st), "|"); got != "Re: Quarterly report draft|Quarterly report draft" {
		t.Errorf("Inbox results %q", got)
	}
	if st.ChildText("Total") != "2" || st.ChildText("Range") != "0-1" {
		t.Errorf("Total %q Range %q", st.ChildText("Total"), st.ChildText("Range"))
	}
	res := st.Child("Result")
	if res.ChildText("AirSync:Class") != "Email" || res.ChildText("AirSync:CollectionId") != folderServerID(fx.inbox.ID) {
		t.Errorf("result header:\n%s", res.XML())
	}
	if folder, _, err := store.ParseServerID(res.ChildText("LongId")); err != nil || folder != fx.inbox.ID {
		t.Errorf("LongId %q is not an Inbox ServerId", res.ChildText("LongId"))
	}
	body := res.Path("Properties", "Body")
	if body.ChildText("Type") != "1" || body.ChildText("Truncated") != "1" || len(body.ChildText("Data")) > 20 {
		t.Errorf("body not truncated to 20 bytes of text:\n%s", body.XML())
	}
	libwbxmlDecodes(t, r.raw, "Re: Quarterly report draft", "<LongId>")

	// The full message of a result is fetched by its LongId ([MS-ASCMD] 2.2.1.16).
	fetch := e.do(call{cmd: "ItemOperations", version: "14.1", xml: `<ItemOperations xmlns="ItemOperations" xmlns:search="Search" xmlns:airsyncbase="AirSyncBase">` +
		`<Fetch><Store>Mailbox</Store><search:LongId>` + res.ChildText("LongId") + `</search:LongId><Options>` +
		`<airsyncbase:BodyPreference><airsyncbase:Type>1</airsyncbase:Type></airsyncbase:BodyPreference></Options></Fetch></ItemOperations>`})
	validate(t, fetch.body, "ItemOperationsResponse.xsd")
	f := fetch.body.Path("Response", "Fetch")
	if f.ChildText("Status") != "1" || f.ChildText("Search:LongId") != res.ChildText("LongId") ||
		!strings.Contains(f.Path("Properties", "Body").ChildText("Data"), "quarterly report approved") {
		t.Errorf("ItemOperations Fetch by LongId:\n%s", fetch.body.XML())
	}

	// DeepTraversal takes in the subfolder; the Range pages.
	st = searchStore(t, e.do(call{cmd: "Search", xml: mailboxSearchXML(inbox+"<FreeText>quarterly</FreeText>", "<Range>1-1</Range><DeepTraversal/><RebuildResults/>")}))
	if got := strings.Join(resultSubjects(st), "|"); got != "Quarterly figures" || st.ChildText("Total") != "3" || st.ChildText("Range") != "1-1" {
		t.Errorf("deep, 1-1: %q Total %q Range %q", got, st.ChildText("Total"), st.ChildText("Range"))
	}

	// No CollectionId: every folder of Alice's, and none of Bob's.
	st = searchStore(t, e.do(call{cmd: "Search", xml: mailboxSearchXML("<FreeText>quarterly</FreeText>", "")}))
	if st.ChildText("Total") != "3" || strings.Contains(st.XML(), "secrets") {
		t.Errorf("all folders:\n%s", st.XML())
	}

	// Two CollectionIds, and dates: after 09:30 and before 11:30 leaves the 10:00 and
	// 11:00 messages, of which one is about the report.
	both := inbox + "<airsync:CollectionId>" + folderServerID(fx.sub.ID) + "</airsync:CollectionId>"
	dates := "<GreaterThan><email:DateReceived/><Value>2026-03-01T09:30:00.000Z</Value></GreaterThan>" +
		"<LessThan><email:DateReceived/><Value>2026-03-01T11:30:00.000Z</Value></LessThan>"
	r = e.do(call{cmd: "Search", xml: mailboxSearchXML(both+"<FreeText>quarterly</FreeText>"+dates, "")})
	validate(t, r.body, "SearchResponse.xsd")
	if got := strings.Join(resultSubjects(searchStore(t, r)), "|"); got != "Quarterly figures" {
		t.Errorf("dated search: %q", got)
	}

	// Another class than Email finds nothing.
	st = searchStore(t, e.do(call{cmd: "Search", xml: strings.Replace(mailboxSearchXML("<FreeText>quarterly</FreeText>", ""), ">Email<", ">Contacts<", 1)}))
	if st.Has("Result") || st.ChildText("Total") != "0" {
		t.Errorf("Contacts class:\n%s", st.XML())
	}
}
