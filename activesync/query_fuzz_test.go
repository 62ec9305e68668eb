package activesync

import (
	"encoding/base64"
	"testing"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// FuzzQuery: any query string is parsed or refused, never a panic.
func FuzzQuery(f *testing.F) {
	f.Add("Cmd=Sync&User=a&DeviceId=D&DeviceType=T")
	f.Add(base64Std([]byte{141, 0, 0x09, 0x04, 3, 'A', 'B', 'C', 4, 5, 0, 0, 0, 2, 'W', 'P', 3, 3, '5', ':', '7'}))
	f.Add("jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err == nil && q.Cmd == "" && q.DeviceID == "" && q.User == "" {
			_ = q
		}
	})
}
