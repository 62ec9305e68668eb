package activesync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
	"github.com/gatehouse/gatehouse/store"
)

// This file is the administrators' view of devices (gatehouse device list | wipe,
// through internal/admin) and the device information a phone reports
// ([MS-ASCMD] 2.2.3.45 DeviceInformation), which Settings and Provision store.

// deviceInfoVersion is the format of deviceInformation as stored in store.Device.Info.
const deviceInfoVersion = 1

// maxDeviceInfoField bounds each reported field (Settings.xsd DeviceInformationStringType).
const maxDeviceInfoField = 1024

// deviceInformation is what a device tells about itself with Settings or Provision
// DeviceInformation/Set, stored as versioned JSON in store.Device.Info.
type deviceInformation struct {
	Version           int    `json:"v"`
	Model             string `json:"model,omitempty"`
	IMEI              string `json:"imei,omitempty"`
	FriendlyName      string `json:"friendlyName,omitempty"`
	OS                string `json:"os,omitempty"`
	OSLanguage        string `json:"osLanguage,omitempty"`
	PhoneNumber       string `json:"phoneNumber,omitempty"`
	UserAgent         string `json:"userAgent,omitempty"`
	MobileOperator    string `json:"mobileOperator,omitempty"`
	EnableOutboundSMS bool   `json:"enableOutboundSMS,omitempty"`
}

// errBadDeviceInfo: a DeviceInformation element without a well-formed Set.
var errBadDeviceInfo = errors.New("activesync: malformed DeviceInformation")

// parseDeviceInformation reads a Settings:DeviceInformation element of a request
// ([MS-ASCMD] 2.2.3.45): one Set holding the fields, each optional. Over-long fields are
// cut rather than refused, so that a verbose phone can still set up its account.
func parseDeviceInformation(n *wbxml.Node) (deviceInformation, error) {
	info := deviceInformation{Version: deviceInfoVersion}
	set := n.Child("Settings:Set")
	if set == nil {
		return info, errBadDeviceInfo
	}
	for _, c := range set.Children {
		if c.Space != "Settings" {
			continue
		}
		v := c.Text
		if len(v) > maxDeviceInfoField {
			v = v[:maxDeviceInfoField]
		}
		switch c.Tag {
		case "Model":
			info.Model = v
		case "IMEI":
			info.IMEI = v
		case "FriendlyName":
			info.FriendlyName = v
		case "OS":
			info.OS = v
		case "OSLanguage":
			info.OSLanguage = v
		case "PhoneNumber":
			info.PhoneNumber = v
		case "UserAgent":
			info.UserAgent = v
		case "MobileOperator":
			info.MobileOperator = v
		case "EnableOutboundSMS":
			// [MS-ASCMD] 2.2.3.58: 0 or 1.
			switch v {
			case "0":
			case "1":
				info.EnableOutboundSMS = true
			default:
				return info, fmt.Errorf("%w: EnableOutboundSMS %q", errBadDeviceInfo, v)
			}
		}
	}
	return info, nil
}

// loadDeviceInformation decodes store.Device.Info; a missing or unreadable value is an
// empty record (it is informative only and never blocks a device).
func loadDeviceInformation(raw string) deviceInformation {
	var info deviceInformation
	if raw != "" {
		_ = json.Unmarshal([]byte(raw), &info)
	}
	info.Version = deviceInfoVersion
	return info
}

// encode renders the record for store.Device.Info.
func (info deviceInformation) encode() string {
	info.Version = deviceInfoVersion
	b, _ := json.Marshal(info) // plain strings and a bool: cannot fail
	return string(b)
}

// DeviceInfo is one device as an administrator sees it.
type DeviceInfo struct {
	Email           string
	DeviceID        string
	DeviceType      string
	UserAgent       string
	ProtocolVersion string
	Model           string // as the device reported it (Settings or Provision DeviceInformation)
	FriendlyName    string
	OS              string
	Provisioned     bool // holds a current policy key
	FirstSeen       time.Time
	LastSeen        time.Time
	LastSync        time.Time // zero: never synced
	Wipe            string    // "", "requested", "account-only requested", "done"
}

// wipeState names a store wipe state for administrators.
func wipeState(w int) string {
	switch w {
	case store.WipeRequested:
		return "requested"
	case store.WipeAccountOnly:
		return "account-only requested"
	case store.WipeDone:
		return "done"
	}
	return ""
}

// ListDevices lists the ActiveSync devices of an account, or of every account for
// account 0, ordered by account and device id.
func ListDevices(ctx context.Context, st *store.Store, account int64) ([]DeviceInfo, error) {
	devs, err := st.Devices(ctx, account)
	if err != nil {
		return nil, err
	}
	emails := map[int64]string{}
	out := make([]DeviceInfo, 0, len(devs))
	for _, d := range devs {
		email, ok := emails[d.AccountID]
		if !ok {
			a, err := st.Account(ctx, d.AccountID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			email = a.Email
			emails[d.AccountID] = email
		}
		info := loadDeviceInformation(d.Info)
		out = append(out, DeviceInfo{
			Email: email, DeviceID: d.DeviceID, DeviceType: d.DeviceType, UserAgent: d.UserAgent,
			ProtocolVersion: d.ProtocolVersion, Model: info.Model, FriendlyName: info.FriendlyName, OS: info.OS,
			Provisioned: d.PolicyKey != 0, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, LastSync: d.LastSync,
			Wipe: wipeState(d.Wipe),
		})
	}
	return out, nil
}

// ErrAccountOnlyWipeUnsupported: an account-only wipe was asked for a device that speaks
// a protocol version before 16.1, which has no AccountOnlyRemoteWipe ([MS-ASPROV]
// 2.2.2.1). Gatehouse never turns it into a full wipe of the phone.
var ErrAccountOnlyWipeUnsupported = errors.New("activesync: account-only wipe needs a device speaking ActiveSync 16.1")

// RequestWipe marks a device of an account for remote wipe ([MS-ASPROV] 3.1.5.1.2): its
// next request is refused with Status 140 (HTTP 449 before 14.0) and its next Provision
// carries the wipe directive. accountOnly asks the device to remove only this account's
// data (AccountOnlyRemoteWipe, 16.1); for a device that last spoke an older version it
// fails with ErrAccountOnlyWipeUnsupported. The store publishes a device hint, which
// ends the device's parked Ping so that the directive arrives at once. A device that
// already acknowledged a wipe may be asked again.
func RequestWipe(ctx context.Context, st *store.Store, accountID int64, deviceID string, accountOnly bool) error {
	_, err := st.UpdateDevice(ctx, store.Principal{AccountID: accountID}, deviceID, func(d *store.Device) error {
		if accountOnly {
			if v, ok := parseVersion(d.ProtocolVersion); !ok || v < v161 {
				return fmt.Errorf("%w (device %s speaks %q)", ErrAccountOnlyWipeUnsupported, d.DeviceID, d.ProtocolVersion)
			}
			d.Wipe = store.WipeAccountOnly
			return nil
		}
		d.Wipe = store.WipeRequested
		return nil
	})
	return err
}
