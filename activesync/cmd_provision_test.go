package activesync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// Provision requests as the clients send them.
const (
	provisionPhase1 = `<Provision xmlns="Provision"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`
	// Android at 14.1 and iOS at 16.1 send their DeviceInformation inside Provision.
	provisionPhase1WithInfo = `<Provision xmlns="Provision" xmlns:settings="Settings">
<settings:DeviceInformation><settings:Set>
<settings:Model>Pixel 8</settings:Model><settings:IMEI>356938035643809</settings:IMEI>
<settings:FriendlyName>Alice's phone</settings:FriendlyName><settings:OS>Android 14</settings:OS>
<settings:OSLanguage>en-US</settings:OSLanguage><settings:PhoneNumber>+15555550100</settings:PhoneNumber>
<settings:UserAgent>Android-EAS/14</settings:UserAgent><settings:EnableOutboundSMS>0</settings:EnableOutboundSMS>
<settings:MobileOperator>Example Mobile</settings:MobileOperator>
</settings:Set></settings:DeviceInformation>
<Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>`
	folderSyncInitial = `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`
)

func provisionAck(key string, status int) string {
	return fmt.Sprintf(`<Provision xmlns="Provision"><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><PolicyKey>%s</PolicyKey><Status>%d</Status></Policy></Policies></Provision>`, key, status)
}

func wipeAck(tag string, status int) string {
	return fmt.Sprintf(`<Provision xmlns="Provision"><%s><Status>%d</Status></%s></Provision>`, tag, status, tag)
}

// policyOf returns the Policy element of a Provision response.
func policyOf(t testing.TB, r reply) *wbxml.Node {
	t.Helper()
	if r.status != http.StatusOK || r.body == nil || !r.body.Is("Provision:Provision") {
		t.Fatalf("Provision: HTTP %d %v", r.status, r.body)
	}
	return r.body.Path("Policies", "Policy")
}

// provisionDevice runs both phases for a device and returns the final key.
func (e *testEnv) provisionDevice(device, version string) string {
	e.t.Helper()
	r := e.do(call{cmd: "Provision", device: device, version: version, policyKey: "0", xml: provisionPhase1})
	temp := policyOf(e.t, r).ChildText("PolicyKey")
	if temp == "" {
		e.t.Fatalf("phase 1: no temporary key: %v", r.body)
	}
	r = e.do(call{cmd: "Provision", device: device, version: version, policyKey: temp, xml: provisionAck(temp, 1)})
	final := policyOf(e.t, r).ChildText("PolicyKey")
	if final == "" {
		e.t.Fatalf("phase 2: no final key: %v", r.body)
	}
	return final
}

