package calendar

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// globalObjIDClass is the class ID that starts every GlobalObjId
// ([MS-OXCICAL] 2.1.3.1.1.20.26, PidLidGlobalObjectId).
var globalObjIDClass = []byte{0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08}

var vCalUID = []byte("vCal-Uid")

// GlobalObjIDFromUID encodes a UID as the base64 GlobalObjId of
// [MS-ASEMAIL] 3.1.4.7 / [MS-OXCICAL] 2.1.3.1.1.20.26. A UID that is the
// upper- or lower-case hex of a GlobalObjId (as Outlook writes UIDs) is
// decoded back to those bytes; any other UID is wrapped as "vCal-Uid" data.
// For one instance of a series, instance is its original start date (the
// year, month and day are written into bytes 17–20); zero for the series.
func GlobalObjIDFromUID(uid string, instance time.Time) string {
	var b []byte
	if raw, err := hex.DecodeString(uid); err == nil && len(raw) >= 40 && bytes.Equal(raw[:16], globalObjIDClass) {
		b = raw
	} else {
		data := append(append(append([]byte{}, vCalUID...), 1, 0, 0, 0), uid...)
		data = append(data, 0)
		b = make([]byte, 40, 40+len(data))
		copy(b, globalObjIDClass)
		binary.LittleEndian.PutUint32(b[36:], uint32(len(data)))
		b = append(b, data...)
	}
	if !instance.IsZero() {
		y := instance.Year()
		b[16], b[17], b[18], b[19] = byte(y>>8), byte(y), byte(instance.Month()), byte(instance.Day())
	} else {
		b[16], b[17], b[18], b[19] = 0, 0, 0, 0
	}
	return base64.StdEncoding.EncodeToString(b)
}

// UIDFromGlobalObjID decodes a base64 GlobalObjId ([MS-ASEMAIL] 3.1.4.7,
// fact sheet §4): the UID inside vCal-Uid data, else the upper-case hex of
// the whole value with the instance date (bytes 17–20) zeroed. It also
// returns the instance date, zero for the series.
func UIDFromGlobalObjID(s string) (string, time.Time, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("calendar: GlobalObjId: %w", err)
	}
	if len(b) < 40 || !bytes.Equal(b[:16], globalObjIDClass) {
		return "", time.Time{}, fmt.Errorf("calendar: GlobalObjId: not a meeting object ID")
	}
	var inst time.Time
	if y := int(b[16])<<8 | int(b[17]); y != 0 && b[18] >= 1 && b[18] <= 12 && b[19] >= 1 && b[19] <= 31 {
		inst = time.Date(y, time.Month(b[18]), int(b[19]), 0, 0, 0, 0, time.UTC)
	}
	if len(b) >= 52 && bytes.Equal(b[40:48], vCalUID) {
		data := b[52:]
		if i := bytes.IndexByte(data, 0); i >= 0 {
			data = data[:i]
		}
		return string(data), inst, nil
	}
	c := append([]byte(nil), b...)
	c[16], c[17], c[18], c[19] = 0, 0, 0, 0
	return strings.ToUpper(hex.EncodeToString(c)), inst, nil
}
