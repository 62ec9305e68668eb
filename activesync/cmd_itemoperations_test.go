package activesync

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// testAttachment is the decoded content of the attachment of attachmentMessage: bytes of
// every value, long enough that ranges cut it in several places.
var testAttachment = func() []byte {
	b := make([]byte, 3000)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	return b
}()

// attachmentMessage is a multipart/mixed message whose part 2 is testAttachment in
// base64 (76-character lines, as mailers write it).
func attachmentMessage(subject string) string {
	enc := base64.StdEncoding.EncodeToString(testAttachment)
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	lines.WriteString(enc + "\r\n")
	return "From: Bob <bob@example.org>\r\nTo: Alice <alice@example.org>\r\nSubject: " + subject + "\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + lines.String() + "--b1--\r\n"
}

// fetchAttachmentXML is an ItemOperations request fetching one FileReference, with a
// Range when rng is not empty.
func fetchAttachmentXML(ref, rng string) string {
	opts := ""
	if rng != "" {
		opts = "<Options><Range>" + rng + "</Range></Options>"
	}
	return `<ItemOperations xmlns="ItemOperations" xmlns:airsyncbase="AirSyncBase"><Fetch><Store>Mailbox</Store>` +
		`<airsyncbase:FileReference>` + ref + `</airsyncbase:FileReference>` + opts + `</Fetch></ItemOperations>`
}

// fetchStatus is the Status of the first Fetch of an ItemOperations response.
func fetchStatus(t *testing.T, r reply) string {
	t.Helper()
	if r.status != http.StatusOK || r.body == nil {
		t.Fatalf("ItemOperations: HTTP %d %q", r.status, r.raw)
	}
	if got := r.body.ChildText("Status"); got != "1" {
		t.Fatalf("ItemOperations global Status %s\n%s", got, r.body.XML())
	}
	return r.body.Path("Response", "Fetch").ChildText("Status")
}

func TestItemOperationsFetchAttachment(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, attachmentMessage("with data"))
	ref := formatFileRef(d.FolderID, d.ItemID, "2")

	r := e.do(call{cmd: "ItemOperations", xml: fetchAttachmentXML(ref, "")})
	if st := fetchStatus(t, r); st != "1" {
		t.Fatalf("Fetch Status %s\n%s", st, r.body.XML())
	}
	validate(t, r.body, "ItemOperationsResponse.xsd")
	fetch := r.body.Path("Response", "Fetch")
	if got := fetch.ChildText("AirSyncBase:FileReference"); got != ref {
		t.Errorf("FileReference %q, want %q", got, ref)
	}
	props := fetch.Child("Properties")
	if got := props.ChildText("AirSyncBase:ContentType"); got != "application/octet-stream" {
		t.Errorf("ContentType %q", got)
	}
	if got := props.ChildText("Total"); got != strconv.Itoa(len(testAttachment)) {
		t.Errorf("Total %s, want %d", got, len(testAttachment))
	}
	if props.Has("Range") {
		t.Error("Range answered though none was asked")
	}
	data, err := base64.StdEncoding.DecodeString(props.ChildText("Data"))
	if err != nil || !bytes.Equal(data, testAttachment) {
		t.Fatalf("Data is not the decoded attachment (%d bytes, err %v)", len(data), err)
	}
}

