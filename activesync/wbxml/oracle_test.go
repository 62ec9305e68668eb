package wbxml

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The oracle tests compare this codec with libwbxml (Debian libwbxml2-utils), an
// implementation written by others: its xml2wbxml encodes our XML and its
// wbxml2xml decodes our bytes.
//
// libwbxml quirks the tests allow for: xml2wbxml needs the ActiveSync DOCTYPE and
// namespace names ending in a colon; it trims leading and trailing whitespace
// from text, and wbxml2xml from raw opaque data (so corpus texts have none); it spells some tags and one namespace
// differently (libwbxmlNames, libwbxmlSpaces); it lacks some 16.1 tags
// (libwbxmlLacks); it treats a few elements as binary (libwbxmlOpaque) and
// cannot encode other opaque data.

const libwbxmlDoctype = `<?xml version="1.0"?>` + "\n" +
	`<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">` + "\n"

// libwbxmlLacks lists the tags libwbxml 0.11.8's ACTIVESYNC tables do not have
// (it decodes their tokens as "unknown" and cannot encode them); the oracle tests
// skip exactly these, by name.
var libwbxmlLacks = map[string]string{
	// 16.1 additions to older pages.
	"MeetingResponse:ProposedStartTime": "16.1",
	"MeetingResponse:ProposedEndTime":   "16.1",
	"Provision:AccountOnlyRemoteWipe":   "16.1",
	// Code page 25 (16.1) is missing altogether.
	"Find:Find":                   "16.1",
	"Find:SearchId":               "16.1",
	"Find:ExecuteSearch":          "16.1",
	"Find:MailBoxSearchCriterion": "16.1",
	"Find:Query":                  "16.1",
	"Find:Status":                 "16.1",
	"Find:FreeText":               "16.1",
	"Find:Options":                "16.1",
	"Find:Range":                  "16.1",
	"Find:DeepTraversal":          "16.1",
	"Find:Response":               "16.1",
	"Find:Result":                 "16.1",
	"Find:Properties":             "16.1",
	"Find:Preview":                "16.1",
	"Find:HasAttachments":         "16.1",
	"Find:Total":                  "16.1",
	"Find:DisplayCc":              "16.1",
	"Find:DisplayBcc":             "16.1",
	"Find:GalSearchCriterion":     "16.1",
	"Find:MaxPictures":            "16.1",
	"Find:MaxSize":                "16.1",
	"Find:Picture":                "16.1",
}

