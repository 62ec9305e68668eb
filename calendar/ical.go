package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// Limits of the iCalendar reader. A stored object or an incoming invitation
// larger than this is refused rather than parsed.
const (
	MaxObjectSize = 8 << 20 // bytes of iCalendar text
	maxDepth      = 8       // VCALENDAR > VEVENT > VALARM is 3; RFC 9073 adds a few
	maxProps      = 100000  // content lines in one object
)

// ErrMalformed wraps every error of the iCalendar reader.
var ErrMalformed = errors.New("calendar: malformed iCalendar")

// Parse reads one iCalendar object (RFC 5545 3.4) into the go-ical model.
//
// The reader is lenient where real-world exporters are sloppy (bare LF line
// ends, lower-case names, folded lines that start with a tab, blank lines,
// text after the last END) and strict where leniency would lose data. It never
// panics and is bounded by MaxObjectSize. Every property and parameter it does
// not understand is kept, so Parse followed by Encode loses nothing.
func Parse(data []byte) (*ical.Calendar, error) {
	if len(data) > MaxObjectSize {
		return nil, fmt.Errorf("%w: %d bytes is over the limit", ErrMalformed, len(data))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 BOM (Outlook)
	lines := unfold(data)
	if len(lines) > maxProps {
		return nil, fmt.Errorf("%w: too many lines", ErrMalformed)
	}
	p := parser{lines: lines}
	for p.i < len(p.lines) && p.lines[p.i] == "" {
		p.i++
	}
	if p.i >= len(p.lines) {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	first, err := parseContentLine(p.lines[p.i])
	if err != nil {
		return nil, err
	}
	if first.Name != "BEGIN" || !strings.EqualFold(first.Value, ical.CompCalendar) {
		return nil, fmt.Errorf("%w: does not start with BEGIN:VCALENDAR", ErrMalformed)
	}
	p.i++
	comp, err := p.component(ical.CompCalendar, 1)
	if err != nil {
		return nil, err
	}
	return &ical.Calendar{Component: comp}, nil
}

// unfold splits the text into logical lines, joining folded continuation
// lines (RFC 5545 3.1). Empty lines are kept as "" and skipped later.
func unfold(data []byte) []string {
	var out []string
	var cur strings.Builder
	have := false
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var line []byte
		if i < 0 {
			line, data = data, nil
		} else {
			line, data = data[:i], data[i+1:]
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if bytes.IndexByte(line, '\r') >= 0 {
			// A lone CR is no line break, and no value may hold one (RFC 5545 3.1).
			line = bytes.ReplaceAll(line, []byte("\r"), nil)
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') && have {
			cur.Write(line[1:])
			continue
		}
		if have {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.Write(line)
		have = true
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

type parser struct {
	lines []string
	i     int
}

func (p *parser) component(name string, depth int) (*ical.Component, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: components nested too deeply", ErrMalformed)
	}
	comp := ical.NewComponent(name)
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		p.i++
		if l == "" {
			continue
		}
		prop, err := parseContentLine(l)
		if err != nil {
			return nil, err
		}
		switch prop.Name {
		case "BEGIN":
			childName := strings.ToUpper(prop.Value)
			if childName == "" {
				return nil, fmt.Errorf("%w: BEGIN without a name", ErrMalformed)
			}
			child, err := p.component(childName, depth+1)
			if err != nil {
				return nil, err
			}
			comp.Children = append(comp.Children, child)
		case "END":
			if !strings.EqualFold(prop.Value, name) {
				return nil, fmt.Errorf("%w: END:%s inside %s", ErrMalformed, prop.Value, name)
			}
			return comp, nil
		default:
			comp.Props[prop.Name] = append(comp.Props[prop.Name], *prop)
		}
	}
	return nil, fmt.Errorf("%w: missing END:%s", ErrMalformed, name)
}

// parseContentLine parses name *(";" param) ":" value (RFC 5545 3.1).
func parseContentLine(l string) (*ical.Prop, error) {
	i := 0
	for i < len(l) && isNameChar(l[i]) {
		i++
	}
	if i == 0 {
		return nil, fmt.Errorf("%w: content line without a name: %.40q", ErrMalformed, l)
	}
	prop := &ical.Prop{Name: strings.ToUpper(l[:i]), Params: ical.Params{}}
	for i < len(l) && l[i] == ';' {
		i++
		j := i
		for j < len(l) && isNameChar(l[j]) {
			j++
		}
		if j == i || j >= len(l) || l[j] != '=' {
			return nil, fmt.Errorf("%w: bad parameter in %s", ErrMalformed, prop.Name)
		}
		pname := strings.ToUpper(l[i:j])
		i = j + 1
		for {
			var v string
			if i < len(l) && l[i] == '"' {
				k := strings.IndexByte(l[i+1:], '"')
				if k < 0 {
					return nil, fmt.Errorf("%w: unterminated quoted parameter in %s", ErrMalformed, prop.Name)
				}
				v = l[i+1 : i+1+k]
				i += k + 2
			} else {
				k := i
				for k < len(l) && l[k] != ';' && l[k] != ':' && l[k] != ',' {
					if l[k] == '"' {
						return nil, fmt.Errorf("%w: stray quote in parameter of %s", ErrMalformed, prop.Name)
					}
					k++
				}
				v = l[i:k]
				i = k
			}
			prop.Params[pname] = append(prop.Params[pname], v)
			if i < len(l) && l[i] == ',' {
				i++
				continue
			}
			break
		}
	}
	if i >= len(l) || l[i] != ':' {
		return nil, fmt.Errorf("%w: expected ':' in %s", ErrMalformed, prop.Name)
	}
	prop.Value = l[i+1:]
	if !utf8.ValidString(prop.Value) {
		prop.Value = strings.ToValidUTF8(prop.Value, "\uFFFD")
	}
	return prop, nil
}

func isNameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// propOrder puts the properties a person reads first at the top of a
// component; all others follow in name order. The order is fixed so that
// changing one property changes only its own lines of the written text.
var propOrder = map[string]int{
	"PRODID": 1, "VERSION": 2, "CALSCALE": 3, "METHOD": 4,
	"TZID": 5, "UID": 6, "RECURRENCE-ID": 7, "SEQUENCE": 8, "DTSTAMP": 9,
	"CREATED": 10, "LAST-MODIFIED": 11, "SUMMARY": 12, "DTSTART": 13, "DTEND": 14,
	"DUE": 15, "DURATION": 16, "RRULE": 17, "RDATE": 18, "EXDATE": 19,
	"ACTION": 20, "TRIGGER": 21,
}

// Encode writes cal as iCalendar text: CRLF line ends, lines folded at 75
// octets without splitting a UTF-8 sequence (RFC 5545 3.1), properties in a
// fixed order, parameters in name order, several values of a property in
// their original order. Unlike go-ical's encoder it does not refuse objects
// that lack a property RFC 5545 requires: what was stored is written back.
func Encode(cal *ical.Calendar) []byte {
	var b bytes.Buffer
	encodeComponent(&b, cal.Component)
	return b.Bytes()
}

func encodeComponent(b *bytes.Buffer, c *ical.Component) {
	writeLine(b, "BEGIN:"+c.Name)
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := propOrder[names[i]], propOrder[names[j]]
		if oi == 0 {
			oi = 1000
		}
		if oj == 0 {
			oj = 1000
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	var lb strings.Builder
	for _, n := range names {
		for k := range c.Props[n] {
			lb.Reset()
			encodeProp(&lb, &c.Props[n][k])
			writeLine(b, lb.String())
		}
	}
	for _, ch := range c.Children {
		encodeComponent(b, ch)
	}
	writeLine(b, "END:"+c.Name)
}

func encodeProp(b *strings.Builder, p *ical.Prop) {
	b.WriteString(p.Name)
	pnames := make([]string, 0, len(p.Params))
	for n := range p.Params {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	for _, n := range pnames {
		b.WriteByte(';')
		b.WriteString(n)
		b.WriteByte('=')
		for i, v := range p.Params[n] {
			if i > 0 {
				b.WriteByte(',')
			}
			// RFC 6868: a DQUOTE cannot appear in a parameter value; ^' stands for it.
			v = strings.ReplaceAll(v, `"`, `^'`)
			v = strings.NewReplacer("\r\n", "^n", "\n", "^n", "\r", "^n").Replace(v)
			if strings.ContainsAny(v, ";:,") {
				b.WriteByte('"')
				b.WriteString(v)
				b.WriteByte('"')
			} else {
				b.WriteString(v)
			}
		}
	}
	b.WriteByte(':')
	v := p.Value
	if strings.ContainsAny(v, "\r\n") {
		// A value cannot hold a line break; TEXT escapes it as \n (RFC 5545 3.3.11).
		v = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(v)
	}
	b.WriteString(v)
}

// writeLine folds one logical line at 75 octets (RFC 5545 3.1).
func writeLine(b *bytes.Buffer, l string) {
	const max = 75
	first := true
	for len(l) > 0 {
		limit := max
		if !first {
			limit = max - 1
			b.WriteByte(' ')
		}
		if len(l) <= limit {
			b.WriteString(l)
			break
		}
		cut := limit
		for cut > 0 && !utf8.RuneStart(l[cut]) {
			cut--
		}
		if cut == 0 {
			cut = limit
		}
		b.WriteString(l[:cut])
		b.WriteString("\r\n")
		l = l[cut:]
		first = false
	}
	b.WriteString("\r\n")
}

// Clone returns a deep copy of a component tree.
func Clone(c *ical.Component) *ical.Component {
	n := &ical.Component{Name: c.Name, Props: make(ical.Props, len(c.Props))}
	for name, ps := range c.Props {
		cp := make([]ical.Prop, len(ps))
		for i, p := range ps {
			cp[i] = clonePropValue(p)
		}
		n.Props[name] = cp
	}
	for _, ch := range c.Children {
		n.Children = append(n.Children, Clone(ch))
	}
	return n
}

func clonePropValue(p ical.Prop) ical.Prop {
	q := ical.Prop{Name: p.Name, Value: p.Value, Params: make(ical.Params, len(p.Params))}
	for k, v := range p.Params {
		q.Params[k] = append([]string(nil), v...)
	}
	return q
}

// Text escaping (RFC 5545 3.3.11).

func unescapeText(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var textEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

func escapeText(s string) string { return textEscaper.Replace(s) }

// splitText splits a TEXT list value at unescaped commas and unescapes each.
func splitText(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] == ',' {
			out = append(out, unescapeText(s[start:i]))
			start = i + 1
		}
	}
	return append(out, unescapeText(s[start:]))
}

// propText returns the unescaped text of the first property called name.
func propText(c *ical.Component, name string) (string, bool) {
	p := c.Props.Get(name)
	if p == nil {
		return "", false
	}
	return unescapeText(p.Value), true
}

// setText replaces the value of the first property called name, keeping its
// parameters, or adds it.
func setText(c *ical.Component, name, v string) {
	if p := c.Props.Get(name); p != nil {
		p.Value = escapeText(v)
		return
	}
	c.Props.Set(&ical.Prop{Name: name, Params: ical.Params{}, Value: escapeText(v)})
}

func setRaw(c *ical.Component, name, v string) {
	if p := c.Props.Get(name); p != nil {
		p.Value = v
		return
	}
	c.Props.Set(&ical.Prop{Name: name, Params: ical.Params{}, Value: v})
}