func TestItemOperationsFetchAttachmentRange(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, attachmentMessage("ranges"))
	ref := formatFileRef(d.FolderID, d.ItemID, "2")
	n := len(testAttachment)
	for _, tc := range []struct {
		rng, status, answered string
		first, last           int // inclusive, when status is 1
	}{
		{"0-1023", "1", "0-1023", 0, 1023},
		{"1024-2047", "1", "1024-2047", 1024, 2047},
		{"2990-999999", "1", "2990-2999", 2990, n - 1}, // cut at the end
		{"2999-2999", "1", "2999-2999", n - 1, n - 1},
		{"3000-3100", "8", "", 0, 0}, // starts after the end
		{"9-3", "8", "", 0, 0},       // reversed
		{"abc", "2", "", 0, 0},       // not a range
		{"1234567890-1", "2", "", 0, 0},
	} {
		t.Run(tc.rng, func(t *testing.T) {
			r := e.do(call{cmd: "ItemOperations", xml: fetchAttachmentXML(ref, tc.rng)})
			if st := fetchStatus(t, r); st != tc.status {
				t.Fatalf("Range %s: Status %s, want %s\n%s", tc.rng, st, tc.status, r.body.XML())
			}
			validate(t, r.body, "ItemOperationsResponse.xsd")
			if tc.status != "1" {
				if r.body.Path("Response", "Fetch").Has("Properties") {
					t.Error("Properties in a failed Fetch")
				}
				return
			}
			props := r.body.Path("Response", "Fetch", "Properties")
			if got := props.ChildText("Range"); got != tc.answered {
				t.Errorf("Range answered %q, want %q", got, tc.answered)
			}
			if got := props.ChildText("Total"); got != strconv.Itoa(n) {
				t.Errorf("Total %s", got)
			}
			data, err := base64.StdEncoding.DecodeString(props.ChildText("Data"))
			if err != nil || !bytes.Equal(data, testAttachment[tc.first:tc.last+1]) {
				t.Errorf("Data is not bytes %d-%d (%d bytes, err %v)", tc.first, tc.last, len(data), err)
			}
		})
	}
}

// splitMultipart reads a MultiPartResponse ([MS-ASCMD] 2.2.1.10.1.1) independently of
// encodeMultipart: PartsCount, (Offset, Length) pairs, little-endian 32-bit.
func splitMultipart(t *testing.T, b []byte) [][]byte {
	t.Helper()
	if len(b) < 4 {
		t.Fatalf("multipart body of %d bytes", len(b))
	}
	n := int(binary.LittleEndian.Uint32(b))
	if 4+8*n > len(b) {
		t.Fatalf("multipart: %d parts in %d bytes", n, len(b))
	}
	parts := make([][]byte, n)
	end := 4 + 8*n
	for i := range parts {
		off := int(binary.LittleEndian.Uint32(b[4+8*i:]))
		l := int(binary.LittleEndian.Uint32(b[8+8*i:]))
		if off != end || off+l > len(b) {
			t.Fatalf("multipart part %d at %d+%d, expected at %d in %d bytes", i, off, l, end, len(b))
		}
		parts[i] = b[off : off+l]
		end = off + l
	}
	if end != len(b) {
		t.Fatalf("multipart: %d trailing bytes", len(b)-end)
	}
	return parts
}

func TestItemOperationsMultipart(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, attachmentMessage("multipart"))
	ref := formatFileRef(d.FolderID, d.ItemID, "2")
	xml := `<ItemOperations xmlns="ItemOperations" xmlns:airsyncbase="AirSyncBase">` +
		`<Fetch><Store>Mailbox</Store><airsyncbase:FileReference>` + ref + `</airsyncbase:FileReference></Fetch>` +
		`<Fetch><Store>Mailbox</Store><airsyncbase:FileReference>` + ref + `</airsyncbase:FileReference><Options><Range>100-199</Range></Options></Fetch>` +
		`<Fetch><Store>Mailbox</Store><airsyncbase:FileReference>1:2:3</airsyncbase:FileReference></Fetch>` +
		`</ItemOperations>`
	check := func(t *testing.T, r reply) {
		t.Helper()
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/vnd.ms-sync.multipart" {
			t.Fatalf("HTTP %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
		}
		parts := splitMultipart(t, r.raw)
		if len(parts) != 3 {
			t.Fatalf("%d parts, want the WBXML and two attachments", len(parts))
		}
		doc, err := wbxml.Decode(parts[0])
		if err != nil {
			t.Fatalf("part 0 is not WBXML: %v", err)
		}
		validate(t, doc, "ItemOperationsResponse.xsd")
		fetches := doc.Child("Response").All("Fetch")
		if len(fetches) != 3 {
			t.Fatalf("%d Fetch responses\n%s", len(fetches), doc.XML())
		}
		want := [][]byte{testAttachment, testAttachment[100:200]}
		for i, f := range fetches[:2] {
			props := f.Child("Properties")
			if f.ChildText("Status") != "1" || props.Has("Data") {
				t.Fatalf("Fetch %d: %s", i, f.XML())
			}
			idx, err := strconv.Atoi(props.ChildText("Part"))
			if err != nil || idx < 1 || idx >= len(parts) {
				t.Fatalf("Fetch %d: Part %q", i, props.ChildText("Part"))
			}
			if !bytes.Equal(parts[idx], want[i]) {
				t.Errorf("Fetch %d: part %d holds %d bytes, not the attachment's", i, idx, len(parts[idx]))
			}
		}
		if st := fetches[2].ChildText("Status"); st != "15" {
			t.Errorf("unknown attachment in a multipart request: Status %s", st)
		}
	}
	t.Run("header", func(t *testing.T) {
		check(t, e.do(call{cmd: "ItemOperations", xml: xml, header: map[string]string{"MS-ASAcceptMultiPart": "T"}}))
	})
	t.Run("gzip", func(t *testing.T) {
		check(t, e.do(call{cmd: "ItemOperations", xml: xml, header: map[string]string{"MS-ASAcceptMultiPart": "T", "Accept-Encoding": "gzip"}}))
	})
	t.Run("F is inline", func(t *testing.T) {
		r := e.do(call{cmd: "ItemOperations", xml: xml, header: map[string]string{"MS-ASAcceptMultiPart": "F"}})
		if r.body == nil || !r.body.Path("Response", "Fetch", "Properties").Has("Data") {
			t.Fatalf("MS-ASAcceptMultiPart: F did not answer inline: %q", r.header.Get("Content-Type"))
		}
	})
}