// libwbxmlNames maps a tag whose name libwbxml spells differently from
// [MS-ASWBXML] to libwbxml's spelling (same code page and token).
var libwbxmlNames = map[string]string{
	// libwbxml keeps the names of the older AirSync DTD (and one typo of its own);
	// the tokens are the same.
	"Contacts:AssistantPhoneNumber":                     "AssistantTelephoneNumber",
	"Contacts:BusinessAddressCity":                      "BusinessCity",
	"Contacts:BusinessAddressCountry":                   "BusinessCountry",
	"Contacts:BusinessAddressPostalCode":                "BusinessPostalCode",
	"Contacts:BusinessAddressState":                     "BusinessState",
	"Contacts:BusinessAddressStreet":                    "BusinessStreet",
	"Contacts:HomeAddressCity":                          "HomeCity",
	"Contacts:HomeAddressCountry":                       "HomeCountry",
	"Contacts:HomeAddressPostalCode":                    "HomePostalCode",
	"Contacts:HomeAddressState":                         "HomeState",
	"Contacts:HomeAddressStreet":                        "HomeStreet",
	"Contacts:OtherAddressCity":                         "OtherCity",
	"Contacts:OtherAddressCountry":                      "OtherCountry",
	"Contacts:OtherAddressPostalCode":                   "OtherPostalCode",
	"Contacts:OtherAddressState":                        "OtherState",
	"Contacts:OtherAddressStreet":                       "OtherStreet",
	"Email:Att0Id":                                      "AttOId",
	"Email:ReplyTo":                                     "Reply-To",
	"Email:DtStamp":                                     "DTStamp",
	"Email:Type":                                        "Recurrence_Type",
	"Email:Until":                                       "Recurrence_Until",
	"Email:Occurrences":                                 "Recurrence_Occurrences",
	"Email:Interval":                                    "Recurrence_Interval",
	"Email:DayOfWeek":                                   "Recurrence_DayOfWeek",
	"Email:DayOfMonth":                                  "Recurrence_DayOfMonth",
	"Email:WeekOfMonth":                                 "Recurrence_WeekOfMonth",
	"Email:MonthOfYear":                                 "Recurrence_MonthOfYear",
	"Email:Status":                                      "FlagStatus",
	"Calendar:Timezone":                                 "TimeZone",
	"Calendar:Email":                                    "Attendee_Email",
	"Calendar:Name":                                     "Attendee_Name",
	"Calendar:DtStamp":                                  "DTStamp",
	"Calendar:Deleted":                                  "Exception_Deleted",
	"Calendar:ExceptionStartTime":                       "Exception_StartTime",
	"Calendar:OrganizerEmail":                           "Organizer_Email",
	"Calendar:OrganizerName":                            "Organizer_Name",
	"Calendar:Type":                                     "Recurrence_Type",
	"Calendar:Until":                                    "Recurrence_Until",
	"Calendar:Occurrences":                              "Recurrence_Occurrences",
	"Calendar:Interval":                                 "Recurrence_Interval",
	"Calendar:DayOfWeek":                                "Recurrence_DayOfWeek",
	"Calendar:DayOfMonth":                               "Recurrence_DayOfMonth",
	"Calendar:WeekOfMonth":                              "Recurrence_WeekOfMonth",
	"Calendar:MonthOfYear":                              "Recurrence_MonthOfYear",
	"Calendar:AttendeeStatus":                           "Attendee_Status",
	"Calendar:AttendeeType":                             "Attendee_Type",
	"Tasks:UtcDueDate":                                  "UTCDueDate",
	"Tasks:Type":                                        "Recurrence_Type",
	"Tasks:Start":                                       "Recurrence_Start",
	"Tasks:Until":                                       "Recurrence_Until",
	"Tasks:Occurrences":                                 "Recurrence_Occurrences",
	"Tasks:Interval":                                    "Recurrence_Interval",
	"Tasks:DayOfMonth":                                  "Recurrence_DayOfMonth",
	"Tasks:DayOfWeek":                                   "Recurrence_DayOfWeek",
	"Tasks:WeekOfMonth":                                 "Recurrence_WeekOfMonth",
	"Tasks:MonthOfYear":                                 "Recurrence_MonthOfYear",
	"Tasks:Regenerate":                                  "Recurrence_Regenerate",
	"Tasks:DeadOccur":                                   "Recurrence_DeadOccur",
	"Tasks:UtcStartDate":                                "UTCStartDate",
	"Provision:RequireStorageCardEncryption":            "DeviceEncryptionEnabled",
	"Settings:SMTPAddress":                              "SmtpAddress",
	"Settings:RightsManagementInformation":              "ihsManagementInformation",
	"ComposeMail:Mime":                                  "MIME",
	"RightsManagement:Owner":                            "RMOwner",
	"RightsManagement:RemoveRightsManagementProtection": "RemoveRightsManagementDistribution",
}

// libwbxmlSpaces maps a namespace libwbxml spells differently.
var libwbxmlSpaces = map[string]string{"GAL": "Gal"}

// libwbxmlOpaque are the elements libwbxml treats as binary: it encodes their
// base64 text as OPAQUE and prints their content (OPAQUE or even STR_I) in base64.
// It writes other opaque data raw, and cannot encode it.
var libwbxmlOpaque = map[string]bool{
	"Email2:ConversationId": true, "Email2:ConversationIndex": true,
	"ComposeMail:Mime": true, "AirSyncBase:Content": true,
	"Search:ConversationId": true, "ItemOperations:ConversationId": true,
	"ResolveRecipients:Data": true, "GAL:Data": true,
}

func needLibwbxml(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"xml2wbxml", "wbxml2xml"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: install the Debian package libwbxml2-utils", tool)
		}
	}
}

