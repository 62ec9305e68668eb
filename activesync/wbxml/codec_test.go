package wbxml

import (
	"bytes"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var hexToken = regexp.MustCompile(`'[^']*'|[0-9A-Fa-f]{2}|\S`)

// wb builds bytes from hex pairs and quoted strings: "45 03 'abc' 00 01".
func wb(t testing.TB, spec string) []byte {
	t.Helper()
	var out []byte
	for _, tok := range hexToken.FindAllString(spec, -1) {
		switch {
		case strings.HasPrefix(tok, "'"):
			out = append(out, tok[1:len(tok)-1]...)
		case len(tok) == 2:
			b, err := hex.DecodeString(tok)
			if err != nil {
				t.Fatalf("bad hex %q", tok)
			}
			out = append(out, b...)
		default:
			t.Fatalf("bad token %q in %q", tok, spec)
		}
	}
	return out
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// knownDocs are documents whose bytes we wrote by hand from [MS-ASWBXML] 2.1.2.1
// (tokens) and WBXML 1.3 §5 (structure).
var knownDocs = []struct {
	name string
	tree *Node
	wbx  string
}{
	{
		// [MS-ASCMD] FolderSync request, first sync.
		"FolderSync request",
		NewElem("FolderHierarchy", "FolderSync", NewText("FolderHierarchy", "SyncKey", "0")),
		"03 01 6A 00  00 07  56  52 03 '0' 00 01  01",
	},
	{
		// The Sync response of [MS-ASWBXML] 4.1 (a new contact).
		"Sync response with a contact",
		NewElem("AirSync", "Sync", NewElem("AirSync", "Collections", NewElem("AirSync", "Collection",
			NewText("AirSync", "Class", "Contacts"),
			NewText("AirSync", "SyncKey", "2"),
			NewText("AirSync", "CollectionId", "2"),
			NewText("AirSync", "Status", "1"),
			NewElem("AirSync", "Commands", NewElem("AirSync", "Add",
				NewText("AirSync", "ServerId", "2:1"),
				NewElem("AirSync", "ApplicationData",
					NewElem("AirSyncBase", "Body",
						NewText("AirSyncBase", "Type", "1"),
						NewText("AirSyncBase", "EstimatedDataSize", "0"),
						NewText("AirSyncBase", "Truncated", "1")),
					NewText("Contacts", "FileAs", "Funk, Don"),
					NewText("Contacts", "FirstName", "Don"),
					NewText("Contacts", "LastName", "Funk"),
					NewText("AirSyncBase", "NativeBodyType", "1"))))))),
		`03 01 6A 00  45 5C 4F  50 03 'Contacts' 00 01  4B 03 '2' 00 01  52 03 '2' 00 01
		 4E 03 '1' 00 01  56 47  4D 03 '2:1' 00 01  5D  00 11 4A  46 03 '1' 00 01
		 4C 03 '0' 00 01  4D 03 '1' 00 01  01  00 01 5E 03 'Funk, Don' 00 01
		 5F 03 'Don' 00 01  69 03 'Funk' 00 01  00 11 56 03 '1' 00 01  01 01 01 01 01 01`,
	},
	{
		// A Sync response carrying opaque data: a MIME body and a ConversationId.
		"Sync response with opaque data",
		NewElem("AirSync", "Sync", NewElem("AirSync", "Collections", NewElem("AirSync", "Collection",
			NewText("AirSync", "SyncKey", "3"),
			NewText("AirSync", "CollectionId", "5"),
			NewText("AirSync", "Status", "1"),
			NewElem("AirSync", "Commands", NewElem("AirSync", "Add",
				NewText("AirSync", "ServerId", "5:9"),
				NewElem("AirSync", "ApplicationData",
					NewText("Email", "Subject", "Hi"),
					NewElem("AirSyncBase", "Body",
						NewText("AirSyncBase", "Type", "4"),
						NewOpaque("AirSyncBase", "Data", []byte("MIME-Version: 1.0\r\n\r\nx"))),
					NewOpaque("Email2", "ConversationId", seq(16)))))))),
		`03 01 6A 00  45 5C 4F  4B 03 '3' 00 01  52 03 '5' 00 01  4E 03 '1' 00 01
		 56 47  4D 03 '5:9' 00 01  5D  00 02 54 03 'Hi' 00 01
		 00 11 4A  46 03 '4' 00 01  4B C3 16 'MIME-Version: 1.0' 0D 0A 0D 0A 'x' 01  01
		 00 16 49 C3 10 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 01
		 01 01 01 01 01 01`,
	},
	{
		// [MS-ASCMD] Ping response, Status 2 with one changed folder.
		"Ping response",
		NewElem("Ping", "Ping", NewText("Ping", "Status", "2"),
			NewElem("Ping", "Folders", NewText("Ping", "Folder", "5"))),
		"03 01 6A 00  00 0D 45  47 03 '2' 00 01  49 4A 03 '5' 00 01 01  01",
	},
	{
		// Settings UserInformation Get: an element without content.
		"Settings request with an empty element",
		NewElem("Settings", "Settings", NewElem("Settings", "UserInformation", NewElem("Settings", "Get"))),
		"03 01 6A 00  00 12 45 5D 07 01 01",
	},
	{
		// Opaque longer than 127 bytes: a two-byte mb_u_int32 length (WBXML 1.3 §5.1).
		"SendMail with 200 bytes of MIME",
		NewElem("ComposeMail", "SendMail", NewOpaque("ComposeMail", "Mime", bytes.Repeat([]byte{'m'}, 200))),
		"03 01 6A 00  00 15 45 50 C3 81 48 '" + strings.Repeat("m", 200) + "' 01 01",
	},
	{
		"empty opaque and UTF-8 text",
		NewElem("ItemOperations", "ItemOperations", NewOpaque("ItemOperations", "Data", nil),
			NewText("ItemOperations", "Status", "Grüße ✓")),
		"03 01 6A 00  00 14 45 4C C3 00 01 4D 03 'Grüße ✓' 00 01 01",
	},
}

func TestKnownDocuments(t *testing.T) {
	for _, tc := range knownDocs {
		t.Run(tc.name, func(t *testing.T) {
			want := wb(t, tc.wbx)
			got, err := Encode(tc.tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Encode:\n got % X\nwant % X", got, want)
			}
			dec, err := Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(dec, tc.tree) {
				t.Errorf("Decode:\n%s\nwant\n%s", dec.XML(), tc.tree.XML())
			}
			back, err := ParseXML([]byte(tc.tree.XML()))
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(back, tc.tree) {
				t.Errorf("ParseXML(XML()):\n%s\nwant\n%s", back.XML(), tc.tree.XML())
			}
		})
	}
}

// TestDecodeAccepts covers input Encode never writes but Decode reads.
func TestDecodeAccepts(t *testing.T) {
	ping := NewElem("Ping", "Ping")
	status := func(s string) *Node { return NewElem("Ping", "Ping", NewText("Ping", "Status", s)) }
	for _, tc := range []struct {
		name, wbx string
		want      *Node
	}{
		{"string table skipped", "03 01 6A 03 'ab' 00  00 0D 05", ping},
		{"version 1.2, charset unspecified", "02 01 00 00  00 0D 05", ping},
		{"multi-byte public id", "03 81 01 6A 00  00 0D 05", ping},
		{"content bit, no content", "03 01 6A 00  00 0D 45 01", ping},
		{"inline strings joined", "03 01 6A 00  00 0D 45 47 03 'a' 00 03 'b' 00 01 01", status("ab")},
		{"empty inline string", "03 01 6A 00  00 0D 45 47 03 00 01 01", status("")},
		{"redundant page switches", "03 01 6A 00  00 00 00 0D 45 00 0D 47 03 '1' 00 00 0D 01 00 0D 01 00 0D", status("1")},
		{"opaque in two parts", "03 01 6A 00  00 15 45 50 C3 01 'a' C3 01 'b' 01 01",
			NewElem("ComposeMail", "SendMail", NewOpaque("ComposeMail", "Mime", []byte("ab")))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(wb(t, tc.wbx))
			if err != nil {
				t.Fatal(err)
			}
			if !Equal(got, tc.want) {
				t.Errorf("got\n%s\nwant\n%s", got.XML(), tc.want.XML())
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	deep := "03 01 6A 00 00 07 " + strings.Repeat("56 ", 100) + strings.Repeat("01 ", 100)
	for _, tc := range []struct {
		name, wbx, msg string
	}{
		{"empty", "", "unexpected end"},
		{"header only", "03 01 6A 00", "no root element"},
		{"truncated header", "03 01", "unexpected end"},
		{"version 1.4", "04 01 6A 00 45 01", "version"},
		{"public id in string table", "03 00 00 6A 00 45 01", "public identifier"},
		{"charset latin-1", "03 01 04 00 45 01", "charset"},
		{"string table past end", "03 01 6A 10 'ab'", "string table"},
		{"attributes", "03 01 6A 00 C5 01 01", "attributes"},
		{"unknown code page", "03 01 6A 00 00 1A 45 01", "unknown code page 26"},
		{"unknown token", "03 01 6A 00 51 01", "unknown token 0x11"},
		{"literal tag", "03 01 6A 00 04 00", "global token"},
		{"STR_T", "03 01 6A 00 45 83 00 01", "not used by EAS"},
		{"entity", "03 01 6A 00 45 02 41 01", "not used by EAS"},
		{"processing instruction", "03 01 6A 00 45 43 01", "not used by EAS"},
		{"extension", "03 01 6A 00 45 C0 01", "not used by EAS"},
		{"unterminated string", "03 01 6A 00 45 03 'abc'", "unterminated"},
		{"opaque past end", "03 01 6A 00 00 15 45 50 C3 8F FF FF FF 7F 'ab' 01 01", "runs past the end"},
		{"length overflows 32 bits", "03 01 6A 00 00 15 45 50 C3 FF FF FF FF 7F 01 01", "overflows"},
		{"length longer than 5 bytes", "03 01 6A 00 00 15 45 50 C3 80 80 80 80 80 00 01 01", "longer than 5"},
		{"missing END", "03 01 6A 00 45 5C", "unexpected end"},
		{"trailing bytes", "03 01 6A 00 05 05", "trailing"},
		{"text then child", "03 01 6A 00 45 03 'a' 00 4E 03 '1' 00 01 01", "mixes"},
		{"child then text", "03 01 6A 00 45 0E 03 'a' 00 01", "mixes"},
		{"opaque then text", "03 01 6A 00 45 C3 01 'a' 03 'b' 00 01", "mixes"},
		{"text then opaque", "03 01 6A 00 45 03 'b' 00 C3 01 'a' 01", "mixes"},
		{"switch to nothing", "03 01 6A 00 00", "unexpected end"},
		{"too deep", deep, "nesting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(wb(t, tc.wbx))
			if err == nil {
				t.Fatalf("decoded %s", got.XML())
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	doc := wb(t, "03 01 6A 00 00 0D 45 49 4A 03 '1' 00 01 4A 03 '2' 00 01 4A 03 '3' 00 01 01 01")
	if _, err := DecodeLimits(doc, Limits{MaxNodes: 4}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxNodes 4: err = %v, want ErrLimit", err)
	}
	if _, err := DecodeLimits(doc, Limits{MaxNodes: 5}); err != nil {
		t.Errorf("MaxNodes 5: %v", err)
	}
	if _, err := DecodeLimits(doc, Limits{MaxDepth: 2}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxDepth 2: err = %v, want ErrLimit", err)
	}
	if _, err := DecodeLimits(doc, Limits{MaxDepth: 3}); err != nil {
		t.Errorf("MaxDepth 3: %v", err)
	}
	if _, err := DecodeLimits(doc, Limits{MaxSize: len(doc) - 1}); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxSize: err = %v, want ErrLimit", err)
	}
	var se *SyntaxError
	if _, err := Decode(wb(t, "03 01 6A 00 51 01")); !errors.As(err, &se) || se.Offset != 4 {
		t.Errorf("unknown token: err = %#v, want a SyntaxError at offset 4", err)
	}
}

func TestEncodeRejects(t *testing.T) {
	deep := NewElem("AirSync", "Sync")
	for n, i := deep, 0; i < 60; i++ {
		c := NewElem("AirSync", "Sync")
		n.Add(c)
		n = c
	}
	for _, tc := range []struct {
		name string
		tree *Node
		msg  string
	}{
		{"nil", nil, "nil root"},
		{"unknown namespace", NewElem("Exchange", "Sync"), "unknown namespace"},
		{"unknown tag", NewElem("AirSync", "Synch"), `no tag "Synch"`},
		{"tag of another page", NewElem("AirSync", "FolderSync"), "no tag"},
		{"text and children", &Node{Space: "AirSync", Tag: "Sync", Text: "x", Children: []*Node{NewElem("AirSync", "Add")}}, "mixes"},
		{"text and opaque", &Node{Space: "AirSync", Tag: "Sync", Text: "x", Opaque: []byte{}}, "mixes"},
		{"NUL in text", NewText("AirSync", "SyncKey", "a\x00b"), "NUL"},
		{"nil child", NewElem("AirSync", "Sync", nil), "nil child"},
		{"too deep", deep, "deeper"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Encode(tc.tree)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestTables(t *testing.T) {
	if PageName(0) != "AirSync" || PageName(6) != "GetItemEstimate" || PageName(16) != "GAL" || PageName(25) != "Find" || PageName(26) != "" {
		t.Error("page names")
	}
	if p, ok := PageOf("ItemOperations"); !ok || p != 20 {
		t.Error("PageOf(ItemOperations)")
	}
	if p, tok, ok := Token("Email2", "ConversationId"); !ok || p != 22 || tok != 0x09 {
		t.Error("Token(Email2, ConversationId)")
	}
	if TagName(0, 0x1D) != "ApplicationData" || TagName(0, 0x11) != "" || TagName(30, 5) != "" || TagName(0, 0x45) != "" {
		t.Error("TagName")
	}
	if tags := Tags(13); strings.Join(tags, " ") != "Ping AutdState Status HeartbeatInterval Folders Folder Id Class MaxFolders" {
		t.Errorf("Tags(Ping) = %v", tags)
	}
	for p := byte(0); p < NumPages; p++ {
		if len(Tags(p)) == 0 {
			t.Errorf("page %d has no tags", p)
		}
	}
}

func TestNodeHelpers(t *testing.T) {
	doc := knownDocs[1].tree
	coll := doc.Path("Collections", "Collection")
	if coll.ChildText("SyncKey") != "2" || coll.ChildText("AirSync:Class") != "Contacts" {
		t.Error("ChildText")
	}
	app := coll.Path("Commands", "Add", "ApplicationData")
	if app.Child("Contacts:FileAs").Text != "Funk, Don" || app.Child("Email:FileAs") != nil {
		t.Error("qualified Child")
	}
	if !app.Has("AirSyncBase:Body") || app.Has("Body:Type") {
		t.Error("Has")
	}
	if len(app.All("Body")) != 1 || len(coll.All("Nothing")) != 0 {
		t.Error("All")
	}
	var none *Node
	if none.Child("x") != nil || none.ChildText("x") != "" || none.Path("a", "b") != nil || none.Name() != "" || none.Is("x") {
		t.Error("nil-safe helpers")
	}
	if doc.Path("Collections", "Nope", "Collection") != nil {
		t.Error("Path through a missing step")
	}
	if Equal(NewOpaque("AirSyncBase", "Data", nil), NewElem("AirSyncBase", "Data")) {
		t.Error("empty opaque equals empty element")
	}
	if !Equal(&Node{Space: "Ping", Tag: "Ping", Children: []*Node{}}, NewElem("Ping", "Ping")) {
		t.Error("nil and empty Children differ")
	}
}