func TestItemOperationsFetchAttachmentNotFound(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	inbox := e.folderByRole(store.RoleInbox)
	mine := e.deliver(inbox.ID, attachmentMessage("mine"))

	// Another account's message: its FileReference is well formed and names a real
	// attachment, but not one Alice can reach (§2 invariant 7).
	_, theirs := e.othersMessage("theirs")
	for name, ref := range map[string]string{
		"other account":        formatFileRef(theirs.FolderID, theirs.ItemID, "2"),
		"other account folder": formatFileRef(theirs.FolderID, mine.ItemID, "2"),
		"wrong folder":         formatFileRef(e.folderByRole(store.RoleTrash).ID, mine.ItemID, "2"),
		"no such part":         formatFileRef(mine.FolderID, mine.ItemID, "9"),
		"below a leaf part":    formatFileRef(mine.FolderID, mine.ItemID, "1.1"),
		"no such item":         formatFileRef(mine.FolderID, mine.ItemID+1000, "2"),
		"malformed":            "garbage",
		"no part":              formatFileRef(mine.FolderID, mine.ItemID, ""),
		"bad part":             fmt.Sprintf("%d:%d:2..1", mine.FolderID, mine.ItemID),
		"negative":             "-1:-2:2",
		"empty":                "",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(call{cmd: "ItemOperations", xml: fetchAttachmentXML(ref, "")})
			if st := fetchStatus(t, r); st != "15" {
				t.Fatalf("FileReference %q: Status %s, want 15\n%s", ref, st, r.body.XML())
			}
			validate(t, r.body, "ItemOperationsResponse.xsd")
		})
	}
}