// libEncode runs xml2wbxml -a -n -v 1.3 on doc.
func libEncode(t *testing.T, doc string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.xml"), filepath.Join(dir, "out.wbxml")
	if err := os.WriteFile(in, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("xml2wbxml", "-a", "-n", "-v", "1.3", "-o", out, in)
	msg, err := cmd.CombinedOutput()
	if err != nil {
		return nil, errors.New(strings.TrimSpace(string(msg)))
	}
	return os.ReadFile(out)
}

// libDecode runs wbxml2xml -l ACTIVESYNC -m 0 on b.
func libDecode(t *testing.T, b []byte) ([]byte, error) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.wbxml")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("wbxml2xml", "-l", "ACTIVESYNC", "-m", "0", "-o", "-", in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, errors.New(strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// libXML renders n as libwbxml's xml2wbxml wants it: the ActiveSync DOCTYPE,
// namespace names ending in a colon, libwbxml's spellings, opaque data in base64.
func libXML(n *Node) string {
	var b strings.Builder
	b.WriteString(libwbxmlDoctype)
	var walk func(n *Node, parentSpace string)
	walk = func(n *Node, parentSpace string) {
		space, tag := libName(n)
		b.WriteString("<" + tag)
		if space != parentSpace {
			b.WriteString(` xmlns="` + space + `:"`)
		}
		switch {
		case len(n.Children) > 0:
			b.WriteString(">")
			for _, c := range n.Children {
				walk(c, space)
			}
		case n.Opaque != nil:
			b.WriteString(">" + base64.StdEncoding.EncodeToString(n.Opaque))
		case n.Text != "":
			b.WriteString(">")
			escape(&b, n.Text, false)
		default:
			b.WriteString("/>")
			return
		}
		b.WriteString("</" + tag + ">")
	}
	walk(n, "")
	return b.String()
}

// looseParse reads libwbxml's XML output without checking names against our
// tables: the tree as libwbxml named it.
func looseParse(data []byte) (*Node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*Node
	var root *Node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &Node{Space: strings.TrimSuffix(t.Name.Space, ":"), Tag: t.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(t)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

// pageDoc is one document holding every tag of code page page, each with a
// short text, under the page's first tag.
func pageDoc(page byte, keep func(name string) bool) *Node {
	space := PageName(page)
	tags := Tags(page)
	root := NewElem(space, tags[0])
	for _, tag := range tags {
		if keep != nil && !keep(space+":"+tag) {
			continue
		}
		if libwbxmlOpaque[space+":"+tag] {
			root.Add(NewOpaque(space, tag, []byte("v")))
		} else {
			root.Add(NewText(space, tag, "v"))
		}
	}
	return root
}

// libName is n's namespace and tag as libwbxml spells them.
func libName(n *Node) (space, tag string) {
	space, tag = n.Space, n.Tag
	if s, ok := libwbxmlSpaces[space]; ok {
		space = s
	}
	if s, ok := libwbxmlNames[n.Name()]; ok {
		tag = s
	}
	return space, tag
}

// libView is the tree as wbxml2xml prints it: libwbxml's names, and opaque data
// as text (base64 where libwbxml knows the element is opaque, raw elsewhere).
func libView(n *Node) *Node {
	space, tag := libName(n)
	v := &Node{Space: space, Tag: tag, Text: n.Text}
	if n.Opaque != nil {
		if libwbxmlOpaque[n.Name()] {
			v.Text = base64.StdEncoding.EncodeToString(n.Opaque)
		} else {
			v.Text = string(n.Opaque)
		}
	}
	// wbxml2xml writes CR raw, so an XML parser reading its output sees CR LF
	// and lone CR as LF (XML 1.0 §2.11).
	v.Text = strings.ReplaceAll(strings.ReplaceAll(v.Text, "\r\n", "\n"), "\r", "\n")
	for _, c := range n.Children {
		v.Children = append(v.Children, libView(c))
	}
	return v
}

// TestOracleCodePageNames decodes, with wbxml2xml, a document of every tag of
// every code page that Encode wrote, and checks that libwbxml names each token as
// we do, apart from the spellings in libwbxmlNames and the tags in libwbxmlLacks
// (which it must then decode as "unknown").
func TestOracleCodePageNames(t *testing.T) {
	needLibwbxml(t)
	usedNames := map[string]bool{}
	for page := byte(0); page < NumPages; page++ {
		doc := pageDoc(page, nil)
		b, err := Encode(doc)
		if err != nil {
			t.Fatal(err)
		}
		out, err := libDecode(t, b)
		if err != nil {
			t.Fatalf("page %d: wbxml2xml: %v", page, err)
		}
		got, err := looseParse(out)
		if err != nil {
			t.Fatalf("page %d: %v\n%s", page, err, out)
		}
		if len(got.Children) != len(doc.Children) {
			t.Fatalf("page %d: libwbxml gave %d children, want %d", page, len(got.Children), len(doc.Children))
		}
		for i, c := range doc.Children {
			g := got.Children[i]
			if _, lacks := libwbxmlLacks[c.Name()]; lacks {
				if g.Tag != "unknown" {
					t.Errorf("%s: listed as missing from libwbxml, but it decodes as %s:%s", c.Name(), g.Space, g.Tag)
				}
				continue
			}
			space, tag := libName(c)
			if _, ok := libwbxmlNames[c.Name()]; ok {
				usedNames[c.Name()] = true
			}
			if g.Space != space || g.Tag != tag {
				t.Errorf("page %d token %s: we say %s, libwbxml says %s:%s", page, c.Tag, c.Name(), g.Space, g.Tag)
			}
			if want := libView(c).Text; g.Text != want {
				t.Errorf("%s: libwbxml decoded content %q, want %q", c.Name(), g.Text, want)
			}
		}
	}
	for name := range libwbxmlNames {
		if !usedNames[name] {
			t.Errorf("libwbxmlNames lists %s, which is not one of our tags", name)
		}
	}
	for name := range libwbxmlLacks {
		space, tag, _ := strings.Cut(name, ":")
		if _, _, ok := Token(space, tag); !ok {
			t.Errorf("libwbxmlLacks lists %s, which is not one of our tags", name)
		}
	}
}

// TestOracleEncodeCodePages has xml2wbxml encode a document of every tag of every
// code page that libwbxml knows, and checks that its bytes are ours and that we
// decode them to the same tree.
func TestOracleEncodeCodePages(t *testing.T) {
	needLibwbxml(t)
	for page := byte(0); page < NumPages; page++ {
		var skipped []string
		keep := func(name string) bool {
			if _, lacks := libwbxmlLacks[name]; lacks {
				skipped = append(skipped, name)
				return false
			}
			return true
		}
		doc := pageDoc(page, keep)
		if _, lacks := libwbxmlLacks[doc.Name()]; lacks {
			t.Logf("page %d (%s): skipped, libwbxml lacks %v", page, PageName(page), skipped)
			continue
		}
		if len(skipped) > 0 {
			t.Logf("page %d (%s): skipped %v (not in libwbxml)", page, PageName(page), skipped)
		}
		checkBothWays(t, PageName(page), doc)
	}
}

// checkBothWays compares our codec with libwbxml's on doc: xml2wbxml's bytes must
// equal Encode's and decode with Decode to doc; wbxml2xml must decode Encode's
// bytes to the same tree (in libwbxml's spelling).
func checkBothWays(t *testing.T, what string, doc *Node) {
	t.Helper()
	ours, err := Encode(doc)
	if err != nil {
		t.Fatalf("%s: Encode: %v", what, err)
	}
	theirs, err := libEncode(t, libXML(doc))
	if err != nil {
		t.Fatalf("%s: xml2wbxml: %v\n%s", what, err, libXML(doc))
	}
	if !bytes.Equal(ours, theirs) {
		t.Errorf("%s: bytes differ\nours:     % x\nlibwbxml: % x", what, ours, theirs)
	}
	got, err := Decode(theirs)
	if err != nil {
		t.Errorf("%s: Decode(libwbxml's bytes): %v", what, err)
	} else if !Equal(got, doc) {
		t.Errorf("%s: Decode(libwbxml's bytes) =\n%s\nwant\n%s", what, got.XML(), doc.XML())
	}
	out, err := libDecode(t, ours)
	if err != nil {
		t.Fatalf("%s: wbxml2xml: %v", what, err)
	}
	lib, err := looseParse(out)
	if err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	if want := libView(doc); !Equal(lib, want) {
		t.Errorf("%s: wbxml2xml decoded our bytes as\n%s\nwant\n%s", what, lib.XML(), want.XML())
	}
}
