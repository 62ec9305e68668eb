package message

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// envelopeOf builds the Envelope of a message from its header h; body is
// its parsed top-level entity, whose first text charset is the hint for raw
// 8-bit header values.
func (ps *parser) envelopeOf(h *header, body *Part) Envelope {
	ps.hint = bodyCharset(body, 0)
	defer func() { ps.hint = "" }()
	return ps.envelope(h)
}

// bodyCharset returns the charset of the first text part of p that names
// one other than US-ASCII or UTF-8.
func bodyCharset(p *Part, depth int) string {
	if p.Type == "text" {
		switch cs := normCharset(p.Params["charset"]); cs {
		case "", "us-ascii", "utf-8", "utf8":
		default:
			return cs
		}
	}
	if depth < 8 {
		for _, c := range p.Children {
			if cs := bodyCharset(c, depth+1); cs != "" {
				return cs
			}
		}
	}
	return ""
}

// envelope builds the Envelope of an entity's header.
func (ps *parser) envelope(h *header) Envelope {
	var e Envelope
	if v, ok := ps.value(h, fDate); ok {
		t, ok := parseDate(v)
		if ok {
			e.Date = t
		} else if v != "" {
			ps.problemf("unparseable Date %q", clip(v))
		}
	}
	if v, ok := ps.value(h, fSubject); ok {
		e.Subject = decodeWords(v)
	}
	addrs := func(id field) []Address {
		if v, ok := ps.value(h, id); ok && v != "" {
			return parseAddressList(v)
		}
		return nil
	}
	e.From = addrs(fFrom)
	e.Sender = addrs(fSender)
	e.ReplyTo = addrs(fReplyTo)
	e.To = addrs(fTo)
	e.Cc = addrs(fCc)
	e.Bcc = addrs(fBcc)
	e.InReplyTo, _ = ps.value(h, fInReplyTo)
	e.MessageID, _ = ps.value(h, fMessageID)
	return e
}

// msgIDs returns the message-ids in a Message-ID, In-Reply-To or References
// value (RFC 5322 3.6.4) as "<id>", white space removed. Words between them
// (RFC 5322 4.5.4 obs-phrase) are skipped; a value without angle brackets
// is read as white-space-separated ids containing "@".
func msgIDs(s string) []string {
	var ids []string
	s = stripComments(s)
	for {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			break
		}
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			break
		}
		if id := strings.Join(strings.Fields(s[lt+1:lt+gt]), ""); id != "" {
			ids = append(ids, "<"+id+">")
		}
		s = s[lt+gt+1:]
	}
	if ids == nil {
		for _, w := range strings.Fields(s) {
			if strings.Contains(w, "@") {
				ids = append(ids, "<"+strings.Trim(w, "<>")+">")
			}
		}
	}
	return ids
}

func (ps *parser) threadKey(p *Parsed) string {
	if len(p.References) > 0 {
		return p.References[0]
	}
	if ids := msgIDs(p.Envelope.InReplyTo); len(ids) > 0 {
		return ids[0]
	}
	if ids := msgIDs(p.Envelope.MessageID); len(ids) > 0 {
		return ids[0]
	}
	if b := BaseSubject(p.Envelope.Subject); b != "" {
		sum := sha256.Sum256([]byte(b))
		return "subject:" + hex.EncodeToString(sum[:12])
	}
	sum := sha256.Sum256(ps.raw[p.Structure.HeaderStart:p.Structure.BodyStart])
	return "message:" + hex.EncodeToString(sum[:12])
}

// replyPrefixes are the reply and forward markers that BaseSubject removes,
// in lower case: English, German, Nordic, Dutch, French, Spanish,
// Portuguese, Italian, Polish, Finnish, Turkish, Chinese and Japanese clients.
var replyPrefixes = []string{
	"re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "doorst", "tr", "rv", "ref", "réf",
	"enc", "res", "rif", "i", "odp", "pd", "vl", "ynt", "ilt", "回复", "回覆", "转发", "答复", "返信", "転送",
}

// BaseSubject returns subj without reply and forward markers ("Re:", "Fwd:",
// "AW:", "Re[2]:", "[list]" tags, a trailing "(fwd)"), white space collapsed
// and case folded: the base subject of RFC 5256 2.1, extended to the
// markers of non-English clients.
func BaseSubject(subj string) string {
	s := strings.ToLower(strings.Join(strings.Fields(subj), " "))
	for {
		before := s
		s = strings.TrimSpace(s)
		for strings.HasSuffix(s, "(fwd)") {
			s = strings.TrimSpace(strings.TrimSuffix(s, "(fwd)"))
		}
		if strings.HasPrefix(s, "[") {
			if e := strings.IndexByte(s, ']'); e > 0 && e+1 < len(s) {
				s = s[e+1:]
			}
		}
		s = strings.TrimSpace(s)
		for _, p := range replyPrefixes {
			if !strings.HasPrefix(s, p) {
				continue
			}
			r := s[len(p):]
			// optional "[n]" or "(n)" counter
			if len(r) > 0 && (r[0] == '[' || r[0] == '(') {
				if e := strings.IndexAny(r, "])"); e > 0 && isDigits(r[1:e]) {
					r = r[e+1:]
				}
			}
			r = strings.TrimLeft(r, " ")
			if strings.HasPrefix(r, ":") || strings.HasPrefix(r, "：") {
				_, size := utf8.DecodeRuneInString(r)
				s = r[size:]
				break
			}
		}
		if s == before {
			return s
		}
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