func TestItemOperationsOtherOperations(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	inbox := e.folderByRole(store.RoleInbox)
	d := e.deliver(inbox.ID, attachmentMessage("other"))
	for _, tc := range []struct {
		name, xml, status string
	}{
		{"document library", `<ItemOperations xmlns="ItemOperations" xmlns:documentlibrary="DocumentLibrary"><Fetch><Store>DocumentLibrary</Store>` +
			`<documentlibrary:LinkId>\\server\share\file.txt</documentlibrary:LinkId></Fetch></ItemOperations>`, "9"},
		{"LongId", `<ItemOperations xmlns="ItemOperations" xmlns:search="Search"><Fetch><Store>Mailbox</Store>` +
			`<search:LongId>RgAAAAAaz</search:LongId></Fetch></ItemOperations>`, "6"},
		{"nothing to fetch", `<ItemOperations xmlns="ItemOperations"><Fetch><Store>Mailbox</Store></Fetch></ItemOperations>`, "2"},
		{"item of another folder", `<ItemOperations xmlns="ItemOperations" xmlns:airsync="AirSync"><Fetch><Store>Mailbox</Store>` +
			`<airsync:CollectionId>` + folderServerID(e.folderByRole(store.RoleTrash).ID) + `</airsync:CollectionId>` +
			`<airsync:ServerId>` + (&store.Item{ID: d.ItemID, FolderID: d.FolderID}).ServerID() + `</airsync:ServerId></Fetch></ItemOperations>`, "6"},
		{"malformed ServerId", `<ItemOperations xmlns="ItemOperations" xmlns:airsync="AirSync"><Fetch><Store>Mailbox</Store>` +
			`<airsync:CollectionId>` + folderServerID(inbox.ID) + `</airsync:CollectionId><airsync:ServerId>x</airsync:ServerId></Fetch></ItemOperations>`, "6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(call{cmd: "ItemOperations", xml: tc.xml})
			if st := fetchStatus(t, r); st != tc.status {
				t.Fatalf("Status %s, want %s\n%s", st, tc.status, r.body.XML())
			}
			validate(t, r.body, "ItemOperationsResponse.xsd")
		})
	}

	t.Run("conversation move", func(t *testing.T) {
		r := e.do(call{cmd: "ItemOperations", xml: `<ItemOperations xmlns="ItemOperations" xmlns:airsync="AirSync"><Move>` +
			`<ConversationId>AAQkAGQ=</ConversationId><DstFldId>` + folderServerID(inbox.ID) + `</DstFldId></Move></ItemOperations>`})
		if r.body == nil || r.body.Path("Response", "Move").ChildText("Status") != "156" {
			t.Fatalf("conversation Move: %v", r.body)
		}
		validate(t, r.body, "ItemOperationsResponse.xsd")
	})
	t.Run("empty request", func(t *testing.T) {
		r := e.do(call{cmd: "ItemOperations", xml: `<ItemOperations xmlns="ItemOperations"/>`})
		if r.body == nil || r.body.ChildText("Status") != "2" {
			t.Fatalf("empty ItemOperations: %v", r.body)
		}
		validate(t, r.body, "ItemOperationsResponse.xsd")
	})
}

