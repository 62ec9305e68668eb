package activesync

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
)

// TestSettingsUserInformation: the account's address and its aliases, under
// Accounts/Account from 14.1 and directly under Get before ([MS-ASCMD] 2.2.3.57).
func TestSettingsUserInformation(t *testing.T) {
	e := newTestEnv(t)
	if err := e.st.AddAlias(context.Background(), e.acct.ID, "a.liddell@example.org"); err != nil {
		t.Fatal(err)
	}
	const req = `<Settings xmlns="Settings"><UserInformation><Get/></UserInformation></Settings>`

	r := e.do(call{cmd: "Settings", policyKey: "0", xml: req})
	validate(t, r.body, "SettingsResponse.xsd")
	ui := r.body.Child("UserInformation")
	if r.status != http.StatusOK || r.body.ChildText("Status") != "1" || ui.ChildText("Status") != "1" {
		t.Fatalf("16.1 UserInformation: %d %v", r.status, r.body)
	}
	acct := ui.Path("Get", "Accounts", "Account")
	addrs := nodeTexts(acct.Child("EmailAddresses").All("SMTPAddress"))
	if acct.ChildText("UserDisplayName") != "Alice Liddell" || len(addrs) != 2 || addrs[0] != "alice@example.org" ||
		addrs[1] != "a.liddell@example.org" || acct.Child("EmailAddresses").ChildText("PrimarySmtpAddress") != "alice@example.org" {
		t.Errorf("16.1 account: %v", ui)
	}
	if ui.Path("Get", "EmailAddresses") != nil {
		t.Error("16.1: EmailAddresses directly under Get")
	}

	r = e.do(call{cmd: "Settings", version: "14.0", policyKey: "0", xml: req})
	validate(t, r.body, "SettingsResponse.xsd")
	get := r.body.Path("UserInformation", "Get")
	addrs = nodeTexts(get.Child("EmailAddresses").All("SMTPAddress"))
	if len(addrs) != 2 || addrs[1] != "a.liddell@example.org" || get.Has("Accounts") || get.Child("EmailAddresses").Has("PrimarySmtpAddress") {
		t.Errorf("14.0 UserInformation: %v", r.body)
	}
}

func nodeTexts(ns []*wbxml.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Text)
	}
	return out
}

// TestSettingsProperties: Oof, DevicePassword, RightsManagementInformation and
// malformed requests.
func TestSettingsProperties(t *testing.T) {
	e := newTestEnv(t)
	for _, c := range []struct {
		name, xml, prop, status string
		check                   func(*wbxml.Node) bool
	}{
		{"Oof Get", `<Settings xmlns="Settings"><Oof><Get><BodyType>HTML</BodyType></Get></Oof></Settings>`, "Oof", "1",
			func(n *wbxml.Node) bool { return n.Path("Get", "OofState").Text == "0" }},
		{"Oof Set disabled", `<Settings xmlns="Settings"><Oof><Set><OofState>0</OofState></Set></Oof></Settings>`, "Oof", "1", nil},
		{"Oof Set enabled", `<Settings xmlns="Settings"><Oof><Set><OofState>1</OofState><OofMessage><AppliesToInternal/><Enabled>1</Enabled><ReplyMessage>away</ReplyMessage><BodyType>Text</BodyType></OofMessage></Set></Oof></Settings>`, "Oof", "7", nil},
		{"Oof Set bad state", `<Settings xmlns="Settings"><Oof><Set><OofState>9</OofState></Set></Oof></Settings>`, "Oof", "2", nil},
		{"Oof empty", `<Settings xmlns="Settings"><Oof/></Settings>`, "Oof", "2", nil},
		{"DevicePassword Set", `<Settings xmlns="Settings"><DevicePassword><Set><Password>1234</Password></Set></DevicePassword></Settings>`, "DevicePassword", "1", nil},
		{"DeviceInformation without Set", `<Settings xmlns="Settings"><DeviceInformation/></Settings>`, "DeviceInformation", "2", nil},
		{"UserInformation without Get", `<Settings xmlns="Settings"><UserInformation/></Settings>`, "UserInformation", "2", nil},
		{"RightsManagementInformation", `<Settings xmlns="Settings"><RightsManagementInformation><Get/></RightsManagementInformation></Settings>`, "RightsManagementInformation", "1",
			func(n *wbxml.Node) bool { return n.Path("Get", "RightsManagement:RightsManagementTemplates") != nil }},
	} {
		r := e.do(call{cmd: "Settings", xml: c.xml})
		p := r.body.Child(c.prop)
		if r.status != http.StatusOK || r.body.ChildText("Status") != "1" || p.ChildText("Status") != c.status || (c.check != nil && !c.check(p)) {
			t.Errorf("%s: %d %v", c.name, r.status, r.body)
			continue
		}
		validate(t, r.body, "SettingsResponse.xsd")
	}
	for _, bad := range []string{"", `<Ping xmlns="Ping"/>`} {
		r := e.do(call{cmd: "Settings", xml: bad})
		if r.body.ChildText("Status") != "2" {
			t.Errorf("malformed Settings %q: %d %v", bad, r.status, r.body)
			continue
		}
		validate(t, r.body, "SettingsResponse.xsd")
	}
}