func (e *testEnv) storedDevice(id string) store.Device {
	e.t.Helper()
	d, err := e.st.Device(context.Background(), e.principal(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// gated says whether the provisioning gate refused a request (449, or Status 140/142/144).
func refusedByGate(r reply) bool {
	if r.status == 449 {
		return true
	}
	switch r.body.ChildText("Status") {
	case "140", "142", "144":
		return true
	}
	return false
}

// TestProvisionAndroid141 follows the Android Exchange client at 14.1: FolderSync is
// refused with Status 142, Provision phase 1 (with DeviceInformation) gives a temporary
// key, phase 2 the final key, and FolderSync then passes the gate.
func TestProvisionAndroid141(t *testing.T) {
	e := newTestEnv(t)
	e.version = "14.1"
	const dev = "androidc1234"
	r := e.do(call{cmd: "FolderSync", device: dev, policyKey: "-", xml: folderSyncInitial})
	if r.body.ChildText("Status") != "142" {
		t.Fatalf("unprovisioned FolderSync: %d %v", r.status, r.body)
	}

	r = e.do(call{cmd: "Provision", device: dev, policyKey: "0", xml: provisionPhase1WithInfo})
	validate(t, r.body, "ProvisionResponse.xsd")
	if got := r.body.Child("Settings:DeviceInformation").ChildText("Settings:Status"); got != "1" {
		t.Errorf("DeviceInformation Status = %q", got)
	}
	pol := policyOf(t, r)
	if r.body.ChildText("Status") != "1" || pol.ChildText("Status") != "1" || pol.ChildText("PolicyType") != policyTypeWBXML {
		t.Fatalf("phase 1: %v", r.body)
	}
	doc := pol.Path("Data", "EASProvisionDoc")
	if doc.ChildText("DevicePasswordEnabled") != "0" || doc.ChildText("AllowSimpleDevicePassword") != "1" ||
		doc.ChildText("RequireDeviceEncryption") != "0" || doc.ChildText("AttachmentsEnabled") != "1" {
		t.Errorf("the default policy requires something: %v", doc)
	}
	temp := pol.ChildText("PolicyKey")
	d := e.storedDevice(dev)
	if temp == "" || temp == "0" || strconv.FormatUint(uint64(d.PendingPolicyKey), 10) != temp || d.PolicyKey != 0 {
		t.Fatalf("temporary key %q, stored pending %d, key %d", temp, d.PendingPolicyKey, d.PolicyKey)
	}
	info := loadDeviceInformation(d.Info)
	if info.Model != "Pixel 8" || info.IMEI != "356938035643809" || info.FriendlyName != "Alice's phone" || info.OS != "Android 14" ||
		info.OSLanguage != "en-US" || info.PhoneNumber != "+15555550100" || info.UserAgent != "Android-EAS/14" ||
		info.MobileOperator != "Example Mobile" || info.EnableOutboundSMS {
		t.Errorf("stored device information: %+v", info)
	}

	// The temporary key does not pass the gate.
	r = e.do(call{cmd: "FolderSync", device: dev, policyKey: temp, xml: folderSyncInitial})
	if !refusedByGate(r) {
		t.Errorf("FolderSync with the temporary key passed the gate: %d %v", r.status, r.body)
	}

	// Acknowledging a key we never gave: [MS-ASPROV] 2.2.2.54.1 Status 5.
	wrong := strconv.FormatUint(uint64(d.PendingPolicyKey^0x5a5a), 10)
	r = e.do(call{cmd: "Provision", device: dev, policyKey: wrong, xml: provisionAck(wrong, 1)})
	validate(t, r.body, "ProvisionResponse.xsd")
	if pol := policyOf(t, r); pol.ChildText("Status") != "5" || pol.Has("PolicyKey") {
		t.Fatalf("wrong temporary key: %v", r.body)
	}

	r = e.do(call{cmd: "Provision", device: dev, policyKey: temp, xml: provisionAck(temp, 1)})
	validate(t, r.body, "ProvisionResponse.xsd")
	pol = policyOf(t, r)
	final := pol.ChildText("PolicyKey")
	if r.body.ChildText("Status") != "1" || pol.ChildText("Status") != "1" || final == "" || final == temp || pol.Has("Data") {
		t.Fatalf("phase 2: %v", r.body)
	}
	d = e.storedDevice(dev)
	if strconv.FormatUint(uint64(d.PolicyKey), 10) != final || d.PendingPolicyKey != 0 {
		t.Fatalf("stored key %d pending %d, answered %s", d.PolicyKey, d.PendingPolicyKey, final)
	}
	// A replayed acknowledgement no longer matches a temporary key.
	r = e.do(call{cmd: "Provision", device: dev, policyKey: temp, xml: provisionAck(temp, 1)})
	if pol := policyOf(t, r); pol.ChildText("Status") != "5" {
		t.Errorf("replayed acknowledgement: %v", r.body)
	}
	if d := e.storedDevice(dev); strconv.FormatUint(uint64(d.PolicyKey), 10) != final {
		t.Errorf("a replayed acknowledgement changed the key to %d", d.PolicyKey)
	}

	r = e.do(call{cmd: "FolderSync", device: dev, policyKey: final, xml: folderSyncInitial})
	if refusedByGate(r) {
		t.Fatalf("FolderSync with the final key is refused: %d %v", r.status, r.body)
	}
	// Android omits the policy key on Ping. (A heartbeat below the minimum, so that the
	// Ping answers at once whatever it decides.)
	r = e.do(call{cmd: "Ping", device: dev, policyKey: "-", xml: `<Ping xmlns="Ping"><HeartbeatInterval>1</HeartbeatInterval></Ping>`})
	if refusedByGate(r) {
		t.Errorf("Ping of a provisioned device is refused: %d %v", r.status, r.body)
	}
}

// TestProvision121 follows a 12.1 client: HTTP 449, then Provision.
func TestProvision121(t *testing.T) {
	e := newTestEnv(t)
	e.version = "12.1"
	r := e.do(call{cmd: "FolderSync", policyKey: "-", xml: folderSyncInitial})
	if r.status != 449 {
		t.Fatalf("unprovisioned 12.1 FolderSync: HTTP %d", r.status)
	}
	r = e.do(call{cmd: "Provision", policyKey: "0", xml: provisionPhase1})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.Has("Settings:DeviceInformation") {
		t.Error("DeviceInformation answered at 12.1")
	}
	final := e.provisionDevice("TESTDEVICE", "12.1")
	r = e.do(call{cmd: "FolderSync", policyKey: final, xml: folderSyncInitial})
	if refusedByGate(r) {
		t.Fatalf("FolderSync with the final key: HTTP %d %v", r.status, r.body)
	}
}

// TestProvisionIOS161 follows iOS at 16.1: Settings (UserInformation and
// DeviceInformation) before Provision, then Provision carrying DeviceInformation.
func TestProvisionIOS161(t *testing.T) {
	e := newTestEnv(t)
	const dev = "F1A2B3C4D5E6"
	r := e.do(call{cmd: "Settings", device: dev, policyKey: "0", xml: `<Settings xmlns="Settings">
<UserInformation><Get/></UserInformation>
<DeviceInformation><Set><Model>iPhone15,2</Model><IMEI>0</IMEI><FriendlyName>iPhone</FriendlyName>
<OS>iOS 17.4 21E219</OS><OSLanguage>en</OSLanguage><PhoneNumber>+15555550101</PhoneNumber>
<UserAgent>Apple-iPhone15C2/2104.219</UserAgent><MobileOperator>Carrier</MobileOperator></Set></DeviceInformation>
</Settings>`})
	validate(t, r.body, "SettingsResponse.xsd")
	if r.body.ChildText("Status") != "1" || r.body.Child("DeviceInformation").ChildText("Status") != "1" ||
		r.body.Child("UserInformation").ChildText("Status") != "1" {
		t.Fatalf("Settings before Provision: %d %v", r.status, r.body)
	}
	if info := loadDeviceInformation(e.storedDevice(dev).Info); info.Model != "iPhone15,2" || info.OS != "iOS 17.4 21E219" {
		t.Errorf("stored device information: %+v", info)
	}

	r = e.do(call{cmd: "FolderSync", device: dev, policyKey: "0", xml: folderSyncInitial})
	if r.body.ChildText("Status") != "142" {
		t.Fatalf("unprovisioned FolderSync: %v", r.body)
	}
	r = e.do(call{cmd: "Provision", device: dev, policyKey: "0", xml: strings.ReplaceAll(provisionPhase1WithInfo, "Pixel 8", "iPhone15,3")})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.Children[0].Name() != "Settings:DeviceInformation" || r.body.Children[0].ChildText("Settings:Status") != "1" {
		t.Fatalf("Provision with DeviceInformation at 16.1: %v", r.body)
	}
	if info := loadDeviceInformation(e.storedDevice(dev).Info); info.Model != "iPhone15,3" {
		t.Errorf("Provision did not store the device information: %+v", info)
	}
	temp := policyOf(t, r).ChildText("PolicyKey")
	r = e.do(call{cmd: "Provision", device: dev, policyKey: temp, xml: provisionAck(temp, 1)})
	final := policyOf(t, r).ChildText("PolicyKey")
	r = e.do(call{cmd: "FolderSync", device: dev, policyKey: final, xml: folderSyncInitial})
	if refusedByGate(r) {
		t.Fatalf("FolderSync after provisioning: %d %v", r.status, r.body)
	}
}

// TestRemoteWipe: RequestWipe → the next command gets Status 140 → Provision carries
// RemoteWipe → the acknowledgement marks the device wiped.
func TestRemoteWipe(t *testing.T) {
	e := newTestEnv(t)
	e.version = "14.1"
	const dev = "LOSTPHONE"
	ctx := context.Background()
	final := e.provisionDevice(dev, "14.1")
	if err := RequestWipe(ctx, e.st, e.acct.ID, dev, false); err != nil {
		t.Fatal(err)
	}
	if err := RequestWipe(ctx, e.st, e.acct.ID, "NOSUCHDEVICE", false); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wipe of an unknown device: %v", err)
	}
	r := e.do(call{cmd: "FolderSync", device: dev, policyKey: final, xml: folderSyncInitial})
	if r.body.ChildText("Status") != "140" {
		t.Fatalf("command of a device to wipe: %d %v", r.status, r.body)
	}
	// Settings passes the gate even now (it is harmless).
	r = e.do(call{cmd: "Settings", device: dev, policyKey: final, xml: `<Settings xmlns="Settings"><Oof><Get><BodyType>Text</BodyType></Get></Oof></Settings>`})
	if r.body.ChildText("Status") != "1" {
		t.Errorf("Settings of a device to wipe: %v", r.body)
	}

	r = e.do(call{cmd: "Provision", device: dev, policyKey: final, xml: provisionPhase1})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.ChildText("Status") != "1" || !r.body.Has("RemoteWipe") || r.body.Has("Policies") || r.body.Has("AccountOnlyRemoteWipe") {
		t.Fatalf("Provision of a device to wipe: %v", r.body)
	}
	// A failed wipe: Status 2 and the directive again ([MS-ASPROV] 3.2.5.1.2.2).
	r = e.do(call{cmd: "Provision", device: dev, policyKey: final, xml: wipeAck("RemoteWipe", 2)})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.ChildText("Status") != "2" || !r.body.Has("RemoteWipe") {
		t.Fatalf("failed wipe acknowledgement: %v", r.body)
	}
	if d := e.storedDevice(dev); d.Wipe != store.WipeRequested {
		t.Fatalf("wipe state after a failure: %d", d.Wipe)
	}
	r = e.do(call{cmd: "Provision", device: dev, policyKey: final, xml: wipeAck("RemoteWipe", 1)})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.ChildText("Status") != "1" || r.body.Has("RemoteWipe") {
		t.Fatalf("wipe acknowledgement: %v", r.body)
	}
	d := e.storedDevice(dev)
	if d.Wipe != store.WipeDone || d.PolicyKey != 0 {
		t.Fatalf("after the acknowledgement: wipe %d key %d", d.Wipe, d.PolicyKey)
	}
	// The wiped device's old key is void: it must provision again.
	r = e.do(call{cmd: "FolderSync", device: dev, policyKey: final, xml: folderSyncInitial})
	if r.body.ChildText("Status") != "142" {
		t.Errorf("old key after the wipe: %v", r.body)
	}
	devs, err := ListDevices(ctx, e.st, e.acct.ID)
	if err != nil || len(devs) != 1 || devs[0].Wipe != "done" || devs[0].Email != e.email || devs[0].Provisioned {
		t.Errorf("ListDevices: %+v %v", devs, err)
	}
}

// TestRemoteWipe121: before 14.0 the gate answers HTTP 449, and Provision the directive.
func TestRemoteWipe121(t *testing.T) {
	e := newTestEnv(t)
	e.version = "12.1"
	final := e.provisionDevice("OLDPHONE", "12.1")
	if err := RequestWipe(context.Background(), e.st, e.acct.ID, "OLDPHONE", false); err != nil {
		t.Fatal(err)
	}
	r := e.do(call{cmd: "FolderSync", device: "OLDPHONE", policyKey: final, xml: folderSyncInitial})
	if r.status != 449 {
		t.Fatalf("12.1 command of a device to wipe: HTTP %d", r.status)
	}
	r = e.do(call{cmd: "Provision", device: "OLDPHONE", policyKey: final, xml: provisionPhase1})
	if !r.body.Has("RemoteWipe") {
		t.Fatalf("12.1 Provision of a device to wipe: %v", r.body)
	}
}

// TestAccountOnlyWipe: at 16.1 the directive is AccountOnlyRemoteWipe; older devices
// are never escalated to a full wipe.
func TestAccountOnlyWipe(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	final := e.provisionDevice("IPHONE", "16.1")
	if err := RequestWipe(ctx, e.st, e.acct.ID, "IPHONE", true); err != nil {
		t.Fatal(err)
	}
	r := e.do(call{cmd: "Sync", device: "IPHONE", policyKey: final, xml: `<Sync xmlns="AirSync"/>`})
	if r.body.ChildText("Status") != "140" {
		t.Fatalf("Sync of a device to wipe: %v", r.body)
	}
	r = e.do(call{cmd: "Provision", device: "IPHONE", policyKey: final, xml: provisionPhase1})
	validate(t, r.body, "ProvisionResponse.xsd")
	if !r.body.Has("AccountOnlyRemoteWipe") || r.body.Has("RemoteWipe") {
		t.Fatalf("account-only wipe directive: %v", r.body)
	}
	r = e.do(call{cmd: "Provision", device: "IPHONE", policyKey: final, xml: wipeAck("AccountOnlyRemoteWipe", 1)})
	if r.body.ChildText("Status") != "1" || e.storedDevice("IPHONE").Wipe != store.WipeDone {
		t.Fatalf("account-only wipe acknowledgement: %v, wipe %d", r.body, e.storedDevice("IPHONE").Wipe)
	}

	// A device that speaks 14.1 cannot be asked for an account-only wipe.
	e.provisionDevice("ANDROID", "14.1")
	err := RequestWipe(ctx, e.st, e.acct.ID, "ANDROID", true)
	if !errors.Is(err, ErrAccountOnlyWipeUnsupported) {
		t.Fatalf("account-only wipe of a 14.1 device: %v", err)
	}
	if e.storedDevice("ANDROID").Wipe != store.WipeNone {
		t.Fatal("a refused wipe request changed the device")
	}

	// A device asked for an account-only wipe at 16.1 that comes back at 14.1 gets no
	// policy (Policy Status 2) rather than a full wipe.
	e.provisionDevice("SWITCHER", "16.1")
	if err := RequestWipe(ctx, e.st, e.acct.ID, "SWITCHER", true); err != nil {
		t.Fatal(err)
	}
	r = e.do(call{cmd: "Provision", device: "SWITCHER", version: "14.1", policyKey: "0", xml: provisionPhase1})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.Has("RemoteWipe") || r.body.Has("AccountOnlyRemoteWipe") || policyOf(t, r).ChildText("Status") != "2" || policyOf(t, r).Has("PolicyKey") {
		t.Fatalf("account-only wipe of a device now at 14.1: %v", r.body)
	}
}

// TestProvisionErrors: malformed requests get Status 2, unknown policy types Policy
// Status 3.
func TestProvisionErrors(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct{ name, xml, status, policyStatus string }{
		{"empty Provision", `<Provision xmlns="Provision"/>`, "2", ""},
		{"no Policy", `<Provision xmlns="Provision"><Policies/></Provision>`, "2", ""},
		{"wrong root", `<FolderSync xmlns="FolderHierarchy"><SyncKey>0</SyncKey></FolderSync>`, "2", ""},
		{"2.5 policy type", strings.ReplaceAll(provisionPhase1, "MS-EAS-Provisioning-WBXML", "MS-WAP-Provisioning-XML"), "1", "3"},
		{"no policy type", `<Provision xmlns="Provision"><Policies><Policy/></Policies></Provision>`, "1", "3"},
		{"policy key not a number", provisionAck("xyz", 1), "1", "5"},
		{"wipe acknowledgement without Status", `<Provision xmlns="Provision"><RemoteWipe/></Provision>`, "2", ""},
	} {
		r := e.do(call{cmd: "Provision", policyKey: "0", xml: c.xml})
		if r.status != http.StatusOK || r.body.ChildText("Status") != c.status || r.body.Path("Policies", "Policy").ChildText("Status") != c.policyStatus {
			t.Errorf("%s: HTTP %d %v", c.name, r.status, r.body)
			continue
		}
		validate(t, r.body, "ProvisionResponse.xsd")
	}
	// No body at all.
	if r := e.do(call{cmd: "Provision", policyKey: "0"}); r.body.ChildText("Status") != "2" {
		t.Errorf("empty body: %d %v", r.status, r.body)
	}
	// A wipe acknowledgement with no wipe pending changes nothing.
	r := e.do(call{cmd: "Provision", policyKey: "0", xml: wipeAck("RemoteWipe", 1)})
	if r.body.ChildText("Status") != "1" || e.storedDevice("TESTDEVICE").Wipe != store.WipeNone {
		t.Errorf("unsolicited wipe acknowledgement: %v", r.body)
	}
	// A malformed DeviceInformation fails alone; the policy is still handed out.
	r = e.do(call{cmd: "Provision", policyKey: "0", xml: strings.ReplaceAll(provisionPhase1WithInfo,
		"<settings:EnableOutboundSMS>0<", "<settings:EnableOutboundSMS>yes<")})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.Child("Settings:DeviceInformation").ChildText("Settings:Status") != "2" || policyOf(t, r).ChildText("PolicyKey") == "" {
		t.Errorf("malformed DeviceInformation: %v", r.body)
	}
}

// TestProvisionConfiguredPolicy: a policy with requirements is rendered, and a device
// that does not apply it is refused with Status 139.
func TestProvisionConfiguredPolicy(t *testing.T) {
	e := newTestEnv(t, func(o *Options) {
		o.Policy = Policy{DevicePasswordEnabled: true, MinDevicePasswordLength: 6, MaxDevicePasswordFailedAttempts: 8}
	})
	r := e.do(call{cmd: "Provision", policyKey: "0", xml: provisionPhase1})
	validate(t, r.body, "ProvisionResponse.xsd")
	pol := policyOf(t, r)
	doc := pol.Path("Data", "EASProvisionDoc")
	if doc.ChildText("DevicePasswordEnabled") != "1" || doc.ChildText("MinDevicePasswordLength") != "6" ||
		doc.ChildText("MaxDevicePasswordFailedAttempts") != "8" {
		t.Errorf("configured policy: %v", doc)
	}
	temp := pol.ChildText("PolicyKey")
	// Status 2: partial success ([MS-ASPROV] 2.2.2.54.1 in requests).
	r = e.do(call{cmd: "Provision", policyKey: temp, xml: provisionAck(temp, 2)})
	validate(t, r.body, "ProvisionResponse.xsd")
	if r.body.ChildText("Status") != "139" || r.body.Has("Policies") || e.storedDevice("TESTDEVICE").PolicyKey != 0 {
		t.Fatalf("partial application of a demanding policy: %v", r.body)
	}

	// The empty policy accepts any acknowledgement.
	e2 := newTestEnv(t)
	r = e2.do(call{cmd: "Provision", policyKey: "0", xml: provisionPhase1})
	temp = policyOf(t, r).ChildText("PolicyKey")
	r = e2.do(call{cmd: "Provision", policyKey: temp, xml: provisionAck(temp, 2)})
	if policyOf(t, r).ChildText("PolicyKey") == "" {
		t.Fatalf("partial application of the empty policy: %v", r.body)
	}
}

func TestPolicyDocClamps(t *testing.T) {
	doc := Policy{DevicePasswordEnabled: true, MinDevicePasswordLength: 40, MaxDevicePasswordFailedAttempts: 2}.provisionDoc()
	if doc.ChildText("MinDevicePasswordLength") != "16" || doc.ChildText("MaxDevicePasswordFailedAttempts") != "4" {
		t.Errorf("out-of-range values not clamped: %v", doc)
	}
	// Password settings without a password requirement are not sent.
	doc = Policy{MinDevicePasswordLength: 6}.provisionDoc()
	if n := doc.Child("MinDevicePasswordLength"); n == nil || n.Text != "" || doc.ChildText("DevicePasswordEnabled") != "0" {
		t.Errorf("password length without a password: %v", doc)
	}
}

func TestNewPolicyKey(t *testing.T) {
	seen := map[uint32]bool{}
	for range 1000 {
		k := newPolicyKey(1, 2)
		if k == 0 || k == 1 || k == 2 {
			t.Fatalf("key %d", k)
		}
		seen[k] = true
	}
	if len(seen) < 990 {
		t.Errorf("only %d distinct keys in 1000", len(seen))
	}
}

// FuzzParseProvision: any decodable body is parsed without panicking, and decideProvision
// never hands out key 0 nor a key while a wipe is pending.
func FuzzParseProvision(f *testing.F) {
	for _, x := range []string{provisionPhase1, provisionPhase1WithInfo, provisionAck("123", 1), provisionAck("-1", 1),
		wipeAck("RemoteWipe", 1), wipeAck("AccountOnlyRemoteWipe", 2), `<Provision xmlns="Provision"/>`} {
		b := wbxmlOf(f, x)
		f.Add(b, uint8(0))
		f.Add(b, uint8(store.WipeRequested))
	}
	f.Fuzz(func(t *testing.T, b []byte, wipe uint8) {
		n, err := wbxml.Decode(b)
		if err != nil {
			return
		}
		pr, err := parseProvision(n)
		if err != nil {
			return
		}
		d := store.Device{Wipe: int(wipe % 4), PendingPolicyKey: 123}
		pending := d.Wipe == store.WipeRequested || d.Wipe == store.WipeAccountOnly
		out := decideProvision(&d, pr, Policy{}, v161, provisionKeys{temporary: 7, final: 9})
		if p := out.policy; p != nil && pending && p.key != 0 {
			t.Fatalf("key handed out while a wipe is pending: %+v", out)
		}
		if d.PolicyKey != 0 && d.PolicyKey != 9 {
			t.Fatalf("policy key %d", d.PolicyKey)
		}
	})
}

// TestPolicyRefresh: after the administrator changes the policy, a device provisioned
// under the old one is answered Status 143 until it provisions again
// ([MS-ASPROV] 3.1.5.1.1); then it passes with the new key.
func TestPolicyRefresh(t *testing.T) {
	e := newTestEnv(t)
	e.version = "14.1"
	const dev = "refresh1"
	provision := func() string {
		r := e.do(call{cmd: "Provision", device: dev, policyKey: "0", xml: provisionPhase1})
		temp := policyOf(t, r).ChildText("PolicyKey")
		r = e.do(call{cmd: "Provision", device: dev, policyKey: temp, xml: provisionAck(temp, 1)})
		return policyOf(t, r).ChildText("PolicyKey")
	}
	key := provision()
	if r := e.do(call{cmd: "FolderSync", device: dev, policyKey: key, xml: folderSyncInitial}); r.body.ChildText("Status") != "1" {
		t.Fatalf("FolderSync after provisioning: %v", r.body)
	}
	// The policy changes under the running handler.
	e.h.opts.Policy = Policy{DevicePasswordEnabled: true, MinDevicePasswordLength: 6}
	e.h.policyPrint = e.h.opts.Policy.fingerprint()
	r := e.do(call{cmd: "FolderSync", device: dev, policyKey: key, xml: folderSyncInitial})
	if r.body.ChildText("Status") != "143" {
		t.Fatalf("FolderSync under a changed policy: %d %v, want Status 143", r.status, r.body)
	}
	validate(t, r.body, "FolderSyncResponse.xsd")
	key = provision()
	if r := e.do(call{cmd: "FolderSync", device: dev, policyKey: key, xml: folderSyncInitial}); r.body.ChildText("Status") != "1" {
		t.Fatalf("FolderSync after provisioning again: %v", r.body)
	}
}
