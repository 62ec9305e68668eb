package activesync

// Policy is the provisioning policy handed out by Provision ([MS-ASPROV] 2.2.2.54
// EASProvisionDoc). The zero value requires nothing, which every client accepts.
type Policy struct {
	// DevicePasswordEnabled requires a device PIN or password.
	DevicePasswordEnabled bool
	// MinDevicePasswordLength is the shortest PIN accepted (0: no minimum).
	MinDevicePasswordLength int
	// MaxDevicePasswordFailedAttempts wipes the device after this many failed unlocks (0: never).
	MaxDevicePasswordFailedAttempts int
}