// TestSettingsDeviceInformationAllVersions: a DeviceInformation Set is stored whatever
// the version, and replaces what was stored (Android sends it after provisioning at
// 12.1 and 14.0).
func TestSettingsDeviceInformationAllVersions(t *testing.T) {
	e := newTestEnv(t)
	for _, v := range []string{"12.1", "14.0", "14.1", "16.0", "16.1"} {
		r := e.do(call{cmd: "Settings", version: v, policyKey: "0", xml: `<Settings xmlns="Settings"><DeviceInformation><Set><Model>M-` + v +
			`</Model><EnableOutboundSMS>1</EnableOutboundSMS></Set></DeviceInformation></Settings>`})
		if r.body.Child("DeviceInformation").ChildText("Status") != "1" {
			t.Fatalf("%s: %v", v, r.body)
		}
		info := loadDeviceInformation(e.storedDevice("TESTDEVICE").Info)
		if info.Model != "M-"+v || !info.EnableOutboundSMS || info.Version != deviceInfoVersion {
			t.Errorf("%s: stored %+v", v, info)
		}
	}
	devs, err := ListDevices(context.Background(), e.st, 0)
	if err != nil || len(devs) != 1 || devs[0].Model != "M-16.1" || devs[0].ProtocolVersion != "16.1" || devs[0].UserAgent != "Gatehouse-Test/1.0" {
		t.Errorf("ListDevices: %+v %v", devs, err)
	}
}

// FuzzParseSettings: any decodable body is parsed without panicking.
func FuzzParseSettings(f *testing.F) {
	for _, x := range []string{
		`<Settings xmlns="Settings"><UserInformation><Get/></UserInformation><DeviceInformation><Set><Model>x</Model><EnableOutboundSMS>1</EnableOutboundSMS></Set></DeviceInformation></Settings>`,
		`<Settings xmlns="Settings"><Oof><Set><OofState>2</OofState><StartTime>2026-01-01T00:00:00.000Z</StartTime></Set></Oof><DevicePassword><Set><Password>1</Password></Set></DevicePassword></Settings>`,
		`<Settings xmlns="Settings"><Oof><Get><BodyType>Text</BodyType></Get></Oof><RightsManagementInformation><Get/></RightsManagementInformation></Settings>`,
	} {
		b := wbxmlOf(f, x)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := wbxml.Decode(b)
		if err != nil {
			return
		}
		sr, ok := parseSettings(n)
		if ok && sr.deviceInfo != nil {
			if len(sr.deviceInfo.Model) > maxDeviceInfoField || len(sr.deviceInfo.encode()) == 0 {
				t.Fatalf("device information %+v", sr.deviceInfo)
			}
		}
	})
}
