package message

import (
	"net/mail"
	"strings"
	"time"
)

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

// obsZones are the RFC 5322 4.3 obsolete zone names, plus a few seen often.
var obsZones = map[string]int{
	"ut": 0, "gmt": 0, "utc": 0, "z": 0,
	"est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
	"cet": 1, "cest": 2, "met": 1, "mest": 2, "bst": 1, "eet": 2, "eest": 3, "jst": 9,
}

// parseDate reads an RFC 5322 3.3 date-time, tolerating the usual mistakes:
// comments, missing day name or seconds, two-digit years (RFC 5322 4.3),
// obsolete and unknown zone names, missing zone (taken as UTC), and a few
// non-RFC layouts (ISO 8601, ctime).
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(stripComments(s))
	if s == "" || len(s) > 200 { // a date-time is about 31 characters
		return time.Time{}, false
	}
	if t, ok := fastDate(s); ok {
		return t, true
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

var dateLayouts = []string{
	time.RFC3339,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05",
	time.ANSIC,
	time.UnixDate,
	time.RubyDate,
	"Mon, Jan _2 15:04:05 2006",
	"Mon, Jan _2, 2006 15:04:05 -0700",
	"Monday, January _2, 2006 15:04:05 -0700",
	"Mon, 2 January 2006 15:04:05 -0700",
}

// fastDate parses "[day-name ","] day month year hour ":" minute [":" second]
// [zone]" without allocating much, which is what nearly all mail has.
func fastDate(s string) (time.Time, bool) {
	var f [8]string
	n := 0
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		if n == len(f) {
			return time.Time{}, false
		}
		f[n] = w
		n++
	}
	fs := f[:n]
	if len(fs) > 0 && len(fs[0]) >= 3 && isAlpha(fs[0]) {
		if _, ok := monthOf(fs[0]); !ok {
			fs = fs[1:] // day name, not checked against the date
		}
	}
	if len(fs) < 4 {
		return time.Time{}, false
	}
	day, ok := atoiN(fs[0], 1, 2)
	if !ok {
		return time.Time{}, false
	}
	mon, ok := monthOf(fs[1])
	if !ok {
		return time.Time{}, false
	}
	year, ok := atoiN(fs[2], 2, 4)
	if !ok {
		return time.Time{}, false
	}
	switch len(fs[2]) { // RFC 5322 4.3
	case 2:
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	case 3:
		year += 1900
	}
	hh, mm, ss, ok := parseClock(fs[3])
	if !ok {
		return time.Time{}, false
	}
	loc := time.UTC
	if len(fs) >= 5 {
		off, ok := parseZone(fs[4])
		if !ok {
			return time.Time{}, false
		}
		if off != 0 {
			loc = time.FixedZone("", off)
		}
	}
	if day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	if ss == 60 {
		ss = 59 // leap second
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, 0, loc), true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func monthOf(s string) (int, bool) {
	if len(s) < 3 || !isAlpha(s) {
		return 0, false
	}
	p := strings.ToLower(s[:3])
	for i, m := range months {
		if p == m {
			return i + 1, true
		}
	}
	return 0, false
}

func atoiN(s string, minLen, maxLen int) (int, bool) {
	if len(s) < minLen || len(s) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func parseClock(s string) (hh, mm, ss int, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	if hh, ok = atoiN(parts[0], 1, 2); !ok {
		return
	}
	if mm, ok = atoiN(parts[1], 2, 2); !ok {
		return
	}
	if len(parts) == 3 {
		sec := parts[2]
		if dot := strings.IndexByte(sec, '.'); dot > 0 {
			sec = sec[:dot] // fractional seconds
		}
		if ss, ok = atoiN(sec, 2, 2); !ok {
			return
		}
	}
	return hh, mm, ss, true
}

// parseZone reads "+hhmm", "-hhmm", "+hh:mm", "GMT+hhmm" or a zone name, and
// returns the offset in seconds. Unknown names are UTC ("-0000", no zone
// information, RFC 5322 3.3).
func parseZone(z string) (int, bool) {
	lz := strings.ToLower(z)
	for _, p := range []string{"gmt", "utc", "ut"} {
		if len(lz) > len(p) && strings.HasPrefix(lz, p) && (lz[len(p)] == '+' || lz[len(p)] == '-') {
			z = z[len(p):]
			break
		}
	}
	if z[0] == '+' || z[0] == '-' {
		d := strings.Replace(z[1:], ":", "", 1)
		if len(d) != 4 && len(d) != 2 {
			return 0, false
		}
		n, ok := atoiN(d, 2, 4)
		if !ok {
			return 0, false
		}
		if len(d) == 2 {
			n *= 100
		}
		h, m := n/100, n%100
		if h > 23 || m > 59 {
			return 0, false
		}
		off := h*3600 + m*60
		if z[0] == '-' {
			off = -off
		}
		return off, true
	}
	if h, ok := obsZones[strings.ToLower(z)]; ok {
		return h * 3600, true
	}
	if isAlpha(z) && len(z) <= 5 {
		return 0, true // RFC 5322 4.3: other zone names are -0000
	}
	return 0, false
}
