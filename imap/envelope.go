package imap

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/message"
)

// decodeEnvelope reads the envelope out of a stored structure (the JSON of
// message.Parsed, whose first member is "envelope") without decoding the rest. FETCH
// (FLAGS ENVELOPE) on a whole mailbox spent most of its time in encoding/json's
// reflection over the full structure; this reads the envelope's known shape directly
// and stops at its end. Anything it does not expect (another member order, escapes
// in a string, unknown keys) makes it fall back to encoding/json, so the result is
// always what json.Unmarshal gives.
func decodeEnvelope(structure []byte) (message.Envelope, error) {
	d := envDecoder{b: structure}
	if env, ok := d.parsed(); ok {
		return env, nil
	}
	var p struct {
		Envelope message.Envelope `json:"envelope"`
	}
	err := json.Unmarshal(structure, &p)
	return p.Envelope, err
}

// errEnvFallback stops the fast path; the caller decodes with encoding/json instead.
var errEnvFallback = errors.New("envelope: not the expected shape")

type envDecoder struct {
	b   []byte
	i   int
	err error
}

func (d *envDecoder) fail() {
	if d.err == nil {
		d.err = errEnvFallback
	}
}

func (d *envDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (d *envDecoder) peek() byte {
	d.space()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *envDecoder) expect(c byte) {
	if d.peek() != c {
		d.fail()
		return
	}
	d.i++
}

// str reads a string. The escapes encoding/json writes are decoded (it writes <, >
// and & as \u003c, \u003e, \u0026, so every message-id has some); a lone surrogate or
// invalid UTF-8, which encoding/json would replace, takes the slow path.
func (d *envDecoder) str() string {
	if d.peek() != '"' {
		d.fail()
		return ""
	}
	start := d.i + 1
	for j := start; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			s := d.b[start:j]
			if !utf8.Valid(s) {
				d.fail()
				return ""
			}
			return string(s)
		case c == '\\':
			return d.escapedStr(start)
		case c < 0x20:
			d.fail()
			return ""
		}
	}
	d.fail()
	return ""
}

func (d *envDecoder) escapedStr(start int) string {
	var out []byte
	for j := start; j < len(d.b); {
		c := d.b[j]
		switch {
		case c == '"':
			d.i = j + 1
			if !utf8.Valid(out) {
				d.fail()
				return ""
			}
			return string(out)
		case c < 0x20:
			d.fail()
			return ""
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(d.b) {
			break
		}
		switch e := d.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(d.b[j+2:])
			if !ok {
				d.fail()
				return ""
			}
			if utf16.IsSurrogate(r) {
				if j+12 > len(d.b) || d.b[j+6] != '\\' || d.b[j+7] != 'u' {
					d.fail()
					return ""
				}
				r2, ok := hex4(d.b[j+8:])
				if !ok {
					d.fail()
					return ""
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					d.fail()
					return ""
				}
				j += 6
			}
			out = utf8.AppendRune(out, r)
			j += 4
		default:
			d.fail()
			return ""
		}
		j += 2
	}
	d.fail()
	return ""
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func (d *envDecoder) boolean() bool {
	d.space()
	switch {
	case len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "true":
		d.i += 4
		return true
	case len(d.b)-d.i >= 5 && string(d.b[d.i:d.i+5]) == "false":
		d.i += 5
		return false
	}
	d.fail()
	return false
}

// object calls member for each key of an object until the closing brace.
func (d *envDecoder) object(member func(key string)) {
	d.expect('{')
	if d.peek() == '}' {
		d.i++
		return
	}
	for d.err == nil {
		key := d.str()
		d.expect(':')
		if d.err != nil {
			return
		}
		member(key)
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail()
		}
	}
}

func (d *envDecoder) addresses() []message.Address {
	if d.peek() == 'n' {
		d.fail() // null: rare enough for the slow path
		return nil
	}
	d.expect('[')
	var out []message.Address
	if d.peek() == ']' {
		d.i++
		return []message.Address{}
	}
	for d.err == nil {
		var a message.Address
		d.object(func(key string) {
			switch key {
			case "name":
				a.Name = d.str()
			case "mailbox":
				a.Mailbox = d.str()
			case "host":
				a.Host = d.str()
			case "group":
				a.Group = d.boolean()
			default:
				d.fail()
			}
		})
		out = append(out, a)
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return out
		default:
			d.fail()
		}
	}
	return nil
}

