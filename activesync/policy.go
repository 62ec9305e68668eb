package activesync

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/activesync/wbxml"
)

// Policy is the provisioning policy handed out by Provision ([MS-ASPROV] 2.2.2.54
// EASProvisionDoc). The zero value requires nothing, which every client accepts (Gmail
// once refused policies it could not enforce; iOS accepts an empty one).
type Policy struct {
	// DevicePasswordEnabled requires a device PIN or password.
	DevicePasswordEnabled bool
	// MinDevicePasswordLength is the shortest PIN accepted (0: no minimum). It applies
	// only with DevicePasswordEnabled; the protocol's range is 1 to 16.
	MinDevicePasswordLength int
	// MaxDevicePasswordFailedAttempts wipes the device after this many failed unlocks (0: never).
	// It applies only with DevicePasswordEnabled; the protocol's range is 4 to 16.
	MaxDevicePasswordFailedAttempts int
	// AlphanumericDevicePasswordRequired requires a password with letters and digits
	// rather than a numeric PIN (only with DevicePasswordEnabled).
	AlphanumericDevicePasswordRequired bool
	// MaxInactivityTimeDeviceLock locks the device after this long without use (0: no
	// limit; whole seconds, at most 9999 s).
	MaxInactivityTimeDeviceLock time.Duration
	// RequireDeviceEncryption requires the device's storage to be encrypted.
	RequireDeviceEncryption bool
}

// fingerprint identifies the policy's content, so that a device provisioned under
// another one is asked to provision again.
func (p Policy) fingerprint() string {
	b, err := wbxml.Encode(p.provisionDoc())
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// requiresSomething says whether the policy asks anything of the device: a device that
// does not apply a demanding policy is refused ([MS-ASPROV] 3.1.5.2, Status 139), while
// any acknowledgement of the empty policy is accepted.
func (p Policy) requiresSomething() bool {
	return p.DevicePasswordEnabled || p.RequireDeviceEncryption || p.MaxInactivityTimeDeviceLock > 0
}

// provisionDoc renders the policy as an EASProvisionDoc ([MS-ASPROV] 2.2.2.27), its
// elements in the order of Microsoft's schema (Provision.xsd). Every setting we do not
// manage is sent with its most permissive value, so that clients have nothing to
// enforce beyond what the administrator configured.
func (p Policy) provisionDoc() *wbxml.Node {
	const ns = "Provision"
	doc := wbxml.NewElem(ns, "EASProvisionDoc")
	b := func(tag string, v bool) {
		s := "0"
		if v {
			s = "1"
		}
		doc.Add(wbxml.NewText(ns, tag, s))
	}
	n := func(tag string, v int) { doc.Add(wbxml.NewText(ns, tag, strconv.Itoa(v))) }
	// An empty element means "no limit" for the elements typed unsignedByteOrEmpty and
	// unsignedIntOrEmpty ([MS-ASPROV] 2.2.2.35, 2.2.2.37, 2.2.2.38, 2.2.2.36, 2.2.2.24).
	limit := func(tag string, v int) {
		if v <= 0 {
			doc.Add(wbxml.NewElem(ns, tag))
			return
		}
		n(tag, v)
	}
	pw := p.DevicePasswordEnabled
	b("DevicePasswordEnabled", pw)
	b("AlphanumericDevicePasswordRequired", pw && p.AlphanumericDevicePasswordRequired)
	b("PasswordRecoveryEnabled", false)
	b("RequireStorageCardEncryption", false)
	b("AttachmentsEnabled", true)
	minLen, maxFail := 0, 0
	if pw {
		minLen = clampPolicy(p.MinDevicePasswordLength, 1, 16)          // [MS-ASPROV] 2.2.2.37
		maxFail = clampPolicy(p.MaxDevicePasswordFailedAttempts, 4, 16) // [MS-ASPROV] 2.2.2.35
	}
	limit("MinDevicePasswordLength", minLen)
	limit("MaxInactivityTimeDeviceLock", clampPolicy(int(p.MaxInactivityTimeDeviceLock/time.Second), 1, 9999))
	limit("MaxDevicePasswordFailedAttempts", maxFail)
	limit("MaxAttachmentSize", 0)
	b("AllowSimpleDevicePassword", !pw || !p.AlphanumericDevicePasswordRequired)
	limit("DevicePasswordExpiration", 0)
	n("DevicePasswordHistory", 0)
	b("AllowStorageCard", true)
	b("AllowCamera", true)
	b("RequireDeviceEncryption", p.RequireDeviceEncryption)
	b("AllowUnsignedApplications", true)
	b("AllowUnsignedInstallationPackages", true)
	n("MinDevicePasswordComplexCharacters", 1)
	b("AllowWiFi", true)
	b("AllowTextMessaging", true)
	b("AllowPOPIMAPEmail", true)
	n("AllowBluetooth", 2) // 2: allow all Bluetooth ([MS-ASPROV] 2.2.2.6)
	b("AllowIrDA", true)
	b("RequireManualSyncWhenRoaming", false)
	b("AllowDesktopSync", true)
	n("MaxCalendarAgeFilter", 0) // 0: all days
	b("AllowHTMLEmail", true)
	n("MaxEmailAgeFilter", 0)
	n("MaxEmailBodyTruncationSize", -1) // -1: no truncation
	n("MaxEmailHTMLBodyTruncationSize", -1)
	b("RequireSignedSMIMEMessages", false)
	b("RequireEncryptedSMIMEMessages", false)
	n("RequireSignedSMIMEAlgorithm", 0)
	n("RequireEncryptionSMIMEAlgorithm", 0)
	n("AllowSMIMEEncryptionAlgorithmNegotiation", 2) // 2: any algorithm
	b("AllowSMIMESoftCerts", true)
	b("AllowBrowser", true)
	b("AllowConsumerEmail", true)
	b("AllowRemoteDesktop", true)
	b("AllowInternetSharing", true)
	return doc
}

// clampPolicy bounds a configured value to the protocol's range; 0 stays 0 ("none").
func clampPolicy(v, lo, hi int) int {
	switch {
	case v <= 0:
		return 0
	case v < lo:
		return lo
	case v > hi:
		return hi
	}
	return v
}
