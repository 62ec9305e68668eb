package activesync

import (
	"strings"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// Settings ([MS-ASCMD] 2.2.1.18) gets and sets account and device settings. It passes
// the provisioning gate: iOS sends DeviceInformation and UserInformation before
// Provision. What we do with each property:
//
//   - DeviceInformation Set: stored as JSON in store.Device.Info (shown by
//     `gatehouse device list`).
//   - UserInformation Get: the account's address and its aliases.
//   - Oof Get: OofState 0 (disabled); Gatehouse has no automatic replies yet. Oof Set
//     that disables is a success; one that enables is refused with Status 7 (denied by
//     policy), so that the phone tells its user rather than pretending.
//   - DevicePassword Set: Status 1; the recovery password is not kept (our policy sets
//     PasswordRecoveryEnabled 0, so clients have no reason to send one).
//   - RightsManagementInformation Get: no templates (no rights management).

// Status (Settings) ([MS-ASCMD] 2.2.3.177.15).
const (
	settingsOK             = 1
	settingsProtocolError  = 2
	settingsDeniedByPolicy = 7
)

// settingsRequest is a parsed Settings request: which properties it asks about.
type settingsRequest struct {
	oofGet, oofSet      bool
	oofEnable           bool // Oof Set with OofState 1 or 2
	oofBad              bool
	deviceInfo          *deviceInformation
	deviceInfoAsked     bool
	devicePassword      bool
	devicePasswordBad   bool
	userInformation     bool
	userInformationBad  bool
	rightsManagement    bool
	rightsManagementBad bool
}

// parseSettings reads a Settings request; ok is false when it is not one.
func parseSettings(body *wbxml.Node) (sr settingsRequest, ok bool) {
	if body == nil || !body.Is("Settings:Settings") {
		return sr, false
	}
	for _, c := range body.Children {
		if c.Space != "Settings" {
			continue
		}
		switch c.Tag {
		case "Oof":
			switch {
			case c.Has("Settings:Get"):
				sr.oofGet = true
			case c.Has("Settings:Set"):
				sr.oofSet = true
				switch c.Child("Settings:Set").ChildText("Settings:OofState") {
				case "0":
				case "1", "2":
					sr.oofEnable = true
				default:
					sr.oofBad = true
				}
			default:
				sr.oofBad = true
			}
		case "DeviceInformation":
			sr.deviceInfoAsked = true
			if info, err := parseDeviceInformation(c); err == nil {
				sr.deviceInfo = &info
			}
		case "DevicePassword":
			sr.devicePassword = true
			sr.devicePasswordBad = !c.Has("Settings:Set")
		case "UserInformation":
			sr.userInformation = true
			sr.userInformationBad = !c.Has("Settings:Get")
		case "RightsManagementInformation":
			sr.rightsManagement = true
			sr.rightsManagementBad = !c.Has("Settings:Get")
		}
	}
	return sr, true
}

func (h *Handler) cmdSettings(rq *request) (*response, error) {
	const ns = "Settings"
	sr, ok := parseSettings(rq.body)
	if !ok {
		rq.log.Info("settings: malformed request")
		return &response{body: wbxml.NewElem(ns, "Settings", statusNode(ns, settingsProtocolError))}, nil
	}
	root := wbxml.NewElem(ns, "Settings", statusNode(ns, settingsOK))
	// SettingsResponse.xsd uses xs:all: the properties may come in any order. We answer
	// in the order of [MS-ASCMD] 2.2.1.18's examples.
	switch {
	case sr.oofBad:
		root.Add(wbxml.NewElem(ns, "Oof", statusNode(ns, settingsProtocolError)))
	case sr.oofGet:
		root.Add(wbxml.NewElem(ns, "Oof", statusNode(ns, settingsOK),
			wbxml.NewElem(ns, "Get", wbxml.NewText(ns, "OofState", "0"))))
	case sr.oofSet && sr.oofEnable:
		rq.log.Info("settings: refused to enable automatic replies (not supported)")
		root.Add(wbxml.NewElem(ns, "Oof", statusNode(ns, settingsDeniedByPolicy)))
	case sr.oofSet:
		root.Add(wbxml.NewElem(ns, "Oof", statusNode(ns, settingsOK)))
	}
	if sr.deviceInfoAsked {
		st := settingsProtocolError
		if sr.deviceInfo != nil {
			info := sr.deviceInfo.encode()
			dev, err := h.st.UpdateDevice(rq.ctx, rq.p, rq.dev.DeviceID, func(d *store.Device) error {
				d.Info = info
				return nil
			})
			if err != nil {
				return nil, err
			}
			rq.dev, st = dev, settingsOK
		}
		root.Add(wbxml.NewElem(ns, "DeviceInformation", statusNode(ns, st)))
	}
	if sr.devicePassword {
		st := settingsOK
		if sr.devicePasswordBad {
			st = settingsProtocolError
		}
		root.Add(wbxml.NewElem(ns, "DevicePassword", statusNode(ns, st)))
	}
	if sr.userInformation {
		if sr.userInformationBad {
			root.Add(wbxml.NewElem(ns, "UserInformation", statusNode(ns, settingsProtocolError)))
		} else {
			get, err := h.userInformation(rq)
			if err != nil {
				return nil, err
			}
			root.Add(wbxml.NewElem(ns, "UserInformation", statusNode(ns, settingsOK), get))
		}
	}
	if sr.rightsManagement {
		if sr.rightsManagementBad {
			root.Add(wbxml.NewElem(ns, "RightsManagementInformation", statusNode(ns, settingsProtocolError)))
		} else {
			// [MS-ASCMD] 2.2.3.156: no templates.
			root.Add(wbxml.NewElem(ns, "RightsManagementInformation", statusNode(ns, settingsOK),
				wbxml.NewElem(ns, "Get", wbxml.NewElem("RightsManagement", "RightsManagementTemplates"))))
		}
	}
	return &response{body: root}, nil
}

// userInformation is the Get of UserInformation ([MS-ASCMD] 2.2.3.192): the account's
// addresses, under Get before 14.1 and under Accounts/Account from 14.1 on
// ([MS-ASCMD] 2.2.3.57).
func (h *Handler) userInformation(rq *request) (*wbxml.Node, error) {
	const ns = "Settings"
	aliases, err := h.st.Aliases(rq.ctx, rq.acct.ID)
	if err != nil {
		return nil, err
	}
	addrs := wbxml.NewElem(ns, "EmailAddresses", wbxml.NewText(ns, "SMTPAddress", rq.acct.Email))
	for _, a := range aliases {
		if !strings.EqualFold(a, rq.acct.Email) {
			addrs.Add(wbxml.NewText(ns, "SMTPAddress", a))
		}
	}
	if rq.version < v141 {
		return wbxml.NewElem(ns, "Get", addrs), nil
	}
	// [MS-ASCMD] 2.2.3.138 PrimarySmtpAddress (14.1+) follows the SMTPAddress list.
	addrs.Add(wbxml.NewText(ns, "PrimarySmtpAddress", rq.acct.Email))
	acct := wbxml.NewElem(ns, "Account")
	if rq.acct.DisplayName != "" {
		acct.Add(wbxml.NewText(ns, "UserDisplayName", rq.acct.DisplayName))
	}
	acct.Add(addrs)
	return wbxml.NewElem(ns, "Get", wbxml.NewElem(ns, "Accounts", acct)), nil
}
