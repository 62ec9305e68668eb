package wbxml

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestXMLRendering(t *testing.T) {
	doc := NewElem("AirSync", "Sync", NewElem("AirSync", "Collections", NewElem("AirSync", "Collection",
		NewText("AirSync", "SyncKey", "a<b>&\"c\"\r\n"),
		NewElem("AirSync", "Commands", NewElem("AirSync", "Add",
			NewElem("AirSync", "ApplicationData",
				NewText("Email", "Subject", "Grüße"),
				NewOpaque("Email2", "ConversationId", []byte{1, 2, 3}),
				NewElem("Email", "Read")))))))
	want := `<Sync xmlns="AirSync" xmlns:email="Email" xmlns:email2="Email2">
  <Collections>
    <Collection>
      <SyncKey>a&lt;b&gt;&amp;"c"&#xD;
</SyncKey>
      <Commands>
        <Add>
          <ApplicationData>
            <email:Subject>Grüße</email:Subject>
            <email2:ConversationId opaque="base64">AQID</email2:ConversationId>
            <email:Read/>
          </ApplicationData>
        </Add>
      </Commands>
    </Collection>
  </Collections>
</Sync>
`
	if got := doc.XML(); got != want {
		t.Errorf("XML():\n%s\nwant\n%s", got, want)
	}
	back, err := ParseXML([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(back, doc) {
		t.Errorf("ParseXML:\n%s", back.XML())
	}
}

func TestStringForLogs(t *testing.T) {
	doc := NewElem("Settings", "Settings",
		NewElem("Settings", "DevicePassword", NewText("Settings", "Password", "hunter2")),
		NewElem("ItemOperations", "ItemOperations",
			NewText("ItemOperations", "Password", "s3cret"),
			NewOpaque("ItemOperations", "Data", bytes.Repeat([]byte{7}, 5000)),
			NewOpaque("ItemOperations", "Schema", []byte{1, 2}),
			NewText("ItemOperations", "Store", strings.Repeat("é", 2000))))
	s := doc.String()
	for _, secret := range []string{"hunter2", "s3cret"} {
		if strings.Contains(s, secret) {
			t.Errorf("String() shows the password %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{`<Password>***</Password>`, `<itemoperations:Data opaque="5000 bytes"/>`,
		`opaque="base64">AQI=<`, "…[4000 bytes]"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(doc.XML(), "hunter2") {
		t.Error("XML() must be exact")
	}
	var none *Node
	if none.String() != "<nil>" {
		t.Error("nil String")
	}
}

func TestParseXML(t *testing.T) {
	// wbxml2xml's output: DOCTYPE, colon namespaces declared per element.
	lib := `<?xml version="1.0"?><!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">` +
		`<Sync xmlns="AirSync:"><Collections><Collection><SyncKey>0</SyncKey><Body xmlns="AirSyncBase:"><Type>1</Type></Body></Collection></Collections></Sync>`
	want := NewElem("AirSync", "Sync", NewElem("AirSync", "Collections", NewElem("AirSync", "Collection",
		NewText("AirSync", "SyncKey", "0"),
		NewElem("AirSyncBase", "Body", NewText("AirSyncBase", "Type", "1")))))
	got, err := ParseXML([]byte(lib))
	if err != nil {
		t.Fatal(err)
	}
	if !Equal(got, want) {
		t.Errorf("got\n%s", got.XML())
	}
	for _, bad := range []string{
		``,
		`<Sync/>`,
		`<Sync xmlns="AirSync"><Bogus/></Sync>`,
		`<Sync xmlns="AirSync" id="1"/>`,
		`<Sync xmlns="AirSync">text<Add/></Sync>`,
		`<Sync xmlns="AirSync"><Add/></Sync><Sync xmlns="AirSync"/>`,
		`<Mime xmlns="ComposeMail" opaque="base64">***</Mime>`,
		`<Mime xmlns="ComposeMail" opaque="base64"><SendMail/></Mime>`,
		`<Sync xmlns="AirSync">`,
	} {
		if n, err := ParseXML([]byte(bad)); err == nil {
			t.Errorf("ParseXML(%q) = %s, want an error", bad, n.XML())
		}
	}
}

// schemaOnly are element names the schemas declare that [MS-ASWBXML] gives no
// token in any protocol version Gatehouse speaks.
var schemaOnly = map[string]string{
	// Contacts.xsd's list of ghosted properties misspells these (the tags are
	// AssistantPhoneNumber, WebPage, HomePhoneNumber and so on).
	"Contacts:AssistnamePhoneNumber":    "misspelling in the schema",
	"Contacts:Webpage":                  "misspelling in the schema",
	"Contacts:HomeTelephoneNumber":      "misspelling in the schema",
	"Contacts:Home2TelephoneNumber":     "misspelling in the schema",
	"Contacts:MobileTelephoneNumber":    "misspelling in the schema",
	"Contacts:CarTelephoneNumber":       "misspelling in the schema",
	"Contacts:AssistantTelephoneNumber": "misspelling in the schema",
	"Contacts:BusinessTelephoneNumber":  "misspelling in the schema",
	"Contacts:Business2TelephoneNumber": "misspelling in the schema",
	"Contacts:RadioTelephoneNumber":     "misspelling in the schema",
	"AirSync:Truncation":                "protocol 2.5 only",
	"FolderHierarchy:Folders":           "GetHierarchy, protocol 2.5 only",
}

// TestSchemasNameOurTags checks every element that Microsoft's published EAS
// schemas (../shared/eas-schemas) declare against our code page tables: the
// schemas' namespace names must be ours, and their element names our tag names.
func TestSchemasNameOurTags(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "eas-schemas")
	files, _ := filepath.Glob(filepath.Join(dir, "*.xsd"))
	if len(files) == 0 {
		t.Skipf("no schemas in %s", dir)
	}
	target := regexp.MustCompile(`targetNamespace="([^"]*)"`)
	elem := regexp.MustCompile(`<xs:element name="([^"]*)"`)
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := target.FindSubmatch(data)
		if m == nil {
			continue // Autodiscover: plain XML, not WBXML
		}
		space := string(m[1])
		if _, ok := PageOf(space); !ok {
			t.Errorf("%s: namespace %q is not one of our code pages", filepath.Base(f), space)
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			for _, e := range elem.FindAllStringSubmatch(sc.Text(), -1) {
				checked++
				if _, quirk := schemaOnly[space+":"+e[1]]; quirk {
					continue
				}
				if _, _, ok := Token(space, e[1]); !ok {
					t.Errorf("%s: element %s:%s is not in our tables", filepath.Base(f), space, e[1])
				}
			}
		}
	}
	t.Logf("%d element declarations checked", checked)
}

// TestXMLValidates checks that the XML rendering carries the namespace names the
// published schemas use, by validating a Ping response with xmllint. (The other
// response schemas in ../shared refer to namespaces they do not import, which
// xmllint refuses to compile on their own.)
func TestXMLValidates(t *testing.T) {
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint not found: install the Debian package libxml2-utils")
	}
	xsd := filepath.Join("..", "..", "..", "shared", "eas-schemas", "PingResponse.xsd")
	if _, err := os.Stat(xsd); err != nil {
		t.Skipf("no schema: %v", err)
	}
	doc := NewElem("Ping", "Ping", NewText("Ping", "Status", "2"),
		NewElem("Ping", "Folders", NewText("Ping", "Folder", "1"), NewText("Ping", "Folder", "4")))
	f := filepath.Join(t.TempDir(), "ping.xml")
	if err := os.WriteFile(f, []byte(doc.XML()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("xmllint", "--noout", "--schema", xsd, f).CombinedOutput()
	if err != nil {
		t.Errorf("xmllint: %v\n%s\n%s", err, out, doc.XML())
	}
}