func (d *envDecoder) envelope() message.Envelope {
	var e message.Envelope
	d.object(func(key string) {
		switch key {
		case "date":
			s := d.str()
			if d.err == nil {
				// Only the form MarshalJSON writes; encoding/json judges anything else.
				t, err := time.Parse(time.RFC3339Nano, s)
				if err != nil || t.Format(time.RFC3339Nano) != s {
					d.fail()
				}
				e.Date = t
			}
		case "subject":
			e.Subject = d.str()
		case "from":
			e.From = d.addresses()
		case "sender":
			e.Sender = d.addresses()
		case "replyTo":
			e.ReplyTo = d.addresses()
		case "to":
			e.To = d.addresses()
		case "cc":
			e.Cc = d.addresses()
		case "bcc":
			e.Bcc = d.addresses()
		case "inReplyTo":
			e.InReplyTo = d.str()
		case "messageId":
			e.MessageID = d.str()
		default:
			d.fail()
		}
	})
	return e
}

// parsed reads `{"envelope": {...}` and ignores what follows (encoding/json checks
// the whole document; a stored structure was written by encoding/json).
func (d *envDecoder) parsed() (message.Envelope, bool) {
	d.expect('{')
	if d.str() != "envelope" {
		d.fail()
	}
	d.expect(':')
	if d.err != nil {
		return message.Envelope{}, false
	}
	e := d.envelope()
	return e, d.err == nil
}

// decodeRoot reads what a FETCH of top-level sections needs out of a stored
// structure: the envelope and the top-level entity's offsets (headerStart, bodyStart,
// end, size), skipping the root's other members and stopping there (its children and
// what follows are not read). Thunderbird's header FETCH on a whole folder spent a
// third of its time decoding every part of every structure. Like decodeEnvelope, any
// shape it does not expect falls back to encoding/json of the whole structure.
func decodeRoot(structure []byte) (*message.Parsed, error) {
	if p, ok := decodeRootFast(structure); ok {
		return p, nil
	}
	p := new(message.Parsed)
	if err := json.Unmarshal(structure, p); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeRootFast(structure []byte) (*message.Parsed, bool) {
	d := envDecoder{b: structure}
	env, ok := d.parsed()
	if !ok {
		return nil, false
	}
	root := new(message.Part)
	d.expect(',')
	if d.str() != "structure" {
		d.fail()
	}
	d.expect(':')
	d.object(func(key string) {
		switch key {
		case "headerStart":
			root.HeaderStart = d.number()
		case "bodyStart":
			root.BodyStart = d.number()
		case "end":
			root.End = d.number()
		case "size":
			root.Size = d.number()
		default:
			d.skip()
		}
	})
	return &message.Parsed{Envelope: env, Structure: root}, d.err == nil
}

// number reads a non-negative integer, as encoding/json writes an int64 offset.
func (d *envDecoder) number() int64 {
	d.space()
	start := d.i
	var n int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' && d.i-start < 18 {
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	if d.i == start || d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.fail()
	}
	return n
}

// skip passes over one value of any kind.
func (d *envDecoder) skip() {
	switch c := d.peek(); {
	case c == '"':
		d.str()
	case c == '{':
		d.object(func(string) { d.skip() })
	case c == '[':
		d.i++
		if d.peek() == ']' {
			d.i++
			return
		}
		for d.err == nil {
			d.skip()
			switch d.peek() {
			case ',':
				d.i++
			case ']':
				d.i++
				return
			default:
				d.fail()
			}
		}
	case c == 't' || c == 'f':
		d.boolean()
	case c == 'n' && len(d.b)-d.i >= 4 && string(d.b[d.i:d.i+4]) == "null":
		d.i += 4
	case c == '-' || c >= '0' && c <= '9':
		d.i++
		for d.i < len(d.b) && strings.IndexByte("0123456789.eE+-", d.b[d.i]) >= 0 {
			d.i++
		}
	default:
		d.fail()
	}
}
