package smtp

import (
	"bytes"
	"strings"
)

// headerEnd returns the length of the header section of raw including the empty line
// that ends it (RFC 5322 2.1), accepting bare LF line ends. A message without a body
// separator is all header; the result is then len(raw).
func headerEnd(raw []byte) int {
	i := 0
	for i < len(raw) {
		j := bytes.IndexByte(raw[i:], '\n')
		if j < 0 {
			return len(raw)
		}
		line := raw[i : i+j]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i + j + 1
		}
		i += j + 1
	}
	return len(raw)
}

// field is one header field: its name and its raw bytes (with continuation lines and
// the line end).
type field struct {
	name string
	raw  []byte
}

// fields splits a header section into fields. Lines before the first field that are
// continuations, and lines without a colon, become fields with an empty name so that
// rewriting the header keeps every byte.
func fields(hdr []byte) []field {
	var out []field
	i := 0
	for i < len(hdr) {
		end := i
		for {
			j := bytes.IndexByte(hdr[end:], '\n')
			if j < 0 {
				end = len(hdr)
				break
			}
			end += j + 1
			// RFC 5322 2.2.3: a line starting with WSP continues the field.
			if end >= len(hdr) || (hdr[end] != ' ' && hdr[end] != '\t') {
				break
			}
		}
		raw := hdr[i:end]
		name := ""
		if c := bytes.IndexByte(raw, ':'); c > 0 && raw[0] != ' ' && raw[0] != '\t' {
			name = strings.TrimRight(string(raw[:c]), " \t")
			if strings.ContainsAny(name, " \t\r\n") {
				name = ""
			}
		}
		out = append(out, field{name: name, raw: raw})
		i = end
	}
	return out
}

// value returns the field's unfolded value without the name.
func (f field) value() string {
	c := bytes.IndexByte(f.raw, ':')
	v := string(f.raw[c+1:])
	v = strings.NewReplacer("\r\n", "", "\n", "", "\r", "").Replace(v)
	return strings.TrimSpace(v)
}

// hasField reports whether the header has a field called name (case-insensitive).
func hasField(fs []field, name string) bool {
	for _, f := range fs {
		if strings.EqualFold(f.name, name) {
			return true
		}
	}
	return false
}

// authServID returns the authserv-id of an Authentication-Results value (RFC 8601 2.2).
func authServID(v string) string {
	id, _, _ := strings.Cut(v, ";")
	id = strings.TrimSpace(id)
	if i := strings.IndexAny(id, " \t("); i >= 0 {
		id = id[:i]
	}
	return strings.ToLower(id)
}

// withoutForgedAuthResults drops Authentication-Results fields that claim to come from
// us: RFC 8601 5 requires an MTA to remove them from incoming mail.
func withoutForgedAuthResults(fs []field, host string) ([]field, bool) {
	out := fs[:0:0]
	dropped := false
	for _, f := range fs {
		if strings.EqualFold(f.name, "Authentication-Results") && authServID(f.value()) == strings.ToLower(host) {
			dropped = true
			continue
		}
		out = append(out, f)
	}
	return out, dropped
}

// foldHeader writes "Name: value" folded at spaces so no line exceeds 78 octets where
// possible (RFC 5322 2.1.1), ending in CRLF.
func foldHeader(name, value string) string {
	var b strings.Builder
	line := name + ":"
	for _, w := range strings.Fields(value) {
		if len(line)+1+len(w) > 78 && len(line) > len(name)+1 {
			b.WriteString(line)
			b.WriteString("\r\n")
			line = "\t" + w
			continue
		}
		line += " " + w
	}
	b.WriteString(line)
	b.WriteString("\r\n")
	return b.String()
}
