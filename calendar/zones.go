package calendar

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the tz database travels with the binary ([eas-pim] §2 "IANA → blob")
)

//go:embed zonedata/windowsZones.xml
var windowsZonesXML []byte

//go:embed zonedata/backward.txt
var backwardTxt []byte

// windowsZones is CLDR's mapping of Windows time zone IDs to IANA zones
// (common/supplemental/windowsZones.xml), loaded on first use.
type windowsZoneData struct {
	byWindows map[string][]string // Windows ID -> IANA zones, territory 001 first
	toWindows map[string]string   // IANA zone -> Windows ID
	golden    []string            // the territory-001 zone of every Windows ID, in file order
	backward  map[string]string   // old IANA ID -> canonical ID
}

var (
	wzOnce sync.Once
	wz     windowsZoneData
)

func windowsZones() *windowsZoneData {
	wzOnce.Do(func() {
		wz.byWindows = map[string][]string{}
		wz.toWindows = map[string]string{}
		wz.backward = map[string]string{}
		sc := bufio.NewScanner(bytes.NewReader(backwardTxt))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
				wz.backward[f[0]] = f[1]
			}
		}
		var doc struct {
			Zones []struct {
				Other     string `xml:"other,attr"`
				Territory string `xml:"territory,attr"`
				Type      string `xml:"type,attr"`
			} `xml:"windowsZones>mapTimezones>mapZone"`
		}
		if err := xml.Unmarshal(windowsZonesXML, &doc); err != nil {
			panic("calendar: embedded windowsZones.xml: " + err.Error())
		}
		for _, z := range doc.Zones {
			for _, id := range strings.Fields(z.Type) {
				if c, ok := wz.backward[id]; ok {
					id = c
				}
				if z.Territory == "001" {
					wz.byWindows[z.Other] = append([]string{id}, wz.byWindows[z.Other]...)
					wz.golden = append(wz.golden, id)
					wz.toWindows[id] = z.Other
					continue
				}
				if !contains(wz.byWindows[z.Other], id) {
					wz.byWindows[z.Other] = append(wz.byWindows[z.Other], id)
				}
				if _, ok := wz.toWindows[id]; !ok {
					wz.toWindows[id] = z.Other
				}
			}
		}
	})
	return &wz
}

func canonicalZone(id string) string {
	if c, ok := windowsZones().backward[id]; ok {
		return c
	}
	return id
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WindowsZoneName returns the Windows time zone ID of an IANA zone
// ("Europe/Berlin" -> "W. Europe Standard Time"), or "".
func WindowsZoneName(iana string) string {
	w := windowsZones()
	if n, ok := w.toWindows[iana]; ok {
		return n
	}
	if c, ok := w.backward[iana]; ok {
		return w.toWindows[c]
	}
	return ""
}

// LoadZone resolves a zone name as written by clients: an IANA ID, an old IANA
// ID, a Windows ID (through CLDR), and the decorated forms seen in the wild:
// "/mozilla.org/20070129_1/Europe/Berlin", "(GMT+01:00) Europe/Berlin",
// "(UTC+01:00) Amsterdam, Berlin, ..." is not resolvable by name. It returns
// nil for unknown names. "UTC", "GMT" and "Z" are UTC.
func LoadZone(name string) *time.Location {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil
	}
	switch strings.ToUpper(name) {
	case "UTC", "GMT", "Z", "ETC/UTC", "ETC/GMT", "UNIVERSAL", "ZULU":
		return time.UTC
	}
	w := windowsZones()
	if zs, ok := w.byWindows[name]; ok {
		return loadIANA(zs[0])
	}
	cands := []string{name}
	if i := strings.LastIndex(name, ") "); strings.HasPrefix(name, "(") && i > 0 {
		cands = append(cands, strings.TrimSpace(name[i+2:]))
	}
	// /mozilla.org/20050126_1/America/New_York, /softwarestudio.org/Olson_20011030_5/America/New_York
	if strings.HasPrefix(name, "/") {
		parts := strings.Split(strings.Trim(name, "/"), "/")
		for k := 1; k < len(parts); k++ {
			cands = append(cands, strings.Join(parts[k:], "/"))
		}
	}
	for _, c := range cands {
		if loc := loadIANA(c); loc != nil {
			return loc
		}
		if zs, ok := w.byWindows[c]; ok {
			return loadIANA(zs[0])
		}
	}
	return nil
}

// zoneCache holds the zones loaded so far; only names the tz database
// knows get in, so it is bounded by the database's size.
var zoneCache sync.Map // string -> *time.Location

func loadIANA(name string) *time.Location {
	if !strings.Contains(name, "/") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil
	}
	name = canonicalZone(name)
	if l, ok := zoneCache.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zoneCache.Store(name, loc)
	return loc
}

