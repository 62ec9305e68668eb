package activesync

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// libwbxml has no Find code page (16.1), so these responses are checked against
// FindResponse.xsd only.

// findXML is a Find request with one criterion.
func findXML(criterion string) string {
	return `<Find xmlns="Find" xmlns:airsync="AirSync"><SearchId>a1b2</SearchId><ExecuteSearch>` + criterion + `</ExecuteSearch></Find>`
}

// findResult returns the Find/Response of a successful Find.
func findResult(t *testing.T, r reply) *wbxml.Node {
	t.Helper()
	validate(t, r.body, "FindResponse.xsd")
	if r.body.ChildText("Status") != "1" {
		t.Fatalf("Find Status %s:\n%s", r.body.ChildText("Status"), r.body.XML())
	}
	resp := r.body.Child("Response")
	if resp.ChildText("Status") != "1" {
		t.Fatalf("Response Status %s", resp.ChildText("Status"))
	}
	return resp
}

func TestFindGAL(t *testing.T) {
	e := newGALEnv(t)
	resp := findResult(t, e.do(call{cmd: "Find", xml: findXML(`<GalSearchCriterion><Query>bob</Query>` +
		`<Options><Range>0-0</Range><Picture><MaxSize>100000</MaxSize><MaxPictures>1</MaxPictures></Picture></Options></GalSearchCriterion>`)}))
	if resp.ChildText("ItemOperations:Store") != "GAL" || resp.ChildText("Range") != "0-0" || resp.ChildText("Total") != "2" {
		t.Errorf("Store %q Range %q Total %q", resp.ChildText("ItemOperations:Store"), resp.ChildText("Range"), resp.ChildText("Total"))
	}
	res := resp.All("Result")
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	props := res[0].Child("Properties")
	if props.ChildText("GAL:DisplayName") != "Bob Builder" || props.ChildText("GAL:EmailAddress") != "bob@example.org" {
		t.Errorf("properties:\n%s", props.XML())
	}
	if p := props.Child("GAL:Picture"); p.ChildText("Status") != "1" || !bytes.Equal(p.Child("Data").Opaque, e.photo) {
		t.Errorf("picture:\n%s", props.XML())
	}
}

func TestFindRefused(t *testing.T) {
	e := newGALEnv(t)
	bobInbox, err := e.st.FolderByRole(context.Background(), store.Principal{AccountID: e.bob.ID}, store.RoleInbox)
	if err != nil {
		t.Fatal(err)
	}
	mailbox := func(collection string) string {
		return `<MailBoxSearchCriterion><Query><airsync:Class>Email</airsync:Class><FreeText>hello</FreeText>` +
			`<airsync:CollectionId>` + collection + `</airsync:CollectionId></Query><Options><Range>0-9</Range></Options></MailBoxSearchCriterion>`
	}
	for name, tc := range map[string]struct {
		version, xml, status string
	}{
		// Another account's folder is answered as one that does not exist.
		"other account's folder": {"16.1", findXML(mailbox(folderServerID(bobInbox.ID))), "3"},
		"no such folder":         {"16.1", findXML(mailbox("999999")), "3"},
		"before 16.1":            {"16.0", findXML(`<GalSearchCriterion><Query>bob</Query></GalSearchCriterion>`), "2"},
		"no SearchId":            {"16.1", `<Find xmlns="Find"><ExecuteSearch><GalSearchCriterion><Query>bob</Query></GalSearchCriterion></ExecuteSearch></Find>`, "2"},
		"two criteria":           {"16.1", findXML(`<GalSearchCriterion><Query>bob</Query></GalSearchCriterion>` + mailbox("1")), "2"},
		"empty query":            {"16.1", findXML(`<GalSearchCriterion><Query></Query></GalSearchCriterion>`), "2"},
		"bad range":              {"16.1", findXML(`<GalSearchCriterion><Query>bob</Query><Options><Range>9-0</Range></Options></GalSearchCriterion>`), "2"},
		"range over 999":         {"16.1", findXML(`<GalSearchCriterion><Query>bob</Query><Options><Range>0-1000</Range></Options></GalSearchCriterion>`), "2"},
	} {
		r := e.do(call{cmd: "Find", version: tc.version, xml: tc.xml})
		validate(t, r.body, "FindResponse.xsd")
		if got := r.body.ChildText("Status"); got != tc.status || r.body.Has("Response") {
			t.Errorf("%s: Find Status %s, want %s:\n%s", name, got, tc.status, r.body.XML())
		}
	}
}

func TestFindMailbox(t *testing.T) {
	e := newGALEnv(t)
	fx := e.mailboxFixture()
	query := func(text, extra, options string) string {
		return findXML(`<MailBoxSearchCriterion><Query><airsync:Class>Email</airsync:Class><FreeText>` + text + `</FreeText>` + extra +
			`</Query><Options>` + options + `</Options></MailBoxSearchCriterion>`)
	}
	resp := findResult(t, e.do(call{cmd: "Find", xml: query("quarterly", "<airsync:CollectionId>"+folderServerID(fx.inbox.ID)+"</airsync:CollectionId>", "<Range>0-0</Range><DeepTraversal/>")}))
	if resp.ChildText("ItemOperations:Store") != "Mailbox" || resp.ChildText("Total") != "3" || resp.ChildText("Range") != "0-0" {
		t.Errorf("Store %q Total %q Range %q", resp.ChildText("ItemOperations:Store"), resp.ChildText("Total"), resp.ChildText("Range"))
	}
	res := resp.All("Result")
	if len(res) != 1 {
		t.Fatalf("%d results", len(res))
	}
	if res[0].ChildText("AirSync:Class") != "Email" || res[0].ChildText("AirSync:CollectionId") != folderServerID(fx.inbox.ID) {
		t.Errorf("result:\n%s", res[0].XML())
	}
	props := res[0].Child("Properties")
	for name, want := range map[string]string{
		"Email:Subject": "Re: Quarterly report draft", "Email:DateReceived": "2026-03-01T12:00:00.000Z",
		"Email:DisplayTo": "Alice Liddell", "Find:DisplayCc": "Bob Builder", "Email:Read": "0", "Email2:IsDraft": "0",
		"Find:HasAttachments": "0", "Email:From": "Carol Danvers <carol@example.org>", "Email:Importance": "1",
	} {
		if got := props.ChildText(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(props.ChildText("Find:Preview"), "quarterly report approved") {
		t.Errorf("Preview %q", props.ChildText("Find:Preview"))
	}

	// A KQL property restriction: only subjects.
	resp = findResult(t, e.do(call{cmd: "Find", xml: query("subject:figures", "", "")}))
	if resp.ChildText("Total") != "1" {
		t.Errorf("subject:figures found %s", resp.ChildText("Total"))
	}
	resp = findResult(t, e.do(call{cmd: "Find", xml: query("subject:approved", "", "")}))
	if resp.ChildText("Total") != "0" || resp.Has("Range") {
		t.Errorf("subject:approved (a body word) found %s", resp.ChildText("Total"))
	}
	// Bob's message is never Alice's result.
	resp = findResult(t, e.do(call{cmd: "Find", xml: query("secrets", "", "")}))
	if resp.ChildText("Total") != "0" {
		t.Errorf("found Bob's mail:\n%s", resp.XML())
	}
}
