package activesync

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
)

func TestOptionsAdvertisesVersionsAndCommands(t *testing.T) {
	e := newTestEnv(t)
	r := e.do(call{})
	if r.status != http.StatusOK {
		t.Fatalf("OPTIONS: %d", r.status)
	}
	if got := r.header.Get("MS-ASProtocolVersions"); got != "12.1,14.0,14.1,16.0,16.1" {
		t.Errorf("MS-ASProtocolVersions = %q", got)
	}
	cmds := r.header.Get("MS-ASProtocolCommands")
	for _, c := range []string{"Sync", "FolderSync", "Ping", "Provision", "Settings", "ItemOperations", "SendMail"} {
		if !strings.Contains(","+cmds+",", ","+c+",") {
			t.Errorf("MS-ASProtocolCommands %q lacks %s", cmds, c)
		}
	}
	if r.header.Get("MS-Server-ActiveSync") == "" {
		t.Error("no MS-Server-ActiveSync header")
	}
}

func TestBadCredentialsChallenge(t *testing.T) {
	e := newTestEnv(t)
	r := e.do(call{cmd: "FolderSync", password: "wrong"})
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("wrong password: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
}

func TestProvisioningGate(t *testing.T) {
	e := newTestEnv(t)
	// 14.0+: the command's own response with Status 142 ([MS-ASPROV] 3.2.5.1.1).
	r := e.do(call{cmd: "FolderSync", policyKey: "-", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
	if r.status != http.StatusOK || r.body == nil || r.body.ChildText("Status") != "142" {
		t.Fatalf("unprovisioned 16.1 FolderSync: %d %v", r.status, r.body)
	}
	// 12.1: HTTP 449.
	r = e.do(call{cmd: "FolderSync", version: "12.1", policyKey: "-", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
	if r.status != 449 {
		t.Fatalf("unprovisioned 12.1 FolderSync: %d", r.status)
	}
	e.provisioned("TESTDEVICE")
	r = e.do(call{cmd: "FolderSync", policyKey: "7", xml: `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`})
	if r.body == nil || r.body.ChildText("Status") != "144" {
		t.Fatalf("wrong policy key: %d %v", r.status, r.body)
	}
}

func TestBase64Query(t *testing.T) {
	// [MS-ASHTTP] 2.2.1.1.1.1: version 141, Sync (0), locale, DeviceId "ABC", policy key 5,
	// DeviceType "WP", then ItemId (3) "5:7" and Options (7) SaveInSent.
	b := []byte{141, 0, 0x09, 0x04, 3, 'A', 'B', 'C', 4, 5, 0, 0, 0, 2, 'W', 'P', 3, 3, '5', ':', '7', 7, 1, 1}
	q, err := parseBase64Query(base64Std(b))
	if err != nil {
		t.Fatal(err)
	}
	if q.Cmd != "Sync" || q.DeviceID != "ABC" || q.PolicyKey != 5 || !q.HasPolicyKey || q.DeviceType != "WP" ||
		q.ItemID != "5:7" || !q.SaveInSent || q.Version != v141 {
		t.Fatalf("decoded %+v", q)
	}
	for n := range len(b) {
		if _, err := parseBase64Query(base64Std(b[:n])); err == nil && n < 16 {
			t.Errorf("truncated to %d bytes: accepted", n)
		}
	}
}

func TestProvisioningGateResponseValidates(t *testing.T) {
	e := newTestEnv(t)
	r := e.do(call{cmd: "Ping", policyKey: "-", xml: `<Ping xmlns="Ping"><HeartbeatInterval>60</HeartbeatInterval></Ping>`})
	validate(t, r.body, "PingResponse.xsd")
}

func TestFileRefRoundTrip(t *testing.T) {
	ref := formatFileRef(12, 345, "1.2")
	f, i, p, err := parseFileRef(ref)
	if err != nil || f != 12 || i != 345 || p != "1.2" {
		t.Fatalf("parseFileRef(%q) = %d %d %q %v", ref, f, i, p, err)
	}
	for _, bad := range []string{"", "12:345", "12:345:", "12:345:1..2", "12:345:.1", "x:345:1", "12:345:1a"} {
		if _, _, _, err := parseFileRef(bad); err == nil {
			t.Errorf("parseFileRef(%q) accepted", bad)
		}
	}
}

// recordingTB notes failures instead of failing, to test test helpers.
type recordingTB struct {
	testing.TB
	failed bool
}

func (r *recordingTB) Errorf(format string, args ...any) { r.failed = true }
func (r *recordingTB) Helper()                           {}

// TestValidateRejects: the schema check is able to fail (an element out of order, an
// unknown element), and passes what the schema allows.
func TestValidateRejects(t *testing.T) {
	good, err := wbxml.ParseXML([]byte(`<Ping xmlns="Ping"><Status>2</Status><Folders><Folder>5</Folder></Folders></Ping>`))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := wbxml.ParseXML([]byte(`<Ping xmlns="Ping"><Folders><Folder>5</Folder></Folders><Status>2</Status></Ping>`))
	if err != nil {
		t.Fatal(err)
	}
	r := &recordingTB{TB: t}
	validate(r, good, "PingResponse.xsd")
	if r.failed {
		t.Fatal("a valid Ping response was rejected")
	}
	validate(r, bad, "PingResponse.xsd")
	if !r.failed {
		t.Fatal("a Ping response with Status after Folders was accepted")
	}
}