// SystemTime is the Windows SYSTEMTIME used for the transition dates of the
// TimeZone blob ([MS-ASDTYPE] 2.7.6.1). With Year 0 it is a yearly rule: the
// Day-th (5 = last) DayOfWeek of Month at Hour:Minute:Second.Milliseconds of
// the wall clock before the change. With Year != 0 it is an absolute date.
type SystemTime struct {
	Year, Month, DayOfWeek, Day, Hour, Minute, Second, Milliseconds uint16
}

// TimeZone is the ActiveSync TimeZone blob ([MS-ASDTYPE] 2.7.6): 172 bytes,
// little-endian, carried base64-encoded. UTC = local + Bias (minutes).
type TimeZone struct {
	Bias         int32
	StandardName string
	StandardDate SystemTime
	StandardBias int32
	DaylightName string
	DaylightDate SystemTime
	DaylightBias int32
}

// TimeZoneSize is the length of the binary TimeZone blob.
const TimeZoneSize = 172

// HasDST reports whether the blob describes daylight saving time: a zero
// StandardDate.Month means none, whatever DaylightBias says ([MS-ASDTYPE] 2.7.6).
func (tz TimeZone) HasDST() bool { return tz.StandardDate.Month != 0 && tz.DaylightDate.Month != 0 }

// IsZero reports whether every field is zero (the blob Z-Push, Kopano and
// Grommunio send for all-day events).
func (tz TimeZone) IsZero() bool { return tz == TimeZone{} }

// MarshalBinary encodes the 172-byte blob. Names longer than 31 UTF-16 units
// are cut.
func (tz TimeZone) MarshalBinary() ([]byte, error) {
	b := make([]byte, TimeZoneSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(tz.Bias))
	putName(b[4:68], tz.StandardName)
	putSystemTime(b[68:84], tz.StandardDate)
	le.PutUint32(b[84:], uint32(tz.StandardBias))
	putName(b[88:152], tz.DaylightName)
	putSystemTime(b[152:168], tz.DaylightDate)
	le.PutUint32(b[168:], uint32(tz.DaylightBias))
	return b, nil
}

// UnmarshalBinary decodes the 172-byte blob. Some clients send fewer bytes
// (trailing zeros dropped); a short blob is zero-extended, a longer one is an
// error.
func (tz *TimeZone) UnmarshalBinary(b []byte) error {
	if len(b) > TimeZoneSize {
		return fmt.Errorf("calendar: TimeZone blob of %d bytes", len(b))
	}
	if len(b) < TimeZoneSize {
		nb := make([]byte, TimeZoneSize)
		copy(nb, b)
		b = nb
	}
	le := binary.LittleEndian
	tz.Bias = int32(le.Uint32(b[0:]))
	tz.StandardName = getName(b[4:68])
	tz.StandardDate = getSystemTime(b[68:84])
	tz.StandardBias = int32(le.Uint32(b[84:]))
	tz.DaylightName = getName(b[88:152])
	tz.DaylightDate = getSystemTime(b[152:168])
	tz.DaylightBias = int32(le.Uint32(b[168:]))
	return nil
}

func putName(b []byte, s string) {
	i := 0
	for _, r := range s {
		var units []uint16
		if r >= 0x10000 {
			r -= 0x10000
			units = []uint16{uint16(0xD800 + (r >> 10)), uint16(0xDC00 + (r & 0x3FF))}
		} else {
			units = []uint16{uint16(r)}
		}
		if i+len(units) > 31 { // keep a terminating NUL
			break
		}
		for _, u := range units {
			binary.LittleEndian.PutUint16(b[2*i:], u)
			i++
		}
	}
}

func getName(b []byte) string {
	var units []rune
	for i := 0; i+1 < len(b); i += 2 {
		u := binary.LittleEndian.Uint16(b[i:])
		if u == 0 {
			break
		}
		if u >= 0xD800 && u < 0xDC00 && i+3 < len(b) {
			u2 := binary.LittleEndian.Uint16(b[i+2:])
			if u2 >= 0xDC00 && u2 < 0xE000 {
				units = append(units, 0x10000+(rune(u)-0xD800)<<10+(rune(u2)-0xDC00))
				i += 2
				continue
			}
		}
		if u >= 0xD800 && u < 0xE000 {
			units = append(units, '\uFFFD')
			continue
		}
		units = append(units, rune(u))
	}
	return string(units)
}

func putSystemTime(b []byte, st SystemTime) {
	for i, v := range []uint16{st.Year, st.Month, st.DayOfWeek, st.Day, st.Hour, st.Minute, st.Second, st.Milliseconds} {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
}

func getSystemTime(b []byte) SystemTime {
	g := func(i int) uint16 { return binary.LittleEndian.Uint16(b[2*i:]) }
	return SystemTime{g(0), g(1), g(2), g(3), g(4), g(5), g(6), g(7)}
}
