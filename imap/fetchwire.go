package imap

import (
	"mime"
	"strconv"
	"strings"
	"unicode"

	goimap "github.com/emersion/go-imap/v2"
)

// The FETCH answers of the mailbox view, encoded here rather than by the library's
// FetchResponseWriter. Everything else of such an answer is in memory already (flags
// in the view, the envelope in the cache), so the library's encoder was most of the
// work: a strings.Builder for every quoted string and a write deadline for every
// line. This encoder appends into one buffer, which the session writes to the
// connection whole (session.writeRaw). Its output is byte for byte the library's for
// the same items in the same order (TestEnvelopeCacheWire compares them over the
// message corpus, with and without UTF8=ACCEPT), as Dovecot too keeps the ENVELOPE
// it answers ready-made in its cache.

// Layouts of the library's encoder (imapserver envelopeDateLayout, imap
// internal.DateTimeLayout).
const (
	envelopeDateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"
	internalDateLayout = "_2-Jan-2006 15:04:05 -0700"
)

// appendViewFetch appends one untagged FETCH response (RFC 9051 7.5.2) with the items
// of options among UID, FLAGS, INTERNALDATE, RFC822.SIZE and ENVELOPE, and the header
// section hdr if any, in the order fetchViewOne writes them. quotedUTF8 is whether the client enabled IMAP4rev2 or
// UTF8=ACCEPT (RFC 9051 4.3, RFC 6855 3): then 8-bit text may be quoted.
func appendViewFetch(b []byte, seq, uid uint32, options *goimap.FetchOptions, hdr *viewHeader, flags []goimap.Flag, e *cachedMsg, quotedUTF8 bool) []byte {
	b = append(b, "* "...)
	b = strconv.AppendUint(b, uint64(seq), 10)
	b = append(b, " FETCH ("...)
	first := true
	item := func(name string) {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, name...)
		b = append(b, ' ')
	}
	if options.UID {
		item("UID")
		b = strconv.AppendUint(b, uint64(uid), 10)
	}
	if options.Flags {
		item("FLAGS")
		b = append(b, '(')
		for i, f := range flags {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, f...)
		}
		b = append(b, ')')
	}
	if options.InternalDate {
		item("INTERNALDATE")
		b = append(b, '"')
		b = e.internalDate().AppendFormat(b, internalDateLayout)
		b = append(b, '"')
	}
	if options.RFC822Size {
		item("RFC822.SIZE")
		b = strconv.AppendInt(b, e.size, 10)
	}
	if options.Envelope {
		item("ENVELOPE")
		b = appendEnvelope(b, &e.env, quotedUTF8)
	}
	if hdr != nil {
		// BODY[HEADER.FIELDS (names as the client wrote them)] and a literal, as the
		// library's WriteBodySection writes them.
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = append(b, "BODY[HEADER.FIELDS"...)
		fields := hdr.section.HeaderFields
		if len(fields) == 0 {
			b = append(b, ".NOT"...)
			fields = hdr.section.HeaderFieldsNot
		}
		b = append(b, " ("...)
		for i, f := range fields {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendString(b, f, quotedUTF8)
		}
		b = append(b, ")] {"...)
		b = strconv.AppendInt(b, int64(len(e.hdr)), 10)
		b = append(b, "}\r\n"...)
		b = append(b, e.hdr...)
	}
	return append(b, ")\r\n"...)
}

// appendEnvelope is the envelope structure of RFC 9051 7.5.2 as the library writes
// it: Sender and Reply-To default to From, the subject and display names are
// RFC 2047 Q-encoded when they need it, ids are put back in angle brackets.
func appendEnvelope(b []byte, env *goimap.Envelope, quotedUTF8 bool) []byte {
	sender, replyTo := env.Sender, env.ReplyTo
	if sender == nil {
		sender = env.From
	}
	if replyTo == nil {
		replyTo = env.From
	}
	b = append(b, '(')
	if env.Date.IsZero() {
		b = append(b, "NIL"...)
	} else {
		b = append(b, '"') // the layout's text is always a valid quoted string
		b = env.Date.AppendFormat(b, envelopeDateLayout)
		b = append(b, '"')
	}
	b = append(b, ' ')
	b = appendNString(b, mime.QEncoding.Encode("utf-8", env.Subject), quotedUTF8)
	for _, l := range [...][]goimap.Address{env.From, sender, replyTo, env.To, env.Cc, env.Bcc} {
		b = append(b, ' ')
		b = appendAddressList(b, l, quotedUTF8)
	}
	b = append(b, ' ')
	if len(env.InReplyTo) > 0 {
		b = appendString(b, "<"+strings.Join(env.InReplyTo, "> <")+">", quotedUTF8)
	} else {
		b = append(b, "NIL"...)
	}
	b = append(b, ' ')
	if env.MessageID != "" {
		b = appendString(b, "<"+env.MessageID+">", quotedUTF8)
	} else {
		b = append(b, "NIL"...)
	}
	return append(b, ')')
}

func appendAddressList(b []byte, l []goimap.Address, quotedUTF8 bool) []byte {
	if len(l) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i := range l {
		if i > 0 {
			b = append(b, ' ')
		}
		a := &l[i]
		b = append(b, '(')
		b = appendNString(b, mime.QEncoding.Encode("utf-8", a.Name), quotedUTF8)
		b = append(b, " NIL "...)
		b = appendNString(b, a.Mailbox, quotedUTF8)
		b = append(b, ' ')
		b = appendNString(b, a.Host, quotedUTF8)
		b = append(b, ')')
	}
	return append(b, ')')
}

func appendNString(b []byte, s string, quotedUTF8 bool) []byte {
	if s == "" {
		return append(b, "NIL"...)
	}
	return appendString(b, s, quotedUTF8)
}

// appendString writes s quoted when RFC 9051 4.3 allows (no NUL, CR or LF; 8-bit only
// under quotedUTF8; and, as the library decides, at most 4,096 bytes), else as a
// literal.
func appendString(b []byte, s string, quotedUTF8 bool) []byte {
	if !quotable(s, quotedUTF8) {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, "}\r\n"...)
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

func quotable(s string, quotedUTF8 bool) bool {
	if len(s) > 4096 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0 || c == '\r' || c == '\n':
			return false
		case c > unicode.MaxASCII && !quotedUTF8:
			return false
		}
	}
	return true
}