func TestItemOperationsEmptyFolderContents(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	p := e.principal()
	trash := e.folderByRole(store.RoleTrash)
	inbox := e.folderByRole(store.RoleInbox)
	var ids []int64
	for i := range 3 {
		ids = append(ids, e.deliver(trash.ID, attachmentMessage(fmt.Sprintf("deleted %d", i))).ItemID)
	}
	kept := e.deliver(inbox.ID, attachmentMessage("kept"))
	sub, err := e.st.CreateFolder(ctx, p, trash.ID, "Old project", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	subsub, err := e.st.CreateFolder(ctx, p, sub.ID, "Older", store.ClassMail)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(sub.ID, attachmentMessage("in a subfolder"))

	// The device holds the Trash items and syncs the subfolder.
	dev, err := e.st.Device(ctx, p, "TESTDEVICE")
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.SyncCommit(ctx, p, dev, func(x *store.SyncTx) error {
		for _, f := range []int64{trash.ID, sub.ID} {
			if err := x.PutCollection(store.SyncCollection{FolderID: f, Generation: 1}, -1); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if err := x.SetKnown(trash.ID, id, 1); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	empty := func(cid string, subfolders bool) reply {
		opts := ""
		if subfolders {
			opts = "<Options><DeleteSubFolders/></Options>"
		}
		return e.do(call{cmd: "ItemOperations", xml: `<ItemOperations xmlns="ItemOperations" xmlns:airsync="AirSync"><EmptyFolderContents>` +
			`<airsync:CollectionId>` + cid + `</airsync:CollectionId>` + opts + `</EmptyFolderContents></ItemOperations>`})
	}
	// Without DeleteSubFolders the subfolders stay ([MS-ASCMD] 2.2.3.44).
	r := empty(folderServerID(trash.ID), false)
	if r.body == nil || r.body.Path("Response", "EmptyFolderContents").ChildText("Status") != "1" {
		t.Fatalf("EmptyFolderContents: %v", r.body)
	}
	validate(t, r.body, "ItemOperationsResponse.xsd")
	if got := r.body.Path("Response", "EmptyFolderContents").ChildText("AirSync:CollectionId"); got != folderServerID(trash.ID) {
		t.Errorf("CollectionId %q", got)
	}
	if uids, err := e.st.FolderUIDs(ctx, p, trash.ID); err != nil || len(uids) != 0 {
		t.Fatalf("Trash still holds %v (%v)", uids, err)
	}
	known, err := e.st.Known(ctx, p, dev, trash.ID, ids)
	if err != nil || len(known) != 0 {
		t.Errorf("the device's known set still holds %v (%v)", known, err)
	}
	if _, err := e.st.Folder(ctx, p, sub.ID); err != nil {
		t.Fatalf("subfolder deleted without DeleteSubFolders: %v", err)
	}
	if uids, _ := e.st.FolderUIDs(ctx, p, inbox.ID); len(uids) != 1 {
		t.Errorf("Inbox touched: %v", uids)
	}
	if _, err := e.st.GetItem(ctx, p, kept.ItemID); err != nil {
		t.Errorf("Inbox item gone: %v", err)
	}

	r = empty(folderServerID(trash.ID), true)
	if r.body == nil || r.body.Path("Response", "EmptyFolderContents").ChildText("Status") != "1" {
		t.Fatalf("EmptyFolderContents with DeleteSubFolders: %v", r.body)
	}
	for _, f := range []int64{sub.ID, subsub.ID} {
		if _, err := e.st.Folder(ctx, p, f); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("subfolder %d: %v, want deleted", f, err)
		}
	}
	if _, err := e.st.SyncCollection(ctx, p, dev, sub.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the device's state for the deleted subfolder survived: %v", err)
	}
	if _, err := e.st.Folder(ctx, p, trash.ID); err != nil {
		t.Errorf("Trash itself deleted: %v", err)
	}

	// Unknown and other accounts' folders are not found.
	bob := e.addUser("bob@example.org", "Bob")
	bobTrash, err := e.st.FolderByRole(ctx, store.Principal{AccountID: bob.ID}, store.RoleTrash)
	if err != nil {
		t.Fatal(err)
	}
	for _, cid := range []string{folderServerID(bobTrash.ID), "99999", "x"} {
		r := empty(cid, true)
		if st := r.body.Path("Response", "EmptyFolderContents").ChildText("Status"); st != "6" {
			t.Errorf("EmptyFolderContents of %q: Status %s, want 6", cid, st)
		}
		validate(t, r.body, "ItemOperationsResponse.xsd")
	}
}

func TestGetAttachment(t *testing.T) {
	e := newTestEnv(t)
	e.version = "12.1"
	e.provisioned("TESTDEVICE")
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, attachmentMessage("legacy"))
	get := func(name string, version string) reply {
		return e.do(call{cmd: "GetAttachment", version: version, query: "&AttachmentName=" + url.QueryEscape(name)})
	}
	r := get(formatFileRef(d.FolderID, d.ItemID, "2"), "")
	if r.status != http.StatusOK || !bytes.Equal(r.raw, testAttachment) {
		t.Fatalf("GetAttachment: HTTP %d, %d bytes", r.status, len(r.raw))
	}
	if got := r.header.Get("Content-Type"); got != "application/octet-stream" {
		t.Errorf("Content-Type %q", got)
	}
	if r := get(formatFileRef(d.FolderID, d.ItemID, "7"), ""); r.status != http.StatusInternalServerError {
		t.Errorf("missing attachment: HTTP %d, want 500", r.status)
	}
	if r := get("nonsense", ""); r.status != http.StatusBadRequest {
		t.Errorf("malformed AttachmentName: HTTP %d, want 400", r.status)
	}
	// GetAttachment is gone from 14.0 on ([MS-ASCMD] 2.2.1.7).
	if r := get(formatFileRef(d.FolderID, d.ItemID, "2"), "14.1"); r.status != http.StatusBadRequest {
		t.Errorf("GetAttachment at 14.1: HTTP %d, want 400", r.status)
	}
}

func TestParseRange(t *testing.T) {
	for in, want := range map[string]error{
		"0-0": nil, "0-1023": nil, "999999999-999999999": nil, "007-9": nil,
		"5-4": errReversedRange, "": errBadRange, "-": errBadRange, "1-": errBadRange, "-1": errBadRange,
		"1000000000-1": errBadRange, "1-2-3": errBadRange, " 1-2": errBadRange, "+1-2": errBadRange, "1–2": errBadRange,
	} {
		if _, err := parseRange(in); !errors.Is(err, want) {
			t.Errorf("parseRange(%q) = %v, want %v", in, err, want)
		}
	}
	r, _ := parseRange("10-20")
	if got, ok := r.clip(15); !ok || got != (byteRange{10, 14}) {
		t.Errorf("clip(15) = %v %v", got, ok)
	}
	if _, ok := r.clip(10); ok {
		t.Error("a range starting at the end was accepted")
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"0-1023", "1-0", "999999999-999999999", "", "-", "12", "0-", "00-01", "1-2-3", "٣-٤"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, s string, total int64) {
		r, err := parseRange(s)
		if err != nil {
			return
		}
		if r.first < 0 || r.first > r.last || r.last > 999999999 {
			t.Fatalf("parseRange(%q) = %+v", s, r)
		}
		// The canonical form reads back as the same range.
		if again, err := parseRange(r.String()); err != nil || again != r {
			t.Fatalf("parseRange(%q) = %v, but its String %q reads as %v, %v", s, r, r.String(), again, err)
		}
		if total < 0 {
			return
		}
		if got, ok := r.clip(total); ok && (got.first != r.first || got.last >= total || got.last > r.last || got.first > got.last) {
			t.Fatalf("%v clipped to %d bytes: %v", r, total, got)
		}
	})
}

// fetchItemXML is an ItemOperations Fetch of an item by CollectionId and ServerId with
// one body preference.
func fetchItemXML(collectionID, serverID string, bodyType int) string {
	return `<ItemOperations xmlns="ItemOperations" xmlns:airsync="AirSync" xmlns:airsyncbase="AirSyncBase"><Fetch><Store>Mailbox</Store>` +
		`<airsync:CollectionId>` + collectionID + `</airsync:CollectionId><airsync:ServerId>` + serverID + `</airsync:ServerId>` +
		`<Options><airsyncbase:BodyPreference><airsyncbase:Type>` + strconv.Itoa(bodyType) + `</airsyncbase:Type></airsyncbase:BodyPreference></Options>` +
		`</Fetch></ItemOperations>`
}

func TestItemOperationsFetchItem(t *testing.T) {
	for _, v := range []string{"12.1", "14.1", "16.1"} {
		t.Run(v, func(t *testing.T) { testFetchItem(t, v) })
	}
}

func testFetchItem(t *testing.T, version string) {
	e := newTestEnv(t)
	e.version = version
	e.provisioned("TESTDEVICE")
	ctx := context.Background()
	inbox := e.folderByRole(store.RoleInbox)
	d := e.deliver(inbox.ID, attachmentMessage("fetch me"))
	cid, sid := folderServerID(inbox.ID), (&store.Item{ID: d.ItemID, FolderID: d.FolderID}).ServerID()

	r := e.do(call{cmd: "ItemOperations", xml: fetchItemXML(cid, sid, 1)})
	if st := fetchStatus(t, r); st != "1" {
		t.Fatalf("item Fetch: Status %s\n%s", st, r.body.XML())
	}
	validate(t, r.body, "ItemOperationsResponse.xsd")
	fetch := r.body.Path("Response", "Fetch")
	if fetch.ChildText("AirSync:CollectionId") != cid || fetch.ChildText("AirSync:ServerId") != sid || fetch.ChildText("AirSync:Class") != "Email" {
		t.Errorf("Fetch identifies %q %q %q", fetch.ChildText("AirSync:CollectionId"), fetch.ChildText("AirSync:ServerId"), fetch.ChildText("AirSync:Class"))
	}
	props := fetch.Child("Properties")
	if got := props.ChildText("Email:Subject"); got != "fetch me" {
		t.Errorf("Subject %q", got)
	}
	body := props.Child("AirSyncBase:Body")
	if body.ChildText("Type") != "1" || !strings.Contains(body.ChildText("Data"), "See attached.") {
		t.Errorf("plain-text Body: %s", body.XML())
	}
	// The FileReference it lists fetches the attachment.
	ref := props.Path("AirSyncBase:Attachments", "AirSyncBase:Attachment").ChildText("AirSyncBase:FileReference")
	r = e.do(call{cmd: "ItemOperations", xml: fetchAttachmentXML(ref, "")})
	if st := fetchStatus(t, r); st != "1" {
		t.Fatalf("Fetch of the listed FileReference %q: Status %s", ref, st)
	}
	if data, _ := base64.StdEncoding.DecodeString(r.body.Path("Response", "Fetch", "Properties").ChildText("Data")); !bytes.Equal(data, testAttachment) {
		t.Error("the listed FileReference does not fetch the attachment")
	}

	// Multipart: the body's data moves to a part ([MS-ASCMD] 2.2.3.130).
	r = e.do(call{cmd: "ItemOperations", xml: fetchItemXML(cid, sid, 2), header: map[string]string{"MS-ASAcceptMultiPart": "T"}})
	parts := splitMultipart(t, r.raw)
	doc, err := wbxml.Decode(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	validate(t, doc, "ItemOperationsResponse.xsd")
	mbody := doc.Path("Response", "Fetch", "Properties", "AirSyncBase:Body")
	idx, err := strconv.Atoi(mbody.ChildText("ItemOperations:Part"))
	if err != nil || mbody.Has("Data") || idx < 1 || idx >= len(parts) || !strings.Contains(string(parts[idx]), "See attached.") {
		t.Fatalf("multipart item Fetch: Body %s, %d parts", mbody.XML(), len(parts))
	}

	// Not found: another account's item, a deleted one; not supported: a contact.
	_, theirs := e.othersMessage("bob's")
	contacts := e.folderByRole(store.RoleContacts)
	card, err := e.st.AppendPIM(ctx, e.principal(), contacts.ID, store.PIMItem{Content: "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c1\r\nFN:Carol\r\nEND:VCARD\r\n", ICalUID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	gone := e.deliver(inbox.ID, attachmentMessage("gone"))
	if _, err := e.st.Delete(ctx, e.principal(), store.Selector{FolderID: inbox.ID, IDs: []int64{gone.ItemID}}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ cid, sid, status string }{
		"other account": {folderServerID(theirs.FolderID), (&store.Item{ID: theirs.ItemID, FolderID: theirs.FolderID}).ServerID(), "6"},
		"deleted":       {cid, (&store.Item{ID: gone.ItemID, FolderID: inbox.ID}).ServerID(), "6"},
		"contact":       {folderServerID(contacts.ID), (&store.Item{ID: card.ItemID, FolderID: contacts.ID}).ServerID(), "156"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(call{cmd: "ItemOperations", xml: fetchItemXML(tc.cid, tc.sid, 1)})
			if st := fetchStatus(t, r); st != tc.status {
				t.Fatalf("Status %s, want %s\n%s", st, tc.status, r.body.XML())
			}
			validate(t, r.body, "ItemOperationsResponse.xsd")
		})
	}
}

// The base64 query form asks for multipart with its Options parameter's AcceptMultiPart
// bit ([MS-ASHTTP] 2.2.1.1.1.1.3) instead of the header.
func TestItemOperationsMultipartBase64Query(t *testing.T) {
	e := newTestEnv(t)
	e.provisioned("TESTDEVICE")
	d := e.deliver(e.folderByRole(store.RoleInbox).ID, attachmentMessage("base64 query"))
	n, err := wbxml.ParseXML([]byte(fetchAttachmentXML(formatFileRef(d.FolderID, d.ItemID, "2"), "")))
	if err != nil {
		t.Fatal(err)
	}
	body, err := wbxml.Encode(n)
	if err != nil {
		t.Fatal(err)
	}
	// Version 16.1, ItemOperations (19), locale, DeviceId, policy key 1, DeviceType,
	// then Options (7) with AcceptMultiPart (0x02).
	q := []byte{161, 19, 0x09, 0x04, 10}
	q = append(q, "TESTDEVICE"...)
	q = append(q, 4, 1, 0, 0, 0, 9)
	q = append(q, "TestPhone"...)
	q = append(q, 7, 1, 0x02)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+Path+"?"+url.QueryEscape(base64Std(q)), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(e.email, e.password)
	req.Header.Set("Content-Type", wbxml.ContentType)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != multipartContentType {
		t.Fatalf("HTTP %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parts := splitMultipart(t, raw)
	if len(parts) != 2 || !bytes.Equal(parts[1], testAttachment) {
		t.Fatalf("%d parts; the attachment is not part 1", len(parts))
	}
}
