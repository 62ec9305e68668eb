package activesync

import "strings"

// Protocol versions we speak, as [MS-ASHTTP] 2.2.2.1.1.1 MS-ASProtocolVersions lists them.
const protocolVersions = "12.1,14.0,14.1,16.0,16.1"

// Version numbers compare as integers: 12.1 is 121, 16.1 is 161.
const (
	v121 = 121
	v140 = 140
	v141 = 141
	v160 = 160
	v161 = 161
)

// parseVersion reads an MS-ASProtocolVersion value; ok is false for a version we do not
// speak.
func parseVersion(s string) (int, bool) {
	switch strings.TrimSpace(s) {
	case "12.1":
		return v121, true
	case "14.0":
		return v140, true
	case "14.1":
		return v141, true
	case "16.0":
		return v160, true
	case "16.1":
		return v161, true
	}
	return 0, false
}

// versionString is the inverse of parseVersion.
func versionString(v int) string {
	switch v {
	case v121:
		return "12.1"
	case v140:
		return "14.0"
	case v141:
		return "14.1"
	case v160:
		return "16.0"
	case v161:
		return "16.1"
	}
	return ""
}
